"""The `CallServices` every phone line (SIP, AudioSocket, Twilio) hands to `run_call`, built once per process.

Built by one cleanup-ctx after the models are loaded, so the dialog engine is compiled once and every
line shares the same models, engine and store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.pipeline.services import CallServices
from voicebot.web.keys import CALL_STORE, MODELS, SETTINGS

CALL_SERVICES = web.AppKey("call_services", CallServices)


def build_services(app: web.Application) -> CallServices:
    from voicebot.dialog.loader import load_engine
    from voicebot.escalation.handoff import handoff_writer

    settings = app[SETTINGS]
    return CallServices(
        settings=settings, models=app[MODELS], dialog=load_engine(settings), store=app[CALL_STORE],
        write_handoff=handoff_writer(settings),
    )


async def line_services_ctx(app: web.Application) -> AsyncIterator[None]:
    if CALL_SERVICES not in app:
        app[CALL_SERVICES] = await asyncio.to_thread(build_services, app)
    yield
