"""The `CallServices` every phone line (SIP, AudioSocket, Twilio) hands to `run_call`, built once per process.

Built by one cleanup-ctx after the models are loaded, so the dialog engine is compiled once and every
line shares the same models, engine, escalation policy, store and callback booking.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.pipeline.services import CallServices
from voicebot.web.keys import CALL_STORE, MODELS, SETTINGS

CALL_SERVICES = web.AppKey("call_services", CallServices)


def build_services(app: web.Application) -> CallServices:
    from voicebot.callback_offer import CallbackOffer
    from voicebot.dialog.loader import load_engine, make_tracker_factory
    from voicebot.escalation.handoff import handoff_writer

    settings = app[SETTINGS]
    store = app.get(CALL_STORE)
    # One callback store for the dialog (outside business hours) and the lines (a failed transfer).
    callbacks = CallbackOffer.for_store(settings, store) if store is not None else None
    engine = load_engine(settings, make_tracker_factory(), callbacks=callbacks.store if callbacks else None)
    return CallServices(
        settings=settings, models=app[MODELS], dialog=engine, store=store,
        write_handoff=handoff_writer(settings), callbacks=callbacks,
    )


async def line_services_ctx(app: web.Application) -> AsyncIterator[None]:
    built = CALL_SERVICES not in app
    if built:
        app[CALL_SERVICES] = await asyncio.to_thread(build_services, app)
    yield
    close = getattr(app[CALL_SERVICES].dialog, "close", None) if built else None
    if close is not None:
        await close()  # the engine's HTTP client (CRM webhooks)
