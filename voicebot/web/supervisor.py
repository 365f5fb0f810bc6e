"""Supervisor pages: live calls, call search + CSV, one call's transcript, agent screen-pop."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

from aiohttp import web

from voicebot.appkeys import CALL_STORE, CURRENT_USER, LIVE_HUB
from voicebot.store.errors import NotFound
from voicebot.store.recordings import Recording, RecordingIndex
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
from voicebot.web.security import agents_too, http_error

routes = web.RouteTableDef()
CALLBACKS_PAGE = "/callbacks"  # the agent's start page (voicebot/web/callbacks_view.py)
RECORDING_ROLES = ("supervisor", "admin")  # who may hear call recordings


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


async def _recording(request: web.Request, call_id: str) -> Recording | None:
    """The call's recording if this user may hear it (supervisors and admins only; any other role, e.g. an
    agent, may not) and its file is still there."""
    if request[CURRENT_USER].role not in RECORDING_ROLES:
        return None
    found = await RecordingIndex(request.app[CALL_STORE]).get(call_id)
    return found if found is not None and found.path.is_file() else None


@routes.get("/supervisor/calls/{call_id}")
async def call_page(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    detail = await load_call(request.app[CALL_STORE], call_id)
    admin = request[CURRENT_USER].is_admin
    return render(request, "call.html", d=detail, turns=[turn_dict(t, admin=admin) for t in detail.turns],
                  transfer=detail.transfer_turn, recording=await _recording(request, call_id),
                  handoff_json=json.dumps(detail.handoff, indent=2, ensure_ascii=False) if detail.handoff else "")


@routes.get("/supervisor/calls/{call_id}/audio")
async def call_audio(request: web.Request) -> web.FileResponse:
    """The recording's file, streamed (range requests included: the player can seek)."""
    if request[CURRENT_USER].role not in RECORDING_ROLES:
        raise http_error(request, web.HTTPForbidden, "call recordings are for supervisors and admins")
    found = await _recording(request, request.match_info["call_id"])
    if found is None:
        raise NotFound("no recording for this call")
    return web.FileResponse(found.path, headers={"Content-Type": found.content_type})


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
