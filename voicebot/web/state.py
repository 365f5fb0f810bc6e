"""Per-process state of the web UI/API: stores, templates, the live relay, first-admin bootstrap."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.appkeys import (
    AUDIT,
    FLOW_CHECKER,
    FLOW_STORE,
    LIVE_HUB,
    LOGIN_LIMIT,
    REDIS,
    SESSIONS,
    SETTINGS,
    STORE_KEYS,
    TEMPLATES,
    USERS,
)
from voicebot.store.audit import AuditLog
from voicebot.store.flows import FlowStore
from voicebot.store.logins import LoginRateLimit, SessionStore
from voicebot.store.users import UserStore
from voicebot.web.flow_sync import follow_published_flows
from voicebot.web.flowcheck import FlowChecker, seed_flows
from voicebot.web.live import LiveHub, hub_ctx
from voicebot.web.render import make_templates

log = logging.getLogger(__name__)
BOOTSTRAP_ADMIN = "admin"


async def web_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after redis_ctx: everything here talks to the same Redis client."""
    settings, client, keys = app[SETTINGS], app[REDIS], app[STORE_KEYS]
    app[USERS] = UserStore(client, keys)
    app[SESSIONS] = SessionStore(client, keys, settings.web.session_ttl_secs)
    app[LOGIN_LIMIT] = LoginRateLimit(client, keys, settings.web.login_attempts_per_minute)
    app[AUDIT] = AuditLog(client, keys)
    app[FLOW_STORE] = FlowStore(client, keys)
    app[TEMPLATES] = make_templates()
    app[FLOW_CHECKER] = FlowChecker(settings)
    hub = LiveHub(client, keys)
    app[LIVE_HUB] = hub
    follow_published_flows(app)
    async for _ in hub_ctx(app, hub):
        yield


async def bootstrap_ctx(app: web.Application) -> AsyncIterator[None]:
    """`voicebot serve` only: import flow files, and create the first admin if there are no users.

    There is no default password: the first admin gets a random one, printed once on the console.
    """
    try:
        imported = await seed_flows(app[FLOW_STORE], app[SETTINGS])
        if imported:
            log.info("imported %d flow file(s) from %s into Redis", imported, app[SETTINGS].dialog.flows_dir)
    except Exception:  # the web UI must still start; the flow editor shows what is there
        log.exception("could not import flow files")
    users = app[USERS]
    if await users.count() == 0:
        password = secrets.token_urlsafe(12)
        await users.add(BOOTSTRAP_ADMIN, password, "admin")
        await app[AUDIT].record("system", "user.add", f"user:{BOOTSTRAP_ADMIN}", "first start: random password")
        print(f"voicebot: no web users existed; created user {BOOTSTRAP_ADMIN!r} (role admin) with password "
              f"{password}\nvoicebot: it is shown only now; change it with "
              f"`voicebot users add {BOOTSTRAP_ADMIN} --role admin --replace`", flush=True)
    yield
