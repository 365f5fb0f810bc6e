"""`voicebot users ...` from a shell, and the first start of `voicebot serve` with no users."""

import contextlib
import io
import logging
import os
import stat
import subprocess
import sys

import aiohttp
from aiohttp.test_utils import TestServer

from voicebot.app import create_app
from voicebot.appkeys import FLOW_STORE, USERS
from voicebot.config import PROJECT_ROOT
from voicebot.store.keys import Keys
from voicebot.store.tokens import TokenStore
from voicebot.store.users import UserStore


def voicebot(redis_prefix: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "VOICEBOT_REDIS_PREFIX": redis_prefix, "REDIS_URL": "redis://127.0.0.1:6379/0",
           "VOICEBOT_CONFIG": "/nonexistent.toml"}
    return subprocess.run([sys.executable, "-m", "voicebot", *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=env, timeout=60)


async def test_users_add_list_token_delete(redis_client, redis_prefix) -> None:
    r = voicebot(redis_prefix, "users", "add", "ewa", "--role", "supervisor", "--password-stdin",
                 stdin="correct horse battery\n")
    assert r.returncode == 0, r.stderr
    users = UserStore(redis_client, Keys(redis_prefix))
    user = await users.verify("ewa", "correct horse battery")
    assert user is not None and user.role == "supervisor"
    assert await users.verify("ewa", "wrong password!") is None

    r = voicebot(redis_prefix, "users", "add", "ewa", "--role", "admin", "--password-stdin", stdin="another pass 1\n")
    assert r.returncode == 1 and "already exists" in r.stderr  # no silent overwrite
    r = voicebot(redis_prefix, "users", "add", "jan", "--role", "admin", "--password-stdin", stdin="short\n")
    assert r.returncode == 1 and "at least 12 characters" in r.stderr
    r = voicebot(redis_prefix, "users", "add", "jan", "--role", "root", "--password-stdin", stdin="x" * 12)
    assert r.returncode == 2 and "invalid choice" in r.stderr

    r = voicebot(redis_prefix, "users", "list")
    assert r.stdout.split() == ["ewa", "supervisor"]
    tokens = TokenStore(redis_client, Keys(redis_prefix), users)
    r = voicebot(redis_prefix, "users", "token", "ewa", "--scope", "admin")
    assert r.returncode == 1 and "cannot issue a token with scope admin" in r.stderr  # never more than the role
    r = voicebot(redis_prefix, "users", "token", "ewa", "--scope", "read", "--days", "7", "--label", "nightly export")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    user, token = await tokens.authenticate(secret)
    assert user.name == "ewa" and token.read_only and 6.9 * 86400 < token.expires_at - token.created_at <= 7 * 86400
    r = voicebot(redis_prefix, "users", "tokens", "ewa")
    assert r.stdout.split("\t")[0] == token.id and "nightly export" in r.stdout
    r = voicebot(redis_prefix, "users", "revoke", "ewa", token.id)
    assert r.returncode == 0 and await tokens.authenticate(secret) is None
    secret = voicebot(redis_prefix, "users", "token", "ewa").stdout.strip()
    assert await tokens.authenticate(secret) is not None
    r = voicebot(redis_prefix, "users", "delete", "ewa")
    assert r.returncode == 0 and await users.get("ewa") is None and await tokens.authenticate(secret) is None


async def _start(app) -> tuple[TestServer, str]:
    """Start the app and return what it printed on stdout (the console of `voicebot serve`)."""
    server = TestServer(app, host="127.0.0.1")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        await server.start_server()
    return server, out.getvalue()


async def test_first_start_creates_an_admin_with_a_random_password(settings, redis_client, tmp_path, caplog) -> None:
    """Issue 16 finding 15: the one-time password goes to a 0600 file, not to the console or the log."""
    secret_file = tmp_path / "var" / "first-admin-password"
    settings = settings.model_copy(update={"web": settings.web.model_copy(
        update={"first_admin_password_file": str(secret_file)})})
    app = create_app(settings, load_models=False, bootstrap=True)
    caplog.set_level(logging.DEBUG)
    server, printed = await _start(app)
    try:
        assert "created user 'admin' (role admin)" in printed and str(secret_file) in printed, printed
        password = secret_file.read_text().strip()
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert password not in printed and password not in caplog.text
        user = await app[USERS].verify("admin", password)
        assert user is not None and user.must_change_password
        # flow files were imported as live version 1
        assert {(f.flow_id, f.lang, f.live) for f in await app[FLOW_STORE].list()} == {
            ("customer_service", "en", 1), ("customer_service", "pl", 1), ("callback", "en", 1), ("callback", "pl", 1)}
        async with aiohttp.ClientSession() as http:
            async with http.get(server.make_url("/health")) as r:
                assert r.status == 200
    finally:
        await server.close()
    # a second start finds the user and prints no password
    server2, printed = await _start(create_app(settings, load_models=False, bootstrap=True))
    await server2.close()
    assert "password" not in printed


async def test_privacy_purge_command(call_store, redis_prefix) -> None:
    import time

    await call_store.start_call("old-call")
    await call_store.start_call("new-call")
    await call_store.client.zadd(call_store.keys.calls_by_time, {"old-call": time.time() - 40 * 86400})
    await call_store.end_call("old-call", "contained")
    await call_store.end_call("new-call", "contained")
    r = voicebot(redis_prefix, "privacy", "purge", "--days", "30")
    assert r.returncode == 0 and "deleted 1 call(s) older than 30 days" in r.stdout, r.stderr
    assert await call_store.get_call("old-call") is None and await call_store.get_call("new-call") is not None
