"""Accounts and security: login, roles, CSRF on every state-changing route, headers, rate limit, sessions."""

import re

import aiohttp
import pytest

from voicebot.web.security import SELF_AUTHENTICATING_PREFIXES, UNSAFE_METHODS

SAMPLE = {"flow_id": "customer_service", "lang": "en", "call_id": "call-x", "name": "nobody", "version": "1",
          "token_id": "0123456789ab", "callback_id": "0123456789abcdef"}


def unsafe_routes(app) -> list[tuple[str, str, bool]]:
    """(method, path, admin only) of every state-changing route the app has, public ones excluded."""
    out = []
    for route in app.router.routes():
        if route.method not in UNSAFE_METHODS:
            continue
        access = getattr(route.handler, "_voicebot_access", "user")
        if access == "public" or route.resource.canonical.startswith(SELF_AUTHENTICATING_PREFIXES):
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: SAMPLE[m.group(1)], route.resource.canonical)
        out.append((route.method, path, access == "admin"))
    return out


async def test_every_state_changing_route_needs_csrf(web_server, make_client) -> None:
    routes = unsafe_routes(web_server.app)
    assert len(routes) >= 10, routes  # the editor, publish, rollback, users, tokens, csat, logout...
    admin = await make_client("admin")
    for method, path, _ in routes:
        async with admin.http.request(method, admin.url(path), json={}) as r:
            assert r.status == 403, (method, path, r.status)
            assert "CSRF" in await r.text()
        async with admin.http.request(method, admin.url(path), json={},
                                      headers={"X-CSRF-Token": "forged"}) as r:
            assert r.status == 403, (method, path, r.status)
    # the same session with its token gets through the CSRF check (whatever the handler then says)
    async with admin.http.post(admin.url("/api/calls/call-x/csat"), json={"score": 4}, headers=admin.headers()) as r:
        assert r.status == 404  # no such call: reached the handler


async def test_supervisor_cannot_change_admin_things(web_server, make_client) -> None:
    sup = await make_client("sup")
    for method, path, admin_only in unsafe_routes(web_server.app):
        if not admin_only:
            continue
        async with sup.http.request(method, sup.url(path), json={}, headers=sup.headers()) as r:
            assert r.status == 403, (method, path, r.status)
    for page in ("/admin/flows", "/admin/flows/customer_service/en", "/admin/audit", "/api/users", "/api/audit"):
        async with sup.http.get(sup.url(page)) as r:
            assert r.status == 403, page
    async with sup.http.get(sup.url("/supervisor/calls")) as r:
        assert r.status == 200


async def test_anonymous_is_sent_to_login_and_api_says_401(make_client) -> None:
    anon = await make_client()
    async with anon.http.get(anon.url("/supervisor/calls"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"].startswith("/login?next=/supervisor/calls")
    async with anon.http.get(anon.url("/api/calls")) as r:
        assert r.status == 401 and (await r.json())["error"]
    async with anon.http.get(anon.url("/api/openapi.json")) as r:
        assert r.status == 200
    async with anon.http.get(anon.url("/health")) as r:
        assert r.status == 200


async def test_login_wrong_password_rate_limit_and_logout(make_client, settings) -> None:
    c = await make_client()
    r = await c.login("sup", "wrong-password")
    assert r.status == 401 and "Wrong user name or password" in await r.text()
    r = await c.login("ghost", "whatever-password")
    assert r.status == 401
    for _ in range(settings.web.login_attempts_per_minute):
        await c.login("sup", "wrong-password")
    r = await c.login("sup")  # even the right password is refused while blocked
    assert r.status == 429 and "Too many" in await r.text()
    other = await make_client()
    # the bucket is per (user name, address): another user from the same address still gets in
    assert (await other.login("admin")).status == 303


async def test_login_form_needs_its_csrf_cookie(make_client) -> None:
    c = await make_client()
    async with c.http.post(c.url("/login"), data={"name": "sup", "password": "supervisor-pass-123",
                                                  "csrf": "made-up"}, allow_redirects=False) as r:
        assert r.status == 403


async def test_session_cookie_logout_and_expiry(make_client, redis_client, redis_prefix, settings) -> None:
    c = await make_client("sup")
    cookie = next(m for m in c.http.cookie_jar if m.key == "vb_session")
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    ttl = await redis_client.ttl(f"{redis_prefix}session:{cookie.value}")
    assert 0 < ttl <= settings.web.session_ttl_secs
    async with c.http.post(c.url("/logout"), data={"csrf": c.csrf}, allow_redirects=False) as r:
        assert r.status == 303
    assert not await redis_client.exists(f"{redis_prefix}session:{cookie.value}")
    stale = aiohttp.ClientSession(cookies={"vb_session": cookie.value})
    try:
        async with stale.get(c.url("/api/me")) as r:
            assert r.status == 401
    finally:
        await stale.close()


async def test_security_headers(make_client) -> None:
    c = await make_client("sup")
    for path in ("/login", "/supervisor", "/api/calls", "/nonexistent"):
        async with c.http.get(c.url(path)) as r:
            csp = r.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
            assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    async with c.http.get(c.url("/supervisor")) as r:
        html = await r.text()
    assert "<script>" not in html and "onclick" not in html  # no inline script (CSP would block it)


async def test_passwords_are_hashed_with_argon2(web_server, redis_client, redis_prefix) -> None:
    stored = await redis_client.hget(f"{redis_prefix}user:sup", "password")
    assert stored.startswith("$argon2") and "supervisor-pass-123" not in stored


async def test_api_token_for_scripts(make_client) -> None:
    admin = await make_client("admin")
    async with admin.http.post(admin.url("/api/tokens"), headers=admin.headers()) as r:
        token = (await r.json())["token"]
    async with aiohttp.ClientSession() as script:
        async with script.get(admin.url("/api/me"), headers={"Authorization": f"Bearer {token}"}) as r:
            assert (await r.json())["name"] == "admin"
        async with script.get(admin.url("/api/me"), headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
        # no cookie is involved, so no CSRF token is needed
        async with script.post(admin.url("/api/users"), headers={"Authorization": f"Bearer {token}"},
                               json={"name": "newsup", "password": "long-enough-pw", "role": "supervisor"}) as r:
            assert r.status == 201


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"name": "x", "password": "long-enough-pw", "role": "supervisor"}, 422, "name"),  # name too short
    ({"name": "bob", "password": "short", "role": "supervisor"}, 422, "password"),
    # not what the API's schema allows: 400 naming the field
    ({"name": "bob", "password": "long-enough-pw", "role": "root"}, 400, "role:"),
    ({"name": "sup", "password": "long-enough-pw", "role": "admin"}, 409, "sup"),
    ({"name": "bob"}, 400, "password: Field required"),
    ({"name": "bob", "password": "long-enough-pw", "role": "supervisor", "rol": "admin"}, 400, "rol:"),
])
async def test_bad_user_input_gets_a_clear_error(make_client, body, status, says) -> None:
    admin = await make_client("admin")
    async with admin.http.post(admin.url("/api/users"), json=body, headers=admin.headers()) as r:
        assert r.status == status
        assert says in (await r.json())["error"]


async def test_websocket_from_another_origin_is_refused(make_client) -> None:
    sup = await make_client("sup")
    try:
        async with sup.http.ws_connect(sup.url("/supervisor/live/ws"), origin="http://evil.example"):
            raise AssertionError("cross-origin websocket accepted")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 403
    async with sup.http.ws_connect(sup.url("/supervisor/live/ws"), origin=sup.base) as ws:
        assert (await ws.receive_json(timeout=5))["event"] == "snapshot"


async def test_phone_switch_callbacks_are_left_to_their_own_checks(settings, redis_client) -> None:
    """Twilio and the Asterisk dialplan cannot log in: their routes check signatures/peers themselves."""
    from aiohttp.test_utils import TestClient, TestServer

    from voicebot.app import create_app

    async def other(request):
        return aiohttp.web.Response(text="reached")

    from telephony.twilio_signature import signature

    twilio = settings.twilio.model_copy(update={"enabled": True, "auth_token": "tw-token"})
    app = create_app(settings.model_copy(update={"twilio": twilio}), load_models=False)
    app.router.add_post("/api/other", other)
    async with TestClient(TestServer(app)) as c:
        form = {"CallSid": "CA" + "0" * 32, "From": "+48600100200"}
        signed = {"X-Twilio-Signature": signature(str(c.make_url("/twilio/voice")), form, "tw-token")}
        voice = await c.post("/twilio/voice", data=form, headers=signed)
        assert voice.status == 200 and "<Connect" in await voice.text()  # TwiML, no login asked
        nxt = await c.get("/api/audiosocket/2d1f7a52-0c1e-4b7e-9a55-1f2e3d4c5b6a/next")
        assert nxt.status == 200 and (await nxt.text()).strip() == "queue"  # unknown call -> a human
        assert (await c.post("/api/other")).status == 401  # everything else still needs a login
