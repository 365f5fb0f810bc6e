"""HTTP side of AudioSocket: the dialplan's questions after `AudioSocket()` returns, and the server's lifetime.

    GET /api/audiosocket/{uuid}/next     -> "hangup" if the bot ended the call, else "queue" (text/plain)
    GET /api/audiosocket/{uuid}/handoff  -> the handoff id for the agent (text/plain; 404 + empty if none)

"queue" is also the answer for a call we know nothing about (bot crashed, Redis lost the record): when
in doubt the caller goes to a human. Bodies are bare text because Asterisk's CURL() returns the body.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from telephony.audiosocket import AudioSocketServer
from telephony.leg_outcome import LegOutcomes
from telephony.line_services import CALL_SERVICES
from voicebot.web.keys import REDIS, SETTINGS, STORE_KEYS

log = logging.getLogger(__name__)

AUDIOSOCKET = web.AppKey("audiosocket", AudioSocketServer)
routes = web.RouteTableDef()


def _outcomes(app: web.Application) -> LegOutcomes:
    server = app.get(AUDIOSOCKET)
    # The running server's store also remembers outcomes it could not write to Redis.
    return server.outcomes if server is not None else LegOutcomes(app[REDIS], app[STORE_KEYS])


def _call_uuid(request: web.Request) -> str:
    raw = request.match_info["uuid"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise web.HTTPBadRequest(text=f"not a UUID: {raw[:64]!r}\n") from None


@routes.get("/api/audiosocket/{uuid}/next")
async def next_step(request: web.Request) -> web.Response:
    outcome = await _outcomes(request.app).get(_call_uuid(request))
    return web.Response(text="hangup" if outcome and outcome.disposition == "hangup" else "queue")


@routes.get("/api/audiosocket/{uuid}/handoff")
async def handoff_id(request: web.Request) -> web.Response:
    outcome = await _outcomes(request.app).get(_call_uuid(request))
    if outcome is None or outcome.disposition != "transfer" or not outcome.handoff_id:
        return web.Response(status=404, text="")
    return web.Response(text=outcome.handoff_id)


async def audiosocket_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the AudioSocket listener for the app's lifetime when `audiosocket.enabled`."""
    settings = app[SETTINGS]
    if not settings.audiosocket.enabled:
        yield
        return
    from voicebot.pipeline.call import run_call

    services = app[CALL_SERVICES]
    cfg = settings.audiosocket
    server = AudioSocketServer(
        cfg.host, cfg.port, lambda media, info: run_call(media, info, services),
        LegOutcomes(app[REDIS], app[STORE_KEYS], ttl_secs=cfg.outcome_ttl_secs),
        language=settings.dialog.default_language, flow_id=settings.dialog.default_flow,
        idle_timeout=cfg.idle_timeout_secs, max_calls=cfg.max_calls,
    )
    await server.start()
    app[AUDIOSOCKET] = server
    try:
        yield
    finally:
        await server.close()
