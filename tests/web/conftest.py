"""The web app on an ephemeral port against the test's Redis prefix, plus logged-in HTTP clients."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from voicebot.app import create_app
from voicebot.appkeys import USERS
from voicebot.config import Settings
from voicebot.store.users import UserStore

PASSWORDS = {"admin": "admin-pass-123", "sup": "supervisor-pass-123", "agent": "agent-pass-12345"}


@dataclass
class Client:
    """An HTTP client with its own cookie jar (one browser), logged in or not."""

    http: aiohttp.ClientSession
    base: str
    csrf: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    async def login(self, name: str, password: str | None = None) -> aiohttp.ClientResponse:
        async with self.http.get(self.url("/login")) as r:
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert token, "login page has no CSRF field"
        resp = await self.http.post(self.url("/login"), data={
            "name": name, "password": password or PASSWORDS[name], "csrf": token.group(1)}, allow_redirects=False)
        if resp.status == 303:
            async with self.http.get(self.url("/api/me")) as me:
                self.csrf = (await me.json())["csrf"]
        return resp

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


@pytest.fixture
async def web_server(settings: Settings, redis_client) -> AsyncIterator[TestServer]:
    """The real app (no speech models) on 127.0.0.1:<ephemeral>, with an admin and a supervisor."""
    app = create_app(settings, load_models=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    users: UserStore = app[USERS]
    await users.add("admin", PASSWORDS["admin"], "admin")
    await users.add("sup", PASSWORDS["sup"], "supervisor")
    await users.add("agent", PASSWORDS["agent"], "agent")
    yield server
    await server.close()


@pytest.fixture
async def make_client(web_server: TestServer) -> AsyncIterator[Callable[[str | None], Awaitable[Client]]]:
    sessions: list[aiohttp.ClientSession] = []

    async def make(user: str | None = None) -> Client:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        client = Client(http, str(web_server.make_url("")).rstrip("/"))
        if user:
            resp = await client.login(user)
            assert resp.status == 303, await resp.text()
        return client

    yield make
    for s in sessions:
        await s.close()


@dataclass(frozen=True)
class SeedCall:
    call_id: str
    number: str
    language: str
    age_s: float  # started this long ago
    duration_s: float
    outcome: str
    reason: str = ""
    intent: str = "order_status"
    caller_text: str = "where is my parcel"
    signals: tuple[tuple[str, float], ...] = ()
    csat: int | None = None


SEED = (
    SeedCall("call-ok-1", "+48500100200", "en", 3 * 3600, 60, "contained", csat=5),
    SeedCall("call-repeat", "+48500100200", "en", 2 * 3600, 90, "contained", csat=3),
    SeedCall("call-angry", "+48600700800", "pl", 1800, 120, "transferred", "frustration", "complaint",
             "to jest skandal, trzeci raz dzwonię", (("negative_words", 0.45), ("loudness", 0.3))),
    SeedCall("call-human", "+44700900100", "en", 600, 30, "transferred", "explicit_request", "agent",
             "I want to talk to a person", (("explicit_request", 1.0),)),
)


async def seed_calls(store, calls=SEED) -> None:
    """Write calls the way a live call does (CallStore), then move their clock back."""
    import json
    import time

    from voicebot.store.calls import TurnRecord

    now = time.time()
    for c in calls:
        started = now - c.age_s
        await store.start_call(c.call_id, caller_number=c.number, language=c.language, flow_id="customer_service",
                               channel="sip")
        await store.add_turn(c.call_id, TurnRecord(role="bot", text="Hello, how can I help?", ts=started,
                                                   node="start", language=c.language))
        await store.add_turn(c.call_id, TurnRecord(role="caller", text=c.caller_text, ts=started + 5,
                                                   asr_confidence=0.82, language=c.language))
        transfer = c.outcome == "transferred"
        handoff_id = f"h-{c.call_id}" if transfer else ""
        await store.add_turn(c.call_id, TurnRecord(
            role="bot", text="Connecting you to a colleague." if transfer else "Your parcel arrives tomorrow.",
            ts=started + 6, intent=c.intent, confidence=0.91, node="handoff" if transfer else "order_info",
            action="transfer" if transfer else "end", reason=c.reason or None,
            frustration=0.8 if c.reason == "frustration" else 0.1, signals=dict(c.signals), language=c.language))
        if transfer:
            await store.client.set(store.keys.handoff(handoff_id), json.dumps({
                "handoff_id": handoff_id, "call_id": c.call_id, "reason": c.reason, "caller_number": c.number,
                "language": c.language, "summary": f"caller said: {c.caller_text}", "signals": dict(c.signals)}))
        await store.end_call(c.call_id, c.outcome, transfer_reason=c.reason, handoff_id=handoff_id,
                             last_node="handoff" if transfer else "order_info")
        fields = {"started_at": str(started), "ended_at": str(started + c.duration_s)}
        if c.csat is not None:
            fields["csat"] = str(c.csat)
        await store.client.hset(store.keys.call(c.call_id), mapping=fields)
        await store.client.zadd(store.keys.calls_by_time, {c.call_id: started})
