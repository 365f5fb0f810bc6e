"""REST API under /api: same sessions/roles as the pages (or `Authorization: Bearer` API tokens).

Each route declares its typed models with `@operation` (voicebot/web/openapi.py; models in api_models.py), and
GET /api/openapi.json is generated from them. Errors are JSON: {"error": ..., "problems": [...]}.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from aiohttp import web

from voicebot.appkeys import (
    AUDIT,
    CALL_STORE,
    CURRENT_LOGIN_SESSION,
    CURRENT_USER,
    FLOW_STORE,
    LOGIN_SESSIONS,
    TOKENS,
    USERS,
)
from voicebot.store.calls import TurnRecord
from voicebot.store.errors import Invalid
from voicebot.store.flows import FlowVersion
from voicebot.store.kpis import Kpis
from voicebot.store.search import search_calls
from voicebot.store.users import User, check_password
from voicebot.web import account, flow_ops
from voicebot.web.api_models import (
    AuditEntries,
    CallPath,
    CallTranscript,
    CsatScore,
    CsatStored,
    Deleted,
    FlowList,
    FlowLive,
    FlowPath,
    FlowVersionInfo,
    FlowVersionPath,
    FlowVersions,
    IssuedToken,
    LiveCalls,
    Me,
    NewFlowVersion,
    NewUser,
    PasswordChange,
    PasswordChanged,
    Revoked,
    TokenPath,
    TokenRequest,
    Tokens,
    Turns,
    UserChange,
    UserPath,
    Users,
    UserTokenPath,
    VersionChoice,
)
from voicebot.web.auth import set_session_cookie
from voicebot.web.calls_view import CallList, CallSearch, DateRange, live_calls, load_call, row_dict
from voicebot.web.dashboard import kpis_for
from voicebot.web.openapi import Reply, openapi_document, operation
from voicebot.web.security import admin_only, agents_too, public, session_only

routes = web.RouteTableDef()


def _info(v: FlowVersion) -> FlowVersionInfo:
    return FlowVersionInfo(flow_id=v.flow_id, lang=v.lang, version=v.version, author=v.author,
                           created_at=v.created_at, note=v.note)


@routes.get("/api/openapi.json")
@public
@operation("This document, generated from the routes' models", dict[str, Any])
async def openapi(request: web.Request) -> dict[str, Any]:
    return openapi_document(request.app.router)


@routes.get("/api/me")
@agents_too
@operation("Who am I", Me)
async def me(request: web.Request) -> Me:
    u = request[CURRENT_USER]
    session = request.get(CURRENT_LOGIN_SESSION)
    # Scripts using the session cookie read their CSRF token here (same-origin only: no CORS headers).
    return Me(name=u.name, role=u.role, csrf=session.csrf if session else None)


@routes.get("/api/calls")
@operation("Search calls (newest first)", CallList, query=CallSearch)
async def list_calls(request: web.Request, query: CallSearch) -> CallList:
    rows = await search_calls(request.app[CALL_STORE], query.to_filter())
    return CallList(calls=[row_dict(r) for r in rows])


@routes.get("/api/calls/live")
@operation("Calls in progress", LiveCalls)
async def list_live(request: web.Request) -> LiveCalls:
    return LiveCalls(calls=await live_calls(request.app[CALL_STORE]))


@routes.get("/api/calls/{call_id}")
@operation("One call: record, transcript turns, handoff package", CallTranscript, path=CallPath, errors=(404,))
async def get_call(request: web.Request, path: CallPath) -> CallTranscript:
    d = await load_call(request.app[CALL_STORE], path.call_id)
    return CallTranscript(call=d.call, turns=_visible(request, d.turns), handoff=d.handoff)


@routes.get("/api/calls/{call_id}/turns")
@operation("Transcript turns (PII redacted; originals only for admins when kept)", Turns, path=CallPath,
           errors=(404,))
async def get_turns(request: web.Request, path: CallPath) -> Turns:
    d = await load_call(request.app[CALL_STORE], path.call_id)
    return Turns(turns=_visible(request, d.turns))


def _visible(request: web.Request, turns: list[TurnRecord]) -> list[TurnRecord]:
    if request[CURRENT_USER].is_admin:
        return turns
    return [replace(t, text_original=None) for t in turns]


@routes.post("/api/calls/{call_id}/csat")
@operation("Store a post-call survey score", CsatStored, path=CallPath, body=CsatScore, errors=(404,))
async def set_csat(request: web.Request, path: CallPath, body: CsatScore) -> CsatStored:
    """Post-call survey score (1-5), e.g. from an IVR survey or an agent entering it."""
    store = request.app[CALL_STORE]
    await load_call(store, path.call_id)  # 404 for an unknown call
    await store.update_call(path.call_id, csat=body.score)
    return CsatStored(call_id=path.call_id, csat=body.score)


@routes.get("/api/kpis")
@operation("KPIs for a date range (default: last 24 h)", Kpis, query=DateRange)
async def kpis(request: web.Request, query: DateRange) -> Kpis:
    return await kpis_for(request, query.to_filter())


@routes.get("/api/flows")
@operation("Flows with their version count and live version", FlowList)
async def list_flows(request: web.Request) -> FlowList:
    return FlowList(flows=await request.app[FLOW_STORE].list())


@routes.get("/api/flows/{flow_id}/{lang}/versions")
@operation("Versions of a flow", FlowVersions, path=FlowPath)
async def list_versions(request: web.Request, path: FlowPath) -> FlowVersions:
    store = request.app[FLOW_STORE]
    return FlowVersions(versions=[_info(v) for v in await store.versions(path.flow_id, path.lang)],
                        live=await store.live_version(path.flow_id, path.lang))


@routes.get("/api/flows/{flow_id}/{lang}/versions/{version:\\d+}")
@operation("One version with its YAML", FlowVersion, path=FlowVersionPath, errors=(404,))
async def get_version(request: web.Request, path: FlowVersionPath) -> FlowVersion:
    return await request.app[FLOW_STORE].get(path.flow_id, path.lang, path.version)


@routes.post("/api/flows/{flow_id}/{lang}/versions")
@admin_only
@operation("Save a new version (validated; not live yet)", FlowVersionInfo, status=201, path=FlowPath,
           body=NewFlowVersion, errors=(422,))
async def create_version(request: web.Request, path: FlowPath, body: NewFlowVersion) -> FlowVersionInfo:
    v = await flow_ops.save_version(request.app, request[CURRENT_USER].name, path.flow_id, path.lang,
                                    body.yaml, body.note)
    return _info(v)


@routes.post("/api/flows/{flow_id}/{lang}/publish")
@admin_only
@operation("Run the flow's tests and make the version live in every process", FlowLive, path=FlowPath,
           body=VersionChoice, errors=(404, 409, 422), description="Refused (409) when a flow test fails.")
async def publish_version(request: web.Request, path: FlowPath, body: VersionChoice) -> FlowLive:
    await flow_ops.publish(request.app, request[CURRENT_USER].name, path.flow_id, path.lang, body.version)
    return FlowLive(flow_id=path.flow_id, lang=path.lang, live=body.version)


@routes.post("/api/flows/{flow_id}/{lang}/rollback")
@admin_only
@operation("Make an earlier version live again (tests run again)", FlowLive, path=FlowPath, body=VersionChoice,
           errors=(404, 409, 422))
async def rollback_version(request: web.Request, path: FlowPath, body: VersionChoice) -> FlowLive:
    await flow_ops.rollback(request.app, request[CURRENT_USER].name, path.flow_id, path.lang, body.version)
    return FlowLive(flow_id=path.flow_id, lang=path.lang, live=body.version)


@routes.get("/api/users")
@admin_only
@operation("Web users", Users)
async def list_users(request: web.Request) -> Users:
    return Users(users=await request.app[USERS].list())


@routes.post("/api/users")
@admin_only
@operation("Add a user", User, status=201, body=NewUser, errors=(409, 422))
async def add_user(request: web.Request, body: NewUser) -> User:
    user = await request.app[USERS].add(body.name, body.password, body.role)
    await request.app[AUDIT].record(request[CURRENT_USER].name, "user.add", f"user:{user.name}", user.role)
    return user


@routes.delete("/api/users/{name}")
@admin_only
@operation("Delete a user (ends their sessions and API tokens)", Deleted, path=UserPath, errors=(404, 422))
async def delete_user(request: web.Request, path: UserPath) -> Deleted:
    name = path.name
    if name == request[CURRENT_USER].name:
        raise Invalid("you cannot delete yourself")
    await request.app[USERS].delete(name)  # ends their sessions and tokens (their epoch moves on)
    await request.app[LOGIN_SESSIONS].delete_for_user(name)
    await request.app[TOKENS].revoke_all(name)
    await request.app[AUDIT].record(request[CURRENT_USER].name, "user.delete", f"user:{name}")
    return Deleted(deleted=name)


@routes.patch("/api/users/{name}")
@admin_only
@operation("Change another user's role and/or reset their password (they must choose a new one at their next "
           "login); ends their sessions and API tokens", User, path=UserPath, body=UserChange, errors=(404, 422))
async def change_user(request: web.Request, path: UserPath, body: UserChange) -> User:
    """Another user's role and/or password (a reset: they must choose a new one at their next login).
    Either ends all their sessions and API tokens."""
    name, me = path.name, request[CURRENT_USER].name
    if name == me:
        raise Invalid("change your own password with POST /api/me/password; your role, another admin")
    users, changed = request.app[USERS], []
    await users.require(name)
    if body.password is not None:
        check_password(body.password, name)  # before any change: all or nothing
    if body.role is not None:
        await users.set_role(name, body.role)
        changed.append("role")
    if body.password is not None:
        await users.set_password(name, body.password, must_change=True)
        changed.append("password")
    if not changed:
        raise Invalid("give role and/or password")
    await request.app[LOGIN_SESSIONS].delete_for_user(name)
    await request.app[TOKENS].revoke_all(name)
    await request.app[AUDIT].record(me, "user.change", f"user:{name}", ", ".join(changed))
    return await users.require(name)


@routes.post("/api/me/password")
@agents_too
@session_only
@operation("Change your password; ends your other sessions and your API tokens, returns the new CSRF token",
           PasswordChanged, body=PasswordChange, errors=(422, 429))
async def change_my_password(request: web.Request, body: PasswordChange) -> Reply:
    """Ends every other session and API token of the user; this browser gets a new session cookie and CSRF."""
    session = await account.change_password(request, body.current, body.new)
    return Reply(PasswordChanged(changed=True, csrf=session.csrf),
                 lambda resp: set_session_cookie(request, resp, session))


@routes.get("/api/tokens")
@agents_too
@session_only
@operation("Your live API tokens", Tokens)
async def list_tokens(request: web.Request) -> Tokens:
    return Tokens(tokens=await request.app[TOKENS].list(request[CURRENT_USER].name))


@routes.post("/api/tokens")
@agents_too
@session_only
@operation("Issue an API token for scripts (the secret is shown once)", IssuedToken, status=201,
           body=TokenRequest, body_required=False, errors=(422,),
           description="Scope read = GET only; the scope is at most your role.")
async def issue_token(request: web.Request, body: TokenRequest) -> IssuedToken:
    """An API token for scripts, acting as the logged-in user (at most their role). Shown once."""
    secret, token = await account.issue_token(request, request[CURRENT_USER], body.scope or "", body.days,
                                              body.label)
    return IssuedToken(token=secret, **asdict(token))


@routes.delete("/api/tokens/{token_id}")
@agents_too
@session_only
@operation("Revoke one of your API tokens", Revoked, path=TokenPath, errors=(404,))
async def revoke_token(request: web.Request, path: TokenPath) -> Revoked:
    await account.revoke_token(request, request[CURRENT_USER].name, path.token_id)
    return Revoked(revoked=path.token_id)


@routes.get("/api/users/{name}/tokens")
@admin_only
@operation("A user's live API tokens (ids, scopes, expiry; never the secrets)", Tokens, path=UserPath,
           errors=(404,))
async def user_tokens(request: web.Request, path: UserPath) -> Tokens:
    await request.app[USERS].require(path.name)
    return Tokens(tokens=await request.app[TOKENS].list(path.name))


@routes.delete("/api/users/{name}/tokens/{token_id}")
@admin_only
@operation("Revoke a user's API token", Revoked, path=UserTokenPath, errors=(404,))
async def revoke_user_token(request: web.Request, path: UserTokenPath) -> Revoked:
    await account.revoke_token(request, path.name, path.token_id)
    return Revoked(revoked=path.token_id)


@routes.get("/api/audit")
@admin_only
@operation("Audit trail: who changed what, when", AuditEntries)
async def audit(request: web.Request) -> AuditEntries:
    return AuditEntries(entries=await request.app[AUDIT].recent(500))
