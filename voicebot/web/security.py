"""Who may do what: sessions/API tokens, roles, CSRF, security headers, domain errors -> HTTP.

Every route needs a logged-in user unless marked `@public`; `@admin_only` routes need role admin; the agent
role reaches only `@agents_too` routes;
`@session_only` routes (password, token management) refuse API tokens, so a token cannot mint tokens.
State-changing requests (POST/PUT/PATCH/DELETE) with a session cookie must carry the session's CSRF
token (form field `csrf` or header `X-CSRF-Token`); requests with an API token (`Authorization: Bearer`)
carry no cookie, so a third-party page cannot forge them and they need no CSRF token. A user who must
choose a new password (the first admin) reaches only PASSWORD_CHANGE_PATHS until they have.
Every answer, errors and crashes included, carries the security headers.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from yarl import URL

from voicebot.appkeys import CURRENT_LOGIN_SESSION, CURRENT_TOKEN, CURRENT_USER, LOGIN_SESSIONS, SETTINGS, TOKENS, USERS
from voicebot.store.errors import Conflict, Invalid, NotFound
from voicebot.store.users import User

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_COOKIE = "vb_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ACCESS_ATTR = "_voicebot_access"
_SESSION_ONLY_ATTR = "_voicebot_session_only"
ACCOUNT_PAGE = "/account"
PASSWORD_CHANGE_PATHS = frozenset({ACCOUNT_PAGE, "/account/password", "/api/me", "/api/me/password", "/logout"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# Endpoints called by phone switches, not by people: their handlers authenticate the caller themselves
# (Twilio: X-Twilio-Signature; Asterisk dialplan: audiosocket.allowed_peers), so no login or CSRF here.
SELF_AUTHENTICATING_PREFIXES = ("/twilio/", "/api/audiosocket/")


def public(handler: Any) -> Any:
    setattr(handler, _ACCESS_ATTR, "public")
    return handler


def agents_too(handler: Any) -> Any:
    """Open to the agent role as well (screen-pops, the callback worklist, their account); every other
    logged-in route is for supervisors and admins."""
    setattr(handler, _ACCESS_ATTR, "agent")
    return handler


def admin_only(handler: Any) -> Any:
    setattr(handler, _ACCESS_ATTR, "admin")
    return handler


def session_only(handler: Any) -> Any:
    """Needs a logged-in browser session: API tokens are refused (they cannot manage tokens or passwords)."""
    setattr(handler, _SESSION_ONLY_ATTR, True)
    return handler


def access_of(handler: Any) -> str:
    """"public", "admin", "agent" (any logged-in role) or "user" (supervisor or admin), as the markers above
    set it."""
    return getattr(handler, _ACCESS_ATTR, "user")


def is_session_only(handler: Any) -> bool:
    return getattr(handler, _SESSION_ONLY_ATTR, False)


def _access(request: web.Request) -> str:
    route = request.match_info.route
    if route.resource is None or isinstance(route.resource, web.StaticResource):
        return "public"  # CSS/JS, and 404/405 answers from the router
    if request.path.startswith(SELF_AUTHENTICATING_PREFIXES):
        return "public"
    return access_of(route.handler)


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def current_user(request: web.Request) -> User:
    return request[CURRENT_USER]


def http_error(request: web.Request, status: type[web.HTTPException], message: str,
               problems: list[tuple[int | None, str]] | None = None) -> web.HTTPException:
    if is_api(request) or request.headers.get("Accept", "").startswith("application/json"):
        body: dict[str, Any] = {"error": message}
        if problems:
            body["problems"] = [{"line": line, "message": msg} for line, msg in problems]
        return status(text=web.json_response(body).text, content_type="application/json")
    return status(text=f"{status.status_code} {message}\n", content_type="text/plain")


async def _identify(request: web.Request) -> None:
    app = request.app
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        found = await app[TOKENS].authenticate(auth.removeprefix("Bearer ").strip())
        if found is None:
            raise http_error(request, web.HTTPUnauthorized, "invalid, expired or revoked API token")
        request[CURRENT_USER], request[CURRENT_TOKEN] = found
        return
    token = request.cookies.get(SESSION_COOKIE, "")
    session = await app[LOGIN_SESSIONS].get(token) if token else None
    if session is None:
        return
    user = await app[USERS].get(session.user)
    # deleted since login, or password/role changed (in another browser, or by an admin)
    if user is None or session.epoch != await app[USERS].epoch(user.name):
        await app[LOGIN_SESSIONS].delete(session.token)
        return
    request[CURRENT_USER] = user
    request[CURRENT_LOGIN_SESSION] = session


async def _check_csrf(request: web.Request) -> None:
    session = request.get(CURRENT_LOGIN_SESSION)
    if session is None:  # API token: no cookie involved
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get("csrf", ""))
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise http_error(request, web.HTTPForbidden, "missing or wrong CSRF token; reload the page and try again")


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        _set_headers(exc)
        raise
    except Exception:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            raise  # its handshake was already sent: there is no answer left to give
        # aiohttp's own 500 page would go out without our headers; say little, log the rest.
        log.exception("unexpected error on %s %r", request.method, request.path)
        crash = http_error(request, web.HTTPInternalServerError, "internal error; it has been logged")
        _set_headers(crash)
        raise crash from None
    _set_headers(response)
    return response


def _set_headers(response: web.StreamResponse) -> None:
    if response.prepared:  # websockets / streamed responses already sent their headers
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = _access(request)
    if access == "public":
        return await _mapped(request, handler)
    await _identify(request)
    user = request.get(CURRENT_USER)
    if user is None:
        if is_api(request) or request.method not in ("GET", "HEAD"):
            raise http_error(request, web.HTTPUnauthorized, "log in first")
        # quoted, or "&" in the page's own query would end `next` early
        raise web.HTTPFound(URL("/login").with_query(next=request.rel_url.raw_path_qs))
    if access == "admin" and not user.is_admin:
        raise http_error(request, web.HTTPForbidden, "this page needs the admin role")
    if access == "user" and user.is_agent:
        raise http_error(request, web.HTTPForbidden, "this page needs the supervisor or admin role")
    if request.method in UNSAFE_METHODS:
        await _check_csrf(request)
    _check_token_limits(request)
    if user.must_change_password and request.path not in PASSWORD_CHANGE_PATHS:
        if is_api(request) or request.method not in ("GET", "HEAD"):
            raise http_error(request, web.HTTPForbidden, "choose a new password first (POST /api/me/password)")
        raise web.HTTPFound(ACCOUNT_PAGE)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        _check_ws_origin(request)
    return await _mapped(request, handler)


def _check_token_limits(request: web.Request) -> None:
    token = request.get(CURRENT_TOKEN)
    if token is None:
        return
    if is_session_only(request.match_info.route.handler):
        raise http_error(request, web.HTTPForbidden, "API tokens cannot do this (tokens and passwords); log in")
    if token.read_only and request.method in UNSAFE_METHODS:
        raise http_error(request, web.HTTPForbidden, "this API token is read-only (scope read)")


def metrics_allowed(request: web.Request) -> bool:
    """/metrics: the bearer token from web.metrics_token, or a direct peer inside web.metrics_allowed
    (forwarded headers are not trusted: behind a proxy, use the token)."""
    web_settings = request.app[SETTINGS].web
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if web_settings.metrics_token and hmac.compare_digest(sent.encode(), web_settings.metrics_token.encode()):
        return True
    try:
        ip = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in web_settings.metrics_allowed)


def check_metrics_access(request: web.Request) -> None:
    if not metrics_allowed(request):
        raise http_error(request, web.HTTPForbidden, "metrics are not public: use an allowed address or the token")


def _check_ws_origin(request: web.Request) -> None:
    """Websockets are opened with GET, so CSRF tokens do not apply: refuse pages from other origins
    (cross-site websocket hijacking would otherwise ride on the session cookie)."""
    origin = request.headers.get("Origin")
    if origin and URL(origin).host_port_subcomponent != request.url.host_port_subcomponent:
        raise http_error(request, web.HTTPForbidden, "websocket from another origin")


async def _mapped(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors from the stores become HTTP errors here, and only here."""
    try:
        return await handler(request)
    except NotFound as exc:
        raise http_error(request, web.HTTPNotFound, str(exc)) from exc
    except Invalid as exc:
        raise http_error(request, web.HTTPUnprocessableEntity, str(exc), exc.problems) from exc
    except Conflict as exc:
        raise http_error(request, web.HTTPConflict, str(exc)) from exc
