"""Admin page: forget a caller on request (GDPR erasure). Deletes the number's returning-caller profile, call
records and transcripts, handoff packages and callback requests, and writes an audit entry (who, the number,
how many of each were deleted)."""

from __future__ import annotations

from aiohttp import web

from voicebot.appkeys import AUDIT, CALL_STORE, CURRENT_USER
from voicebot.store.callers import CallerStore, forget_caller, profile_number
from voicebot.web.render import render
from voicebot.web.security import admin_only

routes = web.RouteTableDef()


@routes.get("/admin/privacy")
@admin_only
async def privacy_page(request: web.Request) -> web.Response:
    return render(request, "privacy.html", number="", counts=None, error="")


@routes.post("/admin/privacy/forget")
@admin_only
async def forget_form(request: web.Request) -> web.Response:
    number = str((await request.post()).get("number", "")).strip()
    if profile_number(number) is None:
        return render(request, "privacy.html", status=422, number=number, counts=None,
                      error="Enter the caller's phone number (digits, optionally with + and spaces).")
    store = request.app[CALL_STORE]
    counts = await forget_caller(CallerStore(store.client, store.keys, store.buffer), request.app[AUDIT], number,
                                 who=request[CURRENT_USER].name)
    return render(request, "privacy.html", number=number, counts=counts, error="")
