"""Per-process state of the web UI/API: stores, templates, the live relay, first-admin bootstrap."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from voicebot.appkeys import (
    AUDIT,
    DRAIN,
    FLOW_CHECKER,
    FLOW_STORE,
    LIVE_HUB,
    LOGIN_LIMIT,
    LOGIN_SESSIONS,
    REDIS,
    SETTINGS,
    STORE_KEYS,
    TEMPLATES,
    TOKENS,
    USERS,
)
from voicebot.store.audit import AuditLog
from voicebot.store.flows import FlowStore
from voicebot.store.logins import LoginRateLimit, LoginSessionStore
from voicebot.store.tokens import TokenStore
from voicebot.store.users import UserStore
from voicebot.web.flowcheck import FlowChecker, seed_flows
from voicebot.web.live import LiveHub, hub_ctx
from voicebot.web.render import make_templates

log = logging.getLogger(__name__)
BOOTSTRAP_ADMIN = "admin"


async def web_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after redis_ctx: everything here talks to the same Redis client."""
    settings, client, keys = app[SETTINGS], app[REDIS], app[STORE_KEYS]
    app[USERS] = UserStore(client, keys)
    app[TOKENS] = TokenStore(client, keys, app[USERS])
    app[LOGIN_SESSIONS] = LoginSessionStore(client, keys, settings.web.session_ttl_secs)
    app[LOGIN_LIMIT] = LoginRateLimit(client, keys, settings.web.login_attempts_per_minute,
                                      settings.web.login_attempts_per_address_per_minute)
    app[AUDIT] = AuditLog(client, keys)
    app[FLOW_STORE] = FlowStore(client, keys)
    app[TEMPLATES] = make_templates()
    app[FLOW_CHECKER] = FlowChecker(settings)
    hub = LiveHub(client, keys)
    app[LIVE_HUB] = hub
    async for _ in hub_ctx(app, hub):
        yield


async def bootstrap_ctx(app: web.Application) -> AsyncIterator[None]:
    """`voicebot serve` only: import flow files, and create the first admin if there are no users.

    There is no default password: the first admin gets a random one, written to a file only its owner can
    read (web.first_admin_password_file), never to the console or the log, which often end up in log
    collectors. The first login with it must choose a new password.
    """
    try:
        imported = await seed_flows(app[FLOW_STORE], app[SETTINGS])
        if imported:
            log.info("imported %d flow file(s) from %s into Redis", imported, app[SETTINGS].dialog.flows_dir)
    except Exception:  # the web UI must still start; the flow editor shows what is there
        log.exception("could not import flow files")
    users = app[USERS]
    # Workers started together on one fresh Redis: one of them (the first to claim it) creates the admin.
    if await users.count() == 0 and await app[REDIS].set(app[STORE_KEYS].job("first-admin"), app[DRAIN].worker,
                                                          nx=True, ex=300):
        password = secrets.token_urlsafe(12)
        path = app[SETTINGS].path(app[SETTINGS].web.first_admin_password_file)
        try:
            _write_private(path, password + "\n")
        except OSError as exc:  # no admin rather than an admin whose password nobody can read
            raise RuntimeError(f"cannot write the first admin's password to {path} ({exc}); set "
                               "web.first_admin_password_file to a writable path") from exc
        await users.add(BOOTSTRAP_ADMIN, password, "admin", must_change=True)
        await app[AUDIT].record("system", "user.add", f"user:{BOOTSTRAP_ADMIN}", "first start: random password")
        print(f"voicebot: no web users existed; created user {BOOTSTRAP_ADMIN!r} (role admin). Its one-time "
              f"password is in {path} (readable only by this account); the first login asks for a new one.",
              flush=True)
    yield


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a file with mode 0600 from the start (no moment where others could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file may have had looser bits
        os.write(fd, text.encode())
    finally:
        os.close(fd)
