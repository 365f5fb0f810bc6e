"""The callback worklist (supervisors, admins and agents): due and overdue requests, claim, outcome, notes.

The dialer (voicebot/lines/callback_dialer.py) places callbacks itself; the worklist is where people see what
is due, what the dialer gave up on (failed), and record the outcome of the calls they make by hand. Every change
is published on `ch:callbacks`, so open worklists reload (`/callbacks/ws`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from voicebot.appkeys import AUDIT, CALL_STORE, CURRENT_USER, LIVE_HUB
from voicebot.store.callbacks import OUTCOMES, CallbackRequest, CallbackStore, callback_store
from voicebot.store.errors import Conflict, Invalid, NotFound
from voicebot.web.live import relay_to_browser
from voicebot.web.render import render
from voicebot.web.security import agents_too

routes = web.RouteTableDef()
MAX_NOTES = 2000
# Worklist filters: which requests a `show=` value lists.
SHOW = ("due", "open", "closed", "all")


@dataclass(frozen=True)
class Row:
    request: CallbackRequest
    overdue: bool  # due more than `OVERDUE_S` ago and still open
    due_now: bool


OVERDUE_S = 15 * 60


def _store(request: web.Request) -> CallbackStore:
    return callback_store(request.app[CALL_STORE])


async def worklist(store: CallbackStore, show: str, mine: str, topic: str, now: float) -> list[Row]:
    """The requests a worklist shows: `show` (due now, all open, closed, all), only `mine` (a user name, or
    "" for everybody's), only one `topic` ("" = any)."""
    found: list[CallbackRequest] = []
    if show in ("due", "open", "all"):
        found += await store.due(now if show == "due" else None, limit=500)
    if show in ("closed", "all"):
        found += await store.closed(limit=200)
    rows = []
    for r in found:
        if (mine and r.claimed_by != mine) or (topic and r.topic != topic):
            continue
        is_open = r.status in ("open", "calling")
        rows.append(Row(r, overdue=is_open and r.due < now - OVERDUE_S, due_now=is_open and r.due <= now))
    return rows


@routes.get("/callbacks")
@agents_too
async def worklist_page(request: web.Request) -> web.Response:
    q = request.query
    show = q.get("show", "due") if q.get("show", "due") in SHOW else "due"
    mine = request[CURRENT_USER].name if q.get("mine") == "1" else ""
    rows = await worklist(_store(request), show, mine, q.get("topic", "").strip(), time.time())
    return render(request, "callbacks.html", rows=rows, show=show, shows=SHOW, mine=bool(mine),
                  topic=q.get("topic", ""), outcomes=OUTCOMES)


async def _get(request: web.Request) -> tuple[CallbackStore, CallbackRequest]:
    store = _store(request)
    found = await store.get(request.match_info["callback_id"])
    if found is None:
        raise NotFound(f"no callback {request.match_info['callback_id']!r}")
    return store, found


async def _saved(request: web.Request, store: CallbackStore, cb: CallbackRequest, action: str, detail: str) -> None:
    await store.save(cb)
    await request.app[AUDIT].record(request[CURRENT_USER].name, action, f"callback:{cb.id}", detail)


@routes.post("/callbacks/{callback_id}/claim")
@agents_too
async def claim(request: web.Request) -> web.Response:
    """Take a request (or give it back): one person works on it, the others see who."""
    store, cb = await _get(request)
    me = request[CURRENT_USER].name
    release = (await request.post()).get("release") == "1"
    if release:
        if cb.claimed_by == me:
            cb.claimed_by = ""
    elif cb.claimed_by and cb.claimed_by != me:
        raise Conflict(f"callback {cb.id} is already claimed by {cb.claimed_by}")
    else:
        cb.claimed_by = me
    await _saved(request, store, cb, "callback.release" if release else "callback.claim", cb.claimed_by or me)
    raise web.HTTPSeeOther(request.headers.get("Referer") or "/callbacks")


@routes.post("/callbacks/{callback_id}/outcome")
@agents_too
async def outcome(request: web.Request) -> web.Response:
    """Record how a callback made by hand went (reached / no answer / wrong number), with notes."""
    store, cb = await _get(request)
    form = await request.post()
    result, notes = str(form.get("outcome", "")), str(form.get("notes", "")).strip()
    if result and result not in OUTCOMES:
        raise Invalid(f"outcome must be one of: {', '.join(OUTCOMES)}")
    if len(notes) > MAX_NOTES:
        raise Invalid(f"notes: at most {MAX_NOTES} characters")
    if notes:
        cb.notes = notes
    if result:
        # No answer leaves it open for another try; reached and wrong number close it.
        cb.status = "open" if result == "no_answer" else result
        cb.last_result = f"{result} ({request[CURRENT_USER].name})"
        cb.closed_at = 0.0 if result == "no_answer" else time.time()
    cb.claimed_by = cb.claimed_by or request[CURRENT_USER].name
    await _saved(request, store, cb, "callback.outcome", result or "notes")
    raise web.HTTPSeeOther(request.headers.get("Referer") or "/callbacks")


@routes.get("/callbacks/ws")
@agents_too
async def worklist_ws(request: web.Request) -> web.WebSocketResponse:
    """`{"event": "callback", "id": ..., "status": ...}` whenever a request changes (pub/sub ch:callbacks)."""
    return await relay_to_browser(request, request.app[LIVE_HUB].callback_queues)
