"""A user's own credentials: password change and API tokens (page `/account`; the same actions in the API,
voicebot/web/api.py), and an admin revoking other users' tokens.

Changing the password ends every other session and every API token of the user (store/users.py epochs);
the browser that changed it gets a fresh session. Token and password routes are session-only: an API
token can neither mint tokens nor change the password.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebot.appkeys import AUDIT, CURRENT_USER, LOGIN_LIMIT, LOGIN_SESSIONS, SETTINGS, TOKENS, USERS
from voicebot.store.errors import Invalid
from voicebot.store.logins import LoginSession
from voicebot.store.tokens import SCOPES, ApiToken
from voicebot.store.users import User
from voicebot.web.auth import set_session_cookie, start_session
from voicebot.web.render import render
from voicebot.web.security import ACCOUNT_PAGE, admin_only, agents_too, http_error, session_only

routes = web.RouteTableDef()


def token_days(request: web.Request, raw: Any) -> int:
    """The lifetime a new token asked for (days), the configured default if it did not ask."""
    web_settings = request.app[SETTINGS].web
    if raw in (None, ""):
        return web_settings.api_token_days
    try:
        days = int(raw)
    except (TypeError, ValueError) as exc:
        raise Invalid("days: a whole number") from exc
    if isinstance(raw, bool) or not 1 <= days <= web_settings.api_token_max_days:
        raise Invalid(f"days: 1..{web_settings.api_token_max_days}")
    return days


async def change_password(request: web.Request, current: str, new: str) -> LoginSession:
    """Check and set the new password; the new session for this browser (give it with set_session_cookie)."""
    app, user = request.app, request[CURRENT_USER]
    address = request.remote or "unknown"
    # a stolen session must not become a way to guess the password at full speed
    if not await app[LOGIN_LIMIT].attempt(user.name, address):
        raise http_error(request, web.HTTPTooManyRequests, "too many attempts; wait a minute")
    if await app[USERS].verify(user.name, current) is None:
        await app[AUDIT].record(user.name, "user.password_failed", f"user:{user.name}", address)
        raise Invalid("current password: wrong")
    await app[LOGIN_LIMIT].succeeded(user.name, address)
    if new == current:
        raise Invalid("new password: must differ from the current one")
    await app[USERS].set_password(user.name, new)
    await app[LOGIN_SESSIONS].delete_for_user(user.name)
    await app[TOKENS].revoke_all(user.name)
    await app[AUDIT].record(user.name, "user.password", f"user:{user.name}", "other sessions and tokens ended")
    return await start_session(request, await app[USERS].require(user.name))


async def issue_token(request: web.Request, user: User, scope: str, days: Any, label: str) -> tuple[str, ApiToken]:
    secret, token = await request.app[TOKENS].issue(user.name, scope=scope, days=token_days(request, days),
                                                    label=label.strip())
    await request.app[AUDIT].record(user.name, "token.issue", f"user:{user.name}",
                                    f"id {token.id}, scope {token.scope}")
    return secret, token


# -- pages -------------------------------------------------------------------------------------------

async def _page(request: web.Request, *, error: str = "", new_token: str = "", status: int = 200) -> web.Response:
    user = request[CURRENT_USER]
    tokens = [] if user.must_change_password else await request.app[TOKENS].list(user.name)
    scopes = SCOPES[: SCOPES.index(user.role) + 1]
    return render(request, "account.html", status=status, error=error, new_token=new_token, tokens=tokens,
                  scopes=scopes, changed=request.query.get("changed") == "1",
                  days=request.app[SETTINGS].web.api_token_days, max_days=request.app[SETTINGS].web.api_token_max_days)


@routes.get(ACCOUNT_PAGE)
@agents_too
@session_only
async def account_page(request: web.Request) -> web.Response:
    return await _page(request)


@routes.post("/account/password")
@agents_too
@session_only
async def password_form(request: web.Request) -> web.Response:
    form = await request.post()
    new = str(form.get("new", ""))
    try:
        if new != str(form.get("again", "")):
            raise Invalid("the new passwords differ")
        session = await change_password(request, str(form.get("current", "")), new)
    except Invalid as exc:
        return await _page(request, error=str(exc), status=422)
    resp = web.HTTPSeeOther(f"{ACCOUNT_PAGE}?changed=1")
    set_session_cookie(request, resp, session)
    raise resp


@routes.post("/account/tokens")
@agents_too
@session_only
async def token_form(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        secret, _ = await issue_token(request, request[CURRENT_USER], str(form.get("scope", "")), form.get("days"),
                                 str(form.get("label", "")))
    except Invalid as exc:
        return await _page(request, error=str(exc), status=422)
    return await _page(request, new_token=secret, status=201)


@routes.post("/account/tokens/{token_id}/revoke")
@agents_too
@session_only
async def revoke_form(request: web.Request) -> web.Response:
    await revoke_token(request, request[CURRENT_USER].name, request.match_info["token_id"])
    raise web.HTTPSeeOther(ACCOUNT_PAGE)


@routes.post("/admin/users/{name}/tokens/{token_id}/revoke")
@admin_only
@session_only
async def admin_revoke_form(request: web.Request) -> web.Response:
    await revoke_token(request, request.match_info["name"], request.match_info["token_id"])
    raise web.HTTPSeeOther("/admin/users")


async def revoke_token(request: web.Request, name: str, token_id: str) -> None:
    await request.app[TOKENS].revoke(name, token_id)
    await request.app[AUDIT].record(request[CURRENT_USER].name, "token.revoke", f"user:{name}", f"id {token_id}")
