"""The `CallServices` every line (SIP, AudioSocket, Twilio, the admin softphone) hands to `run_call`.

Built once per process by one cleanup-ctx after the models are loaded, so the dialog engine is compiled
once and every line shares the same models, engine, escalation policy, store and callback booking. The
engine starts on the flow versions admins published in Redis, and its registry follows later
publications (voicebot.web.flow_sync), so phone calls pick up a published flow without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.pipeline.services import CallServices
from voicebot.web.keys import CALL_STORE, DRAIN, FLOW_REGISTRY, FLOW_STORE, MODELS, SETTINGS

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
        write_handoff=handoff_writer(settings), callbacks=callbacks, drain=app.get(DRAIN),
    )


async def build_live_services(app: web.Application) -> CallServices:
    """`build_services`, then switch the engine to the versions that are live in Redis."""
    from voicebot.web.flow_sync import apply_live_flows

    services = await asyncio.to_thread(build_services, app)
    if FLOW_STORE in app:
        await apply_live_flows(app[FLOW_STORE], services.dialog.registry)
    return services


async def line_services_ctx(app: web.Application) -> AsyncIterator[None]:
    built = CALL_SERVICES not in app
    if built:
        app[CALL_SERVICES] = await build_live_services(app)
        app[FLOW_REGISTRY] = app[CALL_SERVICES].dialog.registry
    yield
    close = getattr(app[CALL_SERVICES].dialog, "close", None) if built else None
    if close is not None:
        await close()  # the engine's HTTP client (CRM webhooks)
