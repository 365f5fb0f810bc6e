"""HTTP side of AudioSocket: the dialplan's questions after `AudioSocket()` returns, and the server's lifetime.

    POST /api/audiosocket/{uuid}/caller  <- number=<caller id>[&language=pl], before AudioSocket()
                                            (AudioSocket itself carries no caller id)
    GET /api/audiosocket/{uuid}/next     -> "hangup" if the bot ended the call, else "queue" (text/plain)
    GET /api/audiosocket/{uuid}/handoff  -> the handoff id for the agent (text/plain; 404 + empty if none)

"queue" is also the answer for a call we know nothing about (bot crashed, Redis lost the record): when
in doubt the caller goes to a human. Bodies are bare text because Asterisk's CURL() returns the body.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.appkeys import AUDIOSOCKET, CALL_SERVICES, REDIS, SETTINGS, STORE_KEYS
from voicebot.lines.audiosocket import AudioSocketServer
from voicebot.lines.leg_outcome import LANGUAGES, LegAnnouncement, LegOutcomes
from voicebot.lines.switch_access import peer_allowed, switch_endpoint
from voicebot.pipeline.call import run_call
from voicebot.store.buffer import REDIS_DOWN

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


def _outcomes(app: web.Application) -> LegOutcomes:
    server = app.get(AUDIOSOCKET)
    # The running server's store also remembers outcomes it could not write to Redis.
    return server.outcomes if server is not None else LegOutcomes(app[REDIS], app[STORE_KEYS])


def _call_uuid(request: web.Request) -> str:
    """The UUID from the path, after checking the request comes from the dialplan's host."""
    if not peer_allowed(request.remote, request.app[SETTINGS].audiosocket.allowed_peers):
        log.warning("audiosocket: refusing %s from %s (not in audiosocket.allowed_peers)", request.path, request.remote)
        raise web.HTTPForbidden(text="not an allowed Asterisk host (audiosocket.allowed_peers)\n")
    raw = request.match_info["uuid"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise web.HTTPBadRequest(text=f"not a UUID: {raw[:64]!r}\n") from None


# What a dialplan's ${CALLERID(num)} can hold: digits, +*#, or a word such as "anonymous".
CALLER_NUMBER = re.compile(r"[+0-9*#A-Za-z._-]{1,32}")


@routes.post("/api/audiosocket/{uuid}/caller")
@switch_endpoint
async def announce_caller(request: web.Request) -> web.Response:
    """Form fields: number (the dialplan's ${CALLERID(num)}), optional language (flow language, e.g. pl)."""
    call_uuid = _call_uuid(request)
    form = await request.post()
    number = str(form.get("number", "")).strip()
    language = str(form.get("language", "")).strip()
    if not CALLER_NUMBER.fullmatch(number):
        raise web.HTTPBadRequest(text=f"number must be 1-32 of 0-9 + * # letters . _ -, got {number[:40]!r}\n")
    if language and language not in LANGUAGES:
        raise web.HTTPBadRequest(text=f"language must be one of {', '.join(LANGUAGES)}, got {language[:8]!r}\n")
    try:
        await _outcomes(request.app).announce(call_uuid, LegAnnouncement(number, language))
    except REDIS_DOWN as exc:
        # The call still works, just without these details: tell the dialplan, which ignores the answer.
        raise web.HTTPServiceUnavailable(text=f"caller details not stored: {exc}\n") from None
    return web.Response(text="ok")


@routes.get("/api/audiosocket/{uuid}/next")
@switch_endpoint
async def next_step(request: web.Request) -> web.Response:
    outcome = await _outcomes(request.app).get(_call_uuid(request))
    return web.Response(text="hangup" if outcome and outcome.disposition == "hangup" else "queue")


@routes.get("/api/audiosocket/{uuid}/handoff")
@switch_endpoint
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
    services = app[CALL_SERVICES]
    cfg = settings.audiosocket
    server = AudioSocketServer(
        cfg.host, cfg.port, lambda media, info: run_call(media, info, services),
        LegOutcomes(app[REDIS], app[STORE_KEYS], ttl_secs=cfg.outcome_ttl_secs),
        language=settings.dialog.default_language, flow_id=settings.dialog.default_flow,
        idle_timeout=cfg.idle_timeout_secs, max_calls=cfg.max_calls, allowed_peers=cfg.allowed_peers,
        draining=lambda: services.drain is not None and services.drain.draining,
    )
    await server.start()
    app[AUDIOSOCKET] = server
    try:
        yield
    finally:
        await server.close()
