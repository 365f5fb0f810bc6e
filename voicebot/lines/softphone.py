"""Talk to the bot from the admin page: the browser's microphone is a phone line (voicebot.lines.browser).

The call runs through the same `run_call` pipeline, dialog engine, store and handoff writer as a SIP
call; its transcript comes back live from the ch:calls relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from voicebot.appkeys import CURRENT_USER, LIVE_HUB, MODELS, SETTINGS, SOFTPHONE
from voicebot.dialog.types import CallInfo
from voicebot.lines.browser import WebSocketMedia
from voicebot.pipeline.call import run_call
from voicebot.pipeline.services import CallServices
from voicebot.web.render import render
from voicebot.web.security import admin_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@dataclass
class SoftphoneServices:
    """The dialog engine for browser calls, loaded on the first call (NLU training takes a moment)."""

    build: Callable[[web.Application], Awaitable[CallServices]]  # the composition root's (voicebot/app.py)
    services: CallServices | None = None
    registry: Any = None  # its FlowRegistry: follows publications on ch:flows (voicebot.jobs.flow_sync)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, app: web.Application) -> CallServices:
        async with self.lock:
            if self.services is None:
                # `voicebot serve` already built the phone lines' services: browser calls share them.
                self.services = await self.build(app)
                self.registry = self.services.dialog.registry
            return self.services


@routes.get("/admin/softphone")
@admin_only
async def softphone_page(request: web.Request) -> web.Response:
    return render(request, "softphone.html", models_loaded=request.app.get(MODELS) is not None)


@routes.get("/admin/softphone/ws")
@admin_only
async def softphone_ws(request: web.Request) -> web.WebSocketResponse:
    """Protocol: first a JSON text frame {"type": "start", "language": "en"}; then binary s16le 16 kHz mono
    microphone audio, and {"type": "dtmf", "digits": "1"} / {"type": "hangup"} text frames. The server
    sends binary bot audio and JSON frames: turn, clear, transfer, hangup, ended, error."""
    app = request.app
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1 << 20)
    await ws.prepare(request)
    if app.get(MODELS) is None:
        await ws.send_json({"type": "error", "message": "speech models are not loaded (serve without --no-models)"})
        await ws.close()
        return ws
    first = await ws.receive()
    try:
        start = json.loads(first.data) if first.type == WSMsgType.TEXT else {}
    except ValueError:
        start = {}
    if start.get("type") != "start":
        await ws.send_json({"type": "error", "message": 'first frame must be {"type": "start"}'})
        await ws.close()
        return ws
    settings = app[SETTINGS]
    language = start.get("language") if start.get("language") in ("pl", "en") else settings.dialog.default_language
    info = CallInfo(call_id="web-" + uuid.uuid4().hex[:10], caller_number=f"web:{request[CURRENT_USER].name}",
                    language=language, flow_id=settings.dialog.default_flow, channel="web")
    media = WebSocketMedia(ws)
    services = await app[SOFTPHONE].get(app)
    await ws.send_json({"type": "started", "call_id": info.call_id, "sample_rate": media.sample_rate})
    call = asyncio.create_task(run_call(media, info, services))
    relay = asyncio.create_task(_relay_transcript(app, ws, info.call_id))
    try:
        async for msg in ws:
            if call.done():
                break
            if msg.type == WSMsgType.BINARY:
                media.audio(msg.data)
            elif msg.type == WSMsgType.TEXT:
                _control(media, msg.data)
        media.hung_up("browser closed the softphone")
        session = await call
        if not ws.closed:
            await ws.send_json({"type": "ended", "outcome": session.outcome})
    except Exception:
        log.exception("softphone call %s failed", info.call_id)
        if not ws.closed:
            await ws.send_json({"type": "error", "message": "the call failed; see the server log"})
    finally:
        media.hung_up()
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        if not call.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 10)
        await ws.close()
    return ws


def _control(media: Any, data: str) -> None:
    try:
        msg = json.loads(data)
    except ValueError:
        return
    if msg.get("type") == "dtmf":
        media.dtmf(str(msg.get("digits", "")))
    elif msg.get("type") == "hangup":
        media.hung_up()


async def _relay_transcript(app: web.Application, ws: web.WebSocketResponse, call_id: str) -> None:
    """This call's turns and end from the ch:calls relay, as the supervisor sees them."""
    hub = app[LIVE_HUB]
    queue = hub.subscribe_calls()
    try:
        while not ws.closed:
            event = await queue.get()
            if event.get("call_id") != call_id:
                continue
            if event.get("event") == "turn":
                await ws.send_json({"type": "turn", **{k: event.get(k) for k in
                                                       ("role", "text", "intent", "node", "action", "reason")}})
            elif event.get("event") == "ended":
                await ws.send_json({"type": "ended", "outcome": event.get("outcome")})
    finally:
        hub.unsubscribe_calls(queue)
