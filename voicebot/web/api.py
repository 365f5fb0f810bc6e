"""REST API under /api: same sessions/roles as the pages (or `Authorization: Bearer` API tokens).

Described in `openapi.py` (GET /api/openapi.json). Errors are JSON: {"error": ..., "problems": [...]}.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from aiohttp import web

from voicebot.appkeys import (
    AUDIT,
    CALL_STORE,
    CURRENT_SESSION,
    CURRENT_USER,
    FLOW_STORE,
    SESSIONS,
    TOKENS,
    USERS,
)
from voicebot.store.errors import Invalid
from voicebot.store.flows import check_ids, version_json
from voicebot.store.search import search_calls
from voicebot.store.users import check_password
from voicebot.web import account, flow_ops
from voicebot.web.auth import set_session_cookie
from voicebot.web.calls_view import filter_from_query, live_calls, load_call, row_dict, turn_dict
from voicebot.web.dashboard import kpis_for
from voicebot.web.openapi import openapi_document
from voicebot.web.security import admin_only, agents_too, public, session_only

routes = web.RouteTableDef()


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise Invalid("the request body must be a JSON object") from exc
    if not isinstance(data, dict):
        raise Invalid("the request body must be a JSON object")
    return data


def _field(data: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    value = data.get(name, default)
    if value is ...:
        raise Invalid(f"{name}: required")
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise Invalid(f"{name}: must be a {kind.__name__}")
    return value


def _clean(value: Any) -> Any:
    """JSON has no infinity/NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _ids(request: web.Request) -> tuple[str, str]:
    flow_id, lang = request.match_info["flow_id"], request.match_info["lang"]
    check_ids(flow_id, lang)
    return flow_id, lang


@routes.get("/api/openapi.json")
@public
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


@routes.get("/api/me")
@agents_too
async def me(request: web.Request) -> web.Response:
    u = request[CURRENT_USER]
    session = request.get(CURRENT_SESSION)
    # Scripts using the session cookie read their CSRF token here (same-origin only: no CORS headers).
    return web.json_response({"name": u.name, "role": u.role, "csrf": session.csrf if session else None})


@routes.get("/api/calls")
async def list_calls(request: web.Request) -> web.Response:
    rows = await search_calls(request.app[CALL_STORE], filter_from_query(request.query))
    return web.json_response({"calls": [row_dict(r) for r in rows]})


@routes.get("/api/calls/live")
async def list_live(request: web.Request) -> web.Response:
    return web.json_response({"calls": await live_calls(request.app[CALL_STORE])})


@routes.get("/api/calls/{call_id}")
async def get_call(request: web.Request) -> web.Response:
    d = await load_call(request.app[CALL_STORE], request.match_info["call_id"])
    admin = request[CURRENT_USER].is_admin
    return web.json_response(_clean({"call": d.call, "turns": [turn_dict(t, admin=admin) for t in d.turns],
                                     "handoff": d.handoff}))


@routes.get("/api/calls/{call_id}/turns")
async def get_turns(request: web.Request) -> web.Response:
    d = await load_call(request.app[CALL_STORE], request.match_info["call_id"])
    admin = request[CURRENT_USER].is_admin
    return web.json_response(_clean({"turns": [turn_dict(t, admin=admin) for t in d.turns]}))


@routes.post("/api/calls/{call_id}/csat")
async def set_csat(request: web.Request) -> web.Response:
    """Post-call survey score (1-5), e.g. from an IVR survey or an agent entering it."""
    store = request.app[CALL_STORE]
    call_id = request.match_info["call_id"]
    score = _field(await _body(request), "score", int)
    if not 1 <= score <= 5:
        raise Invalid("score: 1..5")
    await load_call(store, call_id)  # 404 for an unknown call
    await store.update_call(call_id, csat=score)
    return web.json_response({"call_id": call_id, "csat": score})


@routes.get("/api/kpis")
async def kpis(request: web.Request) -> web.Response:
    k = await kpis_for(request)
    return web.json_response(_clean(asdict(k)))


@routes.get("/api/flows")
async def list_flows(request: web.Request) -> web.Response:
    return web.json_response({"flows": [asdict(f) for f in await request.app[FLOW_STORE].list()]})


@routes.get("/api/flows/{flow_id}/{lang}/versions")
async def list_versions(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    store = request.app[FLOW_STORE]
    versions = [{k: v for k, v in version_json(x).items() if k != "yaml"} for x in await store.versions(flow_id, lang)]
    return web.json_response({"versions": versions, "live": await store.live_version(flow_id, lang)})


@routes.get("/api/flows/{flow_id}/{lang}/versions/{version:\\d+}")
async def get_version(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    v = await request.app[FLOW_STORE].get(flow_id, lang, int(request.match_info["version"]))
    return web.json_response(version_json(v))


@routes.post("/api/flows/{flow_id}/{lang}/versions")
@admin_only
async def create_version(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    data = await _body(request)
    v = await flow_ops.save_version(request.app, request[CURRENT_USER].name, flow_id, lang,
                                    _field(data, "yaml", str), _field(data, "note", str, ""))
    return web.json_response({k: val for k, val in version_json(v).items() if k != "yaml"}, status=201)


@routes.post("/api/flows/{flow_id}/{lang}/publish")
@admin_only
async def publish_version(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    version = _field(await _body(request), "version", int)
    await flow_ops.publish(request.app, request[CURRENT_USER].name, flow_id, lang, version)
    return web.json_response({"flow_id": flow_id, "lang": lang, "live": version})


@routes.post("/api/flows/{flow_id}/{lang}/rollback")
@admin_only
async def rollback_version(request: web.Request) -> web.Response:
    flow_id, lang = _ids(request)
    version = _field(await _body(request), "version", int)
    await flow_ops.rollback(request.app, request[CURRENT_USER].name, flow_id, lang, version)
    return web.json_response({"flow_id": flow_id, "lang": lang, "live": version})


@routes.get("/api/users")
@admin_only
async def list_users(request: web.Request) -> web.Response:
    return web.json_response({"users": [asdict(u) for u in await request.app[USERS].list()]})


@routes.post("/api/users")
@admin_only
async def add_user(request: web.Request) -> web.Response:
    data = await _body(request)
    user = await request.app[USERS].add(_field(data, "name", str), _field(data, "password", str),
                                        _field(data, "role", str))
    await request.app[AUDIT].record(request[CURRENT_USER].name, "user.add", f"user:{user.name}", user.role)
    return web.json_response(asdict(user), status=201)


@routes.delete("/api/users/{name}")
@admin_only
async def delete_user(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == request[CURRENT_USER].name:
        raise Invalid("you cannot delete yourself")
    await request.app[USERS].delete(name)  # ends their sessions and tokens (their epoch moves on)
    await request.app[SESSIONS].delete_for_user(name)
    await request.app[TOKENS].revoke_all(name)
    await request.app[AUDIT].record(request[CURRENT_USER].name, "user.delete", f"user:{name}")
    return web.json_response({"deleted": name})


@routes.patch("/api/users/{name}")
@admin_only
async def change_user(request: web.Request) -> web.Response:
    """Another user's role and/or password (a reset: they must choose a new one at their next login).
    Either ends all their sessions and API tokens."""
    name, me = request.match_info["name"], request[CURRENT_USER].name
    if name == me:
        raise Invalid("change your own password with POST /api/me/password; your role, another admin")
    data = await _body(request)
    users, changed = request.app[USERS], []
    await users.require(name)
    if "password" in data:
        check_password(_field(data, "password", str), name)  # before any change: all or nothing
    if "role" in data:
        await users.set_role(name, _field(data, "role", str))
        changed.append("role")
    if "password" in data:
        await users.set_password(name, _field(data, "password", str), must_change=True)
        changed.append("password")
    if not changed:
        raise Invalid("give role and/or password")
    await request.app[SESSIONS].delete_for_user(name)
    await request.app[TOKENS].revoke_all(name)
    await request.app[AUDIT].record(me, "user.change", f"user:{name}", ", ".join(changed))
    return web.json_response(asdict(await users.require(name)))


@routes.post("/api/me/password")
@agents_too
@session_only
async def change_my_password(request: web.Request) -> web.Response:
    """Ends every other session and API token of the user; this browser gets a new session cookie and CSRF."""
    data = await _body(request)
    session = await account.change_password(request, _field(data, "current", str), _field(data, "new", str))
    resp = web.json_response({"changed": True, "csrf": session.csrf})
    set_session_cookie(request, resp, session)
    return resp


@routes.get("/api/tokens")
@agents_too
@session_only
async def list_tokens(request: web.Request) -> web.Response:
    tokens = await request.app[TOKENS].list(request[CURRENT_USER].name)
    return web.json_response({"tokens": [asdict(t) for t in tokens]})


@routes.post("/api/tokens")
@agents_too
@session_only
async def issue_token(request: web.Request) -> web.Response:
    """An API token for scripts, acting as the logged-in user (at most their role). Shown once."""
    data = await _body(request) if request.can_read_body else {}
    secret, token = await account.issue_token(request, request[CURRENT_USER], _field(data, "scope", str, ""),
                                              _field(data, "days", int, None) if "days" in data else None,
                                              _field(data, "label", str, ""))
    return web.json_response({"token": secret, **asdict(token)}, status=201)


@routes.delete("/api/tokens/{token_id}")
@agents_too
@session_only
async def revoke_token(request: web.Request) -> web.Response:
    await account.revoke_token(request, request[CURRENT_USER].name, request.match_info["token_id"])
    return web.json_response({"revoked": request.match_info["token_id"]})


@routes.get("/api/users/{name}/tokens")
@admin_only
async def user_tokens(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await request.app[USERS].require(name)
    return web.json_response({"tokens": [asdict(t) for t in await request.app[TOKENS].list(name)]})


@routes.delete("/api/users/{name}/tokens/{token_id}")
@admin_only
async def revoke_user_token(request: web.Request) -> web.Response:
    await account.revoke_token(request, request.match_info["name"], request.match_info["token_id"])
    return web.json_response({"revoked": request.match_info["token_id"]})


@routes.get("/api/audit")
@admin_only
async def audit(request: web.Request) -> web.Response:
    return web.json_response({"entries": [asdict(e) for e in await request.app[AUDIT].recent(500)]})
