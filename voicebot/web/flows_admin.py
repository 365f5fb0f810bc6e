"""Admin pages: flow list, YAML editor with per-line errors, diagram, versions, diff, publish, rollback,
audit trail and users."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from voicebot.appkeys import AUDIT, CURRENT_USER, FLOW_STORE, TOKENS, USERS
from voicebot.dialog.yamlpos import YamlSyntaxError, load_positioned
from voicebot.store.errors import Conflict, Invalid, NotFound
from voicebot.store.flows import FlowVersion, check_ids, diff
from voicebot.web import flow_ops
from voicebot.web.render import render
from voicebot.web.security import admin_only
from voicebot.web.svg import flow_diagram

routes = web.RouteTableDef()


def _ids(request: web.Request) -> tuple[str, str]:
    flow_id, lang = request.match_info["flow_id"], request.match_info["lang"]
    check_ids(flow_id, lang)
    return flow_id, lang


def _diagram(text: str) -> str:
    """The flow as SVG; nothing for text that is not YAML or is too large once aliases are expanded."""
    try:
        data = load_positioned(text).data
    except YamlSyntaxError:
        return ""
    return flow_diagram(data) if isinstance(data, dict) else ""


async def _editor(request: web.Request, flow_id: str, lang: str, *, text: str | None = None,
                  problems: list[tuple[int | None, str]] | None = None, message: str = "", error: str = "",
                  status: int = 200) -> web.Response:
    store = request.app[FLOW_STORE]
    versions = await store.versions(flow_id, lang)
    if not versions and text is None:
        raise NotFound(f"no flow {flow_id}/{lang}")
    shown: FlowVersion | None = None
    if text is None:
        wanted = request.query.get("version")
        shown = await store.get(flow_id, lang, int(wanted)) if wanted and wanted.isdigit() else versions[-1]
        text = shown.yaml
    by_line: dict[int, list[str]] = {}
    general: list[str] = []
    for line, msg in problems or []:
        (by_line.setdefault(line, []) if line else general).append(msg)
    return render(request, "flow_edit.html", status=status, flow_id=flow_id, lang=lang, text=text,
                  lines=text.splitlines() or [""], by_line=by_line, general=general, shown=shown,
                  versions=list(reversed(versions)), live=await store.live_version(flow_id, lang),
                  diagram=await asyncio.to_thread(_diagram, text), message=message, error=error,
                  audit=await request.app[AUDIT].recent(20, target=f"flow:{flow_id}:{lang}"))


@routes.get("/admin")
@admin_only
async def admin_home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/admin/flows")


@routes.get("/admin/flows")
@admin_only
async def flow_list(request: web.Request) -> web.Response:
    return render(request, "flows.html", flows=await request.app[FLOW_STORE].list())


@routes.get("/admin/flows/{flow_id}/{lang}")
@admin_only
async def flow_edit(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    return await _editor(request, flow_id, lang, message=request.query.get("msg", "")[:200])


@routes.post("/admin/flows/{flow_id}/{lang}")
@admin_only
async def flow_save(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    form = await request.post()
    text = str(form.get("yaml", "")).replace("\r\n", "\n")
    try:
        v = await flow_ops.save_version(request.app, request[CURRENT_USER].name, flow_id, lang, text,
                                        str(form.get("note", "")))
    except Invalid as exc:
        # Keep the admin's text: nothing typed is lost because of an error.
        return await _editor(request, flow_id, lang, text=text, problems=exc.problems, error=str(exc), status=422)
    raise web.HTTPSeeOther(f"/admin/flows/{flow_id}/{lang}?version={v.version}&msg=saved+as+version+{v.version}")


async def _make_live(request: web.Request, action: str) -> web.Response:
    flow_id, lang = _ids(request)
    form = await request.post()
    try:
        version = int(str(form.get("version", "")))
    except ValueError as exc:
        raise Invalid("version: a number") from exc
    who = request[CURRENT_USER].name
    try:
        await flow_ops.publish(request.app, who, flow_id, lang, version, action=action)
    except (Invalid, Conflict) as exc:
        problems = exc.problems if isinstance(exc, Invalid) else None
        return await _editor(request, flow_id, lang, problems=problems, error=str(exc), status=409)
    word = "published" if action == "published" else "rolled+back+to"
    raise web.HTTPSeeOther(f"/admin/flows/{flow_id}/{lang}?msg={word}+version+{version}")


@routes.post("/admin/flows/{flow_id}/{lang}/publish")
@admin_only
async def flow_publish(request: web.Request) -> web.Response:
    return await _make_live(request, "published")


@routes.post("/admin/flows/{flow_id}/{lang}/rollback")
@admin_only
async def flow_rollback(request: web.Request) -> web.Response:
    return await _make_live(request, "rolled_back")


@routes.get("/admin/flows/{flow_id}/{lang}/diff")
@admin_only
async def flow_diff(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    store = request.app[FLOW_STORE]
    try:
        a, b = int(request.query.get("from", "0")), int(request.query.get("to", "0"))
    except ValueError as exc:
        raise Invalid("from/to: version numbers") from exc
    old, new = await store.get(flow_id, lang, a), await store.get(flow_id, lang, b)
    lines: list[dict[str, Any]] = []
    for line in diff(old, new).splitlines():
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        lines.append({"kind": kind, "text": line})
    return render(request, "flow_diff.html", flow_id=flow_id, lang=lang, old=old, new=new, lines=lines)


@routes.get("/admin/audit")
@admin_only
async def audit_page(request: web.Request) -> web.Response:
    return render(request, "audit.html", entries=await request.app[AUDIT].recent(500))


@routes.get("/admin/users")
@admin_only
async def users_page(request: web.Request) -> web.Response:
    users = await request.app[USERS].list()
    tokens = {u.name: await request.app[TOKENS].list(u.name) for u in users}
    return render(request, "users.html", users=users, tokens=tokens)
