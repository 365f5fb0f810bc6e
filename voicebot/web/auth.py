"""Login and logout. The login form is protected by a double-submit CSRF cookie (there is no session yet)."""

from __future__ import annotations

import hmac
import logging
import re
import secrets

from aiohttp import web

from voicebot.appkeys import AUDIT, CURRENT_LOGIN_SESSION, LOGIN_LIMIT, LOGIN_SESSIONS, SETTINGS, USERS
from voicebot.store.logins import LoginSession
from voicebot.store.users import User
from voicebot.web.render import render
from voicebot.web.security import ACCOUNT_PAGE, SESSION_COOKIE, agents_too, public

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LOGIN_CSRF_COOKIE = "vb_login_csrf"


# A path on this site: one "/", then no second "/" or "\\" (browsers read "//host" and "/\\host" as another
# site), and only URL characters, so no tab, newline or space that a browser would drop first.
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*")


def safe_next(target: str) -> str:
    """Where to go after login: only a path on this site, else "/". Browsers remove tabs and newlines
    from URLs, so "/<TAB>/evil.example/" would become "//evil.example/": anything unusual is refused."""
    return target if len(target) <= 2000 and _LOCAL_PATH.fullmatch(target) else "/"


def _login_page(request: web.Request, error: str = "", status: int = 200, name: str = "") -> web.Response:
    # Reuse the token of an open login form so two tabs (or a re-rendered error page) keep working.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = render(request, "login.html", status=status, error=error, login_csrf=token, name=name,
                  next=safe_next(request.query.get("next", "/")))
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
    address = request.remote or "unknown"
    if not await app[LOGIN_LIMIT].attempt(name, address):
        log.warning("login for %r from %s refused: too many attempts", name[:64], address)
        return _login_page(request, "Too many failed attempts; wait a minute and try again.", 429, name)
    user = await app[USERS].verify(name, password)
    if user is None:
        log.warning("failed login for %r from %s", name[:64], address)
        # who = the address: nobody is authenticated, and the name typed may be anyone's
        await app[AUDIT].record(address, "user.login_failed", f"user:{name[:64]}", "wrong user name or password")
        return _login_page(request, "Wrong user name or password.", 401, name)
    await app[LOGIN_LIMIT].succeeded(name, address)
    await app[AUDIT].record(user.name, "user.login", f"user:{user.name}", address)
    target = ACCOUNT_PAGE if user.must_change_password else safe_next(str(form.get("next", "/")))
    resp = web.HTTPSeeOther(target)
    set_session_cookie(request, resp, await start_session(request, user))
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise resp


async def start_session(request: web.Request, user: User) -> LoginSession:
    """A new session for `user` (login, or after the user's own password change): give it to the browser
    with set_session_cookie."""
    return await request.app[LOGIN_SESSIONS].create(user, await request.app[USERS].epoch(user.name))


def set_session_cookie(request: web.Request, resp: web.StreamResponse, session: LoginSession) -> None:
    web_settings = request.app[SETTINGS].web
    resp.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="Strict", path="/",
                    max_age=web_settings.session_ttl_secs, secure=web_settings.secure_cookies)


@routes.post("/logout")
@agents_too
async def logout(request: web.Request) -> web.Response:
    session = request.get(CURRENT_LOGIN_SESSION)
    if session:
        await request.app[LOGIN_SESSIONS].delete(session.token)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(SESSION_COOKIE, path="/")
    raise resp
