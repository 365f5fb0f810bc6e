"""`voicebot serve`'s phone lines share ONE `CallServices` (built by `line_services_ctx`): the SIP line does not
compile a second dialog engine, and the shared engine records callback requests in Redis and runs the
escalation policy. Real aiohttp cleanup-ctxs, a real SIP listener, real Redis; no speech models needed."""

from __future__ import annotations

from aiohttp import web

from voicebot.app import line_services_ctx
from voicebot.appkeys import CALL_SERVICES, CALL_STORE, MODELS, SETTINGS, SIP_LINE
from voicebot.call_session import CallSession
from voicebot.config import Settings
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.lines.sip import sip_ctx
from voicebot.store.calls import CallStore


async def test_sip_uses_the_shared_services_whose_engine_books_callbacks(settings: Settings,
                                                                        call_store: CallStore) -> None:
    # The human line is never staffed: asking for a person must end in a recorded callback request.
    closed = settings.business_hours.model_copy(update={"hours": {}, "always_open": False})
    settings = settings.model_copy(update={"business_hours": closed})
    app = web.Application()
    app[SETTINGS], app[MODELS], app[CALL_STORE] = settings, None, call_store
    app.cleanup_ctx.extend([line_services_ctx, sip_ctx])
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        services = app[CALL_SERVICES]
        assert app[SIP_LINE].services is services  # one engine, one set of models for every line
        assert services.dialog.tracker_factory is not None, "serve runs the escalation policy"
        info = CallInfo(call_id="closed-line", caller_number="+48600100700")
        session = CallSession(info, services.dialog.new_session(info), call_store, services.write_handoff,
                              services.callbacks)
        await session.begin()
        await session.on_event(CallerSaid("I want to talk to a person", asr_confidence=0.9))
        reply = await session.on_event(CallerSaid("Yes.", asr_confidence=0.9))  # call me on this number
        await session.finish()
    finally:
        await runner.cleanup()
    assert reply.action == "callback"
    assert services.callbacks is not None
    [request] = await services.callbacks.store.due()
    assert request.number == "+48600100700" and request.call_id == "closed-line"
    record = await call_store.get_call("closed-line")
    assert record is not None and record["outcome"] == "callback"
