"""Issue 16, web accounts: API tokens, login limits, sessions after a password change, redirects, passwords.

Every test replays what the attacker (or careless user) did in the report against the real app on a real
port and real Redis, and asserts what they would see now.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.web.conftest import PASSWORDS, Client
from voicebot.app import create_app
from voicebot.appkeys import USERS
from voicebot.config import Settings

NEW_PASSWORD = "a quite new passphrase 7"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_token(client: Client, **body) -> dict:
    async with client.http.post(client.url("/api/tokens"), json=body, headers=client.headers()) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def whoami(base: str, token: str) -> tuple[int, str | None]:
    async with aiohttp.ClientSession() as script, script.get(base + "/api/me", headers=bearer(token)) as r:
        return r.status, (await r.json()).get("role") if r.status == 200 else None


async def from_address(base: str, address: str) -> Client:
    """A browser on another machine: the connection comes from `address` (any 127.x works on loopback)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    return Client(aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)), base)


# -- finding 3: API tokens outlive their user ------------------------------------------------------------

async def test_token_dies_with_password_change_role_change_and_deletion(make_client) -> None:
    admin, sup = await make_client("admin"), await make_client("sup")
    token = (await new_token(sup))["token"]
    assert await whoami(sup.base, token) == (200, "supervisor")
    # logout ends the browser session only: a token is a separate credential for scripts
    async with sup.http.post(sup.url("/logout"), data={"csrf": sup.csrf}, allow_redirects=False) as r:
        assert r.status == 303
    assert (await whoami(sup.base, token))[0] == 200

    # 1. the user changes their password
    await sup.login("sup")
    async with sup.http.post(sup.url("/api/me/password"), headers=sup.headers(),
                             json={"current": PASSWORDS["sup"], "new": NEW_PASSWORD}) as r:
        assert r.status == 200, await r.text()
        sup.csrf = (await r.json())["csrf"]
    assert await whoami(sup.base, token) == (401, None)

    # 2. an admin changes the user's role
    token = (await new_token(sup))["token"]
    async with admin.http.patch(admin.url("/api/users/sup"), json={"role": "admin"}, headers=admin.headers()) as r:
        assert r.status == 200 and (await r.json())["role"] == "admin"
    assert await whoami(sup.base, token) == (401, None)

    # 3. the user is deleted and created again as admin: the old supervisor token must not act as admin
    async with admin.http.patch(admin.url("/api/users/sup"), json={"role": "supervisor"},
                                headers=admin.headers()) as r:
        assert r.status == 200
    sup = await make_client()
    assert (await sup.login("sup", NEW_PASSWORD)).status == 303
    old = (await new_token(sup))["token"]
    async with admin.http.delete(admin.url("/api/users/sup"), headers=admin.headers()) as r:
        assert r.status == 200
    async with admin.http.post(admin.url("/api/users"), headers=admin.headers(),
                               json={"name": "sup", "password": "brand new admin pw", "role": "admin"}) as r:
        assert r.status == 201
    assert await whoami(sup.base, old) == (401, None)
    async with aiohttp.ClientSession() as script:
        async with script.get(admin.url("/api/users"), headers=bearer(old)) as r:
            assert r.status == 401


async def test_token_expiry_scope_and_no_minting(make_client, redis_client, redis_prefix, settings) -> None:
    admin, sup = await make_client("admin"), await make_client("sup")
    issued = await new_token(sup, label="nightly export")
    token, token_id = issued["token"], issued["id"]
    # it expires: the default lifetime, and Redis forgets it then
    assert issued["scope"] == "supervisor"
    lifetime = issued["expires_at"] - issued["created_at"]
    assert lifetime == pytest.approx(settings.web.api_token_days * 86400, abs=5)
    keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}apitoken:*")]
    assert len(keys) == 1 and 0 < await redis_client.ttl(keys[0]) <= settings.web.api_token_days * 86400
    assert token not in str(await redis_client.hgetall(keys[0]))  # only its hash is stored
    await redis_client.hset(keys[0], "expires_at", str(time.time() - 1))  # as if its day had come
    assert await whoami(sup.base, token) == (401, None)

    async with sup.http.post(sup.url("/api/tokens"), json={"days": settings.web.api_token_max_days + 1},
                             headers=sup.headers()) as r:
        assert r.status == 422 and "days" in (await r.json())["error"]
    # a scope is at most the user's role
    async with sup.http.post(sup.url("/api/tokens"), json={"scope": "admin"}, headers=sup.headers()) as r:
        assert r.status == 422 and "scope" in (await r.json())["error"]
    narrow = (await new_token(admin, scope="supervisor"))["token"]
    assert await whoami(admin.base, narrow) == (200, "supervisor")
    read_only = (await new_token(admin, scope="read"))["token"]
    async with aiohttp.ClientSession() as script:
        async with script.get(admin.url("/api/users"), headers=bearer(narrow)) as r:
            assert r.status == 403
        async with script.get(admin.url("/api/calls"), headers=bearer(read_only)) as r:
            assert r.status == 200
        async with script.post(admin.url("/api/calls/x/csat"), json={"score": 3}, headers=bearer(read_only)) as r:
            assert r.status == 403 and "read-only" in (await r.json())["error"]
        # a token cannot mint more tokens, nor list or revoke them, nor change the password
        full = (await new_token(admin))["token"]
        for method, path in (("POST", "/api/tokens"), ("GET", "/api/tokens"), ("DELETE", f"/api/tokens/{token_id}"),
                             ("POST", "/api/me/password")):
            async with script.request(method, admin.url(path), json={}, headers=bearer(full)) as r:
                assert r.status == 403, (method, path, r.status)
        assert (await whoami(admin.base, full))[1] == "admin"  # the token itself is fine


async def test_tokens_are_listed_and_revocable_by_their_user_and_admins(make_client) -> None:
    admin, sup = await make_client("admin"), await make_client("sup")
    first, second = await new_token(sup, label="crm sync"), await new_token(sup, label="report")
    async with sup.http.get(sup.url("/api/tokens")) as r:
        listed = (await r.json())["tokens"]
    assert {t["label"] for t in listed} == {"crm sync", "report"}
    assert all("token" not in t and first["token"] not in str(t) for t in listed)  # never the secret again
    async with sup.http.get(sup.url("/account")) as r:
        page = await r.text()
    assert "crm sync" in page and f"/account/tokens/{first['id']}/revoke" in page

    async with sup.http.delete(sup.url(f"/api/tokens/{first['id']}"), headers=sup.headers()) as r:
        assert r.status == 200
    assert (await whoami(sup.base, first["token"]))[0] == 401
    async with sup.http.delete(sup.url(f"/api/tokens/{first['id']}"), headers=sup.headers()) as r:
        assert r.status == 404

    # an admin sees every user's tokens on the users page and can revoke them there
    async with admin.http.get(admin.url("/api/users/sup/tokens")) as r:
        assert [t["id"] for t in (await r.json())["tokens"]] == [second["id"]]
    async with admin.http.get(admin.url("/admin/users")) as r:
        assert f"/admin/users/sup/tokens/{second['id']}/revoke" in await r.text()
    async with admin.http.post(admin.url(f"/admin/users/sup/tokens/{second['id']}/revoke"),
                               data={"csrf": admin.csrf}, allow_redirects=False) as r:
        assert r.status == 303
    assert (await whoami(sup.base, second["token"]))[0] == 401
    async with admin.http.get(admin.url("/api/audit")) as r:
        actions = [e["action"] for e in (await r.json())["entries"]]
    assert actions.count("token.revoke") == 2 and actions.count("token.issue") == 2


# -- findings 4 and 5: login rate limit ----------------------------------------------------------------

async def test_parallel_wrong_passwords_are_mostly_refused_before_checking(make_client, settings) -> None:
    c = await make_client()
    assert (await c.login("sup", "not the password")).status == 401  # the form's CSRF cookie is set now
    async with c.http.get(c.url("/login")) as r:
        csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]

    async def attempt(i: int) -> int:
        async with c.http.post(c.url("/login"), allow_redirects=False, data={
                "name": "sup", "password": f"wrong password {i}", "csrf": csrf}) as r:
            return r.status

    statuses = await asyncio.gather(*(attempt(i) for i in range(40)))
    assert statuses.count(401) == settings.web.login_attempts_per_minute - 1, statuses
    assert statuses.count(429) == 40 - statuses.count(401), statuses


@pytest.fixture
async def tight_server(settings: Settings, redis_client) -> AsyncIterator[TestServer]:
    """The app with a small per-address budget, so the test need not send 30 attempts."""
    web_settings = settings.web.model_copy(update={"login_attempts_per_address_per_minute": 8})
    app = create_app(settings.model_copy(update={"web": web_settings}), load_models=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    await app[USERS].add("admin", PASSWORDS["admin"], "admin")
    await app[USERS].add("sup", PASSWORDS["sup"], "supervisor")
    yield server
    await server.close()


async def test_nobody_can_lock_the_admin_out(tight_server, settings) -> None:
    base = str(tight_server.make_url("")).rstrip("/")
    attacker, admin_desk, other_desk = [await from_address(base, a) for a in ("127.0.0.3", "127.0.0.4", "127.0.0.4")]
    try:
        for _ in range(settings.web.login_attempts_per_minute):
            assert (await attacker.login("admin", "guessing wrong")).status == 401
        assert (await attacker.login("admin")).status == 429  # the attacker's own bucket is full...
        assert (await admin_desk.login("admin")).status == 303  # ...the real admin elsewhere logs in
        # one address guessing many names runs into its per-address budget (8 here)
        for name in ("sup", "ewa", "jan"):
            assert (await attacker.login(name, "guessing wrong")).status == 401
        assert (await attacker.login("sup")).status == 429
        assert (await other_desk.login("sup")).status == 303
    finally:
        for c in (attacker, admin_desk, other_desk):
            await c.http.close()


async def test_failed_logins_are_in_the_audit_trail(make_client) -> None:
    anon = await make_client()
    assert (await anon.login("sup", "wrong password 1")).status == 401
    assert (await anon.login("nobody-here", "wrong password 2")).status == 401
    admin = await make_client("admin")
    async with admin.http.get(admin.url("/api/audit")) as r:
        failed = [e for e in (await r.json())["entries"] if e["action"] == "user.login_failed"]
    assert {e["target"] for e in failed} == {"user:sup", "user:nobody-here"}
    assert all(e["who"] == "127.0.0.1" for e in failed)  # the address tried; the name may be anyone's
    async with admin.http.get(admin.url("/admin/audit")) as r:
        assert "user.login_failed" in await r.text()


# -- finding 6: a password change ends the user's other sessions ------------------------------------------

async def test_password_change_ends_other_sessions(make_client) -> None:
    here, elsewhere = await make_client("sup"), await make_client("sup")
    async with here.http.post(here.url("/account/password"), allow_redirects=False, data={
            "csrf": here.csrf, "current": PASSWORDS["sup"], "new": NEW_PASSWORD, "again": NEW_PASSWORD}) as r:
        assert r.status == 303 and r.headers["Location"] == "/account?changed=1"
    async with elsewhere.http.get(elsewhere.url("/api/me")) as r:
        assert r.status == 401
    async with here.http.get(here.url("/account?changed=1")) as r:  # this browser carries on
        assert r.status == 200 and "Password changed" in await r.text()
    assert (await (await make_client()).login("sup")).status == 401  # the old password is gone
    assert (await (await make_client()).login("sup", NEW_PASSWORD)).status == 303


async def test_wrong_current_password_or_weak_new_one_changes_nothing(make_client) -> None:
    sup = await make_client("sup")
    for body, message in (({"current": "not it at all", "new": NEW_PASSWORD}, "current password"),
                          ({"current": PASSWORDS["sup"], "new": "1234567890123"}, "only digits")):
        async with sup.http.post(sup.url("/api/me/password"), json=body, headers=sup.headers()) as r:
            assert r.status == 422 and message in (await r.json())["error"]
    async with sup.http.get(sup.url("/api/me")) as r:
        assert r.status == 200  # still logged in, password unchanged
    assert (await (await make_client()).login("sup")).status == 303


async def test_role_change_and_deletion_end_sessions(make_client) -> None:
    admin, sup = await make_client("admin"), await make_client("sup")
    async with admin.http.patch(admin.url("/api/users/sup"), json={"role": "admin"}, headers=admin.headers()) as r:
        assert r.status == 200
    async with sup.http.get(sup.url("/api/me")) as r:
        assert r.status == 401  # logged in as a supervisor; must log in again to act as admin
    sup = await make_client("sup")
    async with admin.http.delete(admin.url("/api/users/sup"), headers=admin.headers()) as r:
        assert r.status == 200
    async with sup.http.get(sup.url("/api/me")) as r:
        assert r.status == 401
    async with admin.http.patch(admin.url("/api/users/admin"), json={"role": "supervisor"},
                                headers=admin.headers()) as r:
        assert r.status == 422  # not your own role: another admin must do it


# -- finding 9: open redirect after login -----------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/\t/evil.example/", "//evil.example/", "/\\evil.example/", "\\/evil.example/", "https://evil.example/",
    "javascript:alert(1)", "/\n/evil.example", " //evil.example", "/ /evil.example", "http:evil.example",
])
async def test_login_never_redirects_to_another_site(make_client, target) -> None:
    c = await make_client()
    async with c.http.get(c.url("/login"), params={"next": target}) as r:
        page = await r.text()
    assert 'name="next" value="/"' in page
    async with c.http.get(c.url("/login")) as r:
        csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
    async with c.http.post(c.url("/login"), allow_redirects=False, data={
            "name": "sup", "password": PASSWORDS["sup"], "csrf": csrf, "next": target}) as r:
        assert r.status == 303 and r.headers["Location"] == "/"


async def test_login_keeps_a_local_next(make_client) -> None:
    c = await make_client()
    async with c.http.get(c.url("/supervisor/calls?q=a%20b&transferred=yes")) as r:  # sent to the login page
        target = html.unescape((await r.text()).split('name="next" value="')[1].split('"')[0])
    async with c.http.get(c.url("/login")) as r:
        csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
    async with c.http.post(c.url("/login"), allow_redirects=False, data={
            "name": "sup", "password": PASSWORDS["sup"], "csrf": csrf, "next": target}) as r:
        assert r.headers["Location"] == "/supervisor/calls?q=a%20b&transferred=yes"


# -- finding 11: password policy ---------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "message"), [
    (" " * 10, "at least 12 characters"),
    (" " * 14, "only spaces"),
    ("1234567890", "at least 12 characters"),
    ("123456789012", "only digits"),
    ("password1234", "too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "different characters"),
    ("x" * 1_500_000, "at most 256 characters"),
])
async def test_weak_or_huge_passwords_are_refused_with_a_clear_message(make_client, password, message) -> None:
    admin = await make_client("admin")
    async with admin.http.post(admin.url("/api/users"), headers=admin.headers(),
                               json={"name": "bob", "password": password, "role": "supervisor"}) as r:
        assert r.status == 422
        assert message in (await r.json())["error"]


async def test_a_huge_password_at_login_is_not_hashed(make_client) -> None:
    c = await make_client()
    started = time.monotonic()
    assert (await c.login("sup", "y" * 1_500_000)).status == 401
    assert time.monotonic() - started < 5  # argon2 over 1.5 MB would take far longer (under load: generous)


# -- finding 15: the first login forces a password change ----------------------------------------------------

async def test_a_reset_password_must_be_changed_before_anything_else(make_client) -> None:
    admin = await make_client("admin")
    async with admin.http.patch(admin.url("/api/users/sup"), json={"password": "temporary pass 42"},
                                headers=admin.headers()) as r:
        assert r.status == 200 and (await r.json())["must_change_password"] is True
    sup = await make_client()
    r = await sup.login("sup", "temporary pass 42")
    assert r.status == 303 and r.headers["Location"] == "/account"
    async with sup.http.get(sup.url("/supervisor/calls"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/account"
    async with sup.http.get(sup.url("/api/calls")) as r:
        assert r.status == 403 and "new password" in (await r.json())["error"]
    async with sup.http.post(sup.url("/api/tokens"), headers=sup.headers()) as r:
        assert r.status == 403
    async with sup.http.get(sup.url("/account")) as r:
        assert "Choose a new password" in await r.text()
    async with sup.http.post(sup.url("/api/me/password"), headers=sup.headers(),
                             json={"current": "temporary pass 42", "new": NEW_PASSWORD}) as r:
        assert r.status == 200
        sup.csrf = (await r.json())["csrf"]
    async with sup.http.get(sup.url("/api/calls")) as r:
        assert r.status == 200
