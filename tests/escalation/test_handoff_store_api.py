"""Handoff packages in the real Redis: stored, published on ch:handoffs, served by GET /api/handoffs/{id}."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from voicebot.app import create_app
from voicebot.appkeys import TOKENS, USERS
from voicebot.config import Settings
from voicebot.store.handoffs import HandoffStore
from voicebot.store.keys import Keys

PACKAGE = {
    "handoff_id": "0123456789abcdef", "call_id": "call-1", "caller_number": "+48500100200", "language": "pl",
    "reason": "explicit_request", "summary": "Klient +48500100200 dzwoni w sprawie: status zamówienia.",
    "slots": {"order_number": "12345"}, "transcript": [{"role": "caller", "text": "chcę z człowiekiem"}],
}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    app = create_app(settings, load_models=False)
    async with TestClient(TestServer(app)) as c:
        # The API sits behind the web login (voicebot.web.security): call it like an agent-desktop script.
        await app[USERS].add("agent", "agent-password-1", "supervisor")
        c.session.headers["Authorization"] = f"Bearer {(await app[TOKENS].issue('agent', days=1))[0]}"
        yield c


async def test_saved_package_is_published_and_served(client: TestClient, redis_client: aioredis.Redis,
                                                     redis_prefix: str) -> None:
    keys = Keys(redis_prefix)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(keys.channel_handoffs)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    store = HandoffStore(redis_client, keys)
    assert await store.save(PACKAGE) is True

    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    await pubsub.aclose()
    assert message is not None and json.loads(message["data"])["handoff_id"] == PACKAGE["handoff_id"]
    assert await redis_client.hget(keys.call("call-1"), "handoff_id") == PACKAGE["handoff_id"]
    assert 0 < await redis_client.ttl(keys.handoff(PACKAGE["handoff_id"])) <= 30 * 86400
    assert await store.recent_ids() == [PACKAGE["handoff_id"]]

    resp = await client.get(f"/api/handoffs/{PACKAGE['handoff_id']}")
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.json()
    assert body == PACKAGE
    assert "człowiekiem" in await resp.text()  # not \u-escaped


async def test_unknown_and_malformed_ids(client: TestClient) -> None:
    resp = await client.get("/api/handoffs/doesnotexist")
    assert resp.status == 404 and "doesnotexist" in (await resp.json())["error"]
    resp = await client.get("/api/handoffs/bad%20id%3B")
    assert resp.status == 400


async def test_package_written_during_outage_appears_when_redis_returns(redis_client: aioredis.Redis,
                                                                        redis_prefix: str) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2)
    store = HandoffStore(dead, Keys(redis_prefix))
    assert await store.save(PACKAGE) is False  # buffered, not lost
    assert len(store.buffer) == 1
    store.client = redis_client
    assert await asyncio.wait_for(store.buffer.flush(), 5) == 1
    assert await HandoffStore(redis_client, Keys(redis_prefix)).get(PACKAGE["handoff_id"]) == PACKAGE
