"""Supervisor pages: live calls, call search + CSV, one call's transcript, agent screen-pop."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

from aiohttp import web

from voicebot.appkeys import CALL_STORE, CURRENT_USER, LIVE_HUB, SETTINGS
from voicebot.store.errors import NotFound
from voicebot.store.search import search_calls
from voicebot.web.calls_view import (
    CSV_COLUMNS,
    csv_cell,
    filter_from_query,
    live_calls,
    load_call,
    load_handoff,
    turn_dict,
)
from voicebot.web.live import relay_to_browser
from voicebot.web.render import render
from voicebot.web.security import agents_too

routes = web.RouteTableDef()
CALLBACKS_PAGE = "/callbacks"  # the agent's start page (voicebot/web/callbacks_view.py)


@routes.get("/")
@agents_too
async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound(CALLBACKS_PAGE if request[CURRENT_USER].is_agent else "/supervisor")


@routes.get("/supervisor")
async def live_page(request: web.Request) -> web.Response:
    return render(request, "live.html", calls=await live_calls(request.app[CALL_STORE]))


@routes.get("/supervisor/live/ws")
async def live_ws(request: web.Request) -> web.WebSocketResponse:
    """Call events from Redis pub/sub (ch:calls), pushed as JSON text frames."""
    snapshot = {"event": "snapshot", "calls": await live_calls(request.app[CALL_STORE])}
    return await relay_to_browser(request, request.app[LIVE_HUB].call_queues, snapshot)


@routes.get("/supervisor/calls")
async def calls_page(request: web.Request) -> web.Response:
    f = filter_from_query(request.query)
    rows = await search_calls(request.app[CALL_STORE], f)
    return render(request, "calls.html", rows=rows, q=request.query, query_string=request.query_string)


@routes.get("/supervisor/calls.csv")
async def calls_csv(request: web.Request) -> web.Response:
    f = dataclasses.replace(filter_from_query(request.query), with_turns=True)
    rows = await search_calls(request.app[CALL_STORE], f)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*CSV_COLUMNS, "intents"])
    for r in rows:
        writer.writerow([csv_cell(v) for v in [r.call.get(c, "") for c in CSV_COLUMNS] + [" ".join(r.intents)]])
    return web.Response(text=buf.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="calls.csv"'})


def _recording(request: web.Request, call: dict[str, str]) -> Path | None:
    """Audio is offered only when recording is on AND the caller was told (field recording_announced)."""
    if not request.app[SETTINGS].privacy.record_audio or call.get("recording_announced") != "1":
        return None
    path = Path(call.get("recording_path", ""))
    return path if call.get("recording_path") and path.is_file() else None


@routes.get("/supervisor/calls/{call_id}")
async def call_page(request: web.Request) -> web.Response:
    detail = await load_call(request.app[CALL_STORE], request.match_info["call_id"])
    admin = request[CURRENT_USER].is_admin
    return render(request, "call.html", d=detail, turns=[turn_dict(t, admin=admin) for t in detail.turns],
                  transfer=detail.transfer_turn, has_audio=_recording(request, detail.call) is not None,
                  handoff_json=json.dumps(detail.handoff, indent=2, ensure_ascii=False) if detail.handoff else "")


@routes.get("/supervisor/calls/{call_id}/audio")
async def call_audio(request: web.Request) -> web.FileResponse:
    call = await request.app[CALL_STORE].get_call(request.match_info["call_id"])
    path = _recording(request, call or {})
    if path is None:
        raise NotFound("no recording for this call")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@routes.get("/agent/handoff/{handoff_id}")
@agents_too
async def screen_pop(request: web.Request) -> web.Response:
    """What the human agent sees when the transferred call rings (handoff id from the SIP header / URL)."""
    store = request.app[CALL_STORE]
    package = await load_handoff(store, request.match_info["handoff_id"])
    if package is None:
        raise NotFound(f"no handoff {request.match_info['handoff_id']!r}")
    call_id = str(package.get("call_id", ""))
    call = await store.get_call(call_id) if call_id else None
    return render(request, "handoff.html", handoff_id=request.match_info["handoff_id"], p=package, call=call,
                  package_json=json.dumps(package, indent=2, ensure_ascii=False))
