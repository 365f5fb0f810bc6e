"""Login and logout. The login form is protected by a double-submit CSRF cookie (there is no session yet)."""

from __future__ import annotations

import hmac
import logging
import secrets

from aiohttp import web

from voicebot.appkeys import AUDIT, CURRENT_SESSION, LOGIN_LIMIT, SESSIONS, SETTINGS, USERS
from voicebot.web.render import render
from voicebot.web.security import SESSION_COOKIE, public

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LOGIN_CSRF_COOKIE = "vb_login_csrf"


def _safe_next(target: str) -> str:
    # Only local paths: never redirect to another site after login.
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _login_page(request: web.Request, error: str = "", status: int = 200, name: str = "") -> web.Response:
    # Reuse the token of an open login form so two tabs (or a re-rendered error page) keep working.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = render(request, "login.html", status=status, error=error, login_csrf=token, name=name,
                  next=_safe_next(request.query.get("next", "/")))
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                    secure=request.app[SETTINGS].web.secure_cookies)
    return resp


@routes.get("/login")
@public
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


@routes.post("/login")
@public
async def login(request: web.Request) -> web.Response:
    app = request.app
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    sent, cookie = str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not hmac.compare_digest(sent, cookie):
        return _login_page(request, "The form expired; please try again.", 403, name)
    who = (f"user:{name}", f"ip:{request.remote or 'unknown'}")
    if await app[LOGIN_LIMIT].blocked(*who):
        return _login_page(request, "Too many failed attempts; wait a minute and try again.", 429, name)
    user = await app[USERS].verify(name, password)
    if user is None:
        await app[LOGIN_LIMIT].failed(*who)
        log.warning("failed login for %r from %s", name, request.remote)
        return _login_page(request, "Wrong user name or password.", 401, name)
    session = await app[SESSIONS].create(user)
    await app[AUDIT].record(user.name, "user.login", f"user:{user.name}", request.remote or "")
    resp = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
    resp.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="Strict", path="/",
                    max_age=app[SETTINGS].web.session_ttl_secs, secure=app[SETTINGS].web.secure_cookies)
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise resp


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    session = request.get(CURRENT_SESSION)
    if session:
        await request.app[SESSIONS].delete(session.token)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(SESSION_COOKIE, path="/")
    raise resp
