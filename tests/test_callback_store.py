"""Callback requests in Redis: open ones queue by due time, closed ones move out, a number can be forgotten."""

from __future__ import annotations

import time

from voicebot.store.callbacks import CallbackRequest, CallbackStore
from voicebot.store.keys import Keys


async def test_closing_moves_a_request_out_of_the_queue_and_a_number_can_be_forgotten(
        redis_client, redis_prefix) -> None:
    store = CallbackStore(redis_client, Keys(redis_prefix))
    now = time.time()
    mine = [CallbackRequest(number="48500100200", topic="complaint", preferred_time="", due=now - i) for i in (1, 2)]
    other = CallbackRequest(number="48600100200", topic="complaint", preferred_time="", due=now - 3)
    for r in (*mine, other):
        await store.add(r)
    assert {r.id for r in await store.due(now)} == {mine[0].id, mine[1].id, other.id}

    mine[1].status, mine[1].closed_at = "reached", now
    await store.save(mine[1])
    assert {r.id for r in await store.due(now)} == {mine[0].id, other.id}
    assert [r.id for r in await store.closed()] == [mine[1].id]

    assert await store.delete_closed_before(now - 1) == 0  # retention: closed just now, kept
    await store.attach_handoff(mine[0].id, "h-0123456789")
    assert (await store.get(mine[0].id)).handoff_id == "h-0123456789"  # type: ignore[union-attr]

    assert await store.delete_for_number("+48 500 100 200") == 2  # open and closed alike, however written
    assert [r.id for r in await store.due()] == [other.id] and await store.closed() == []
    assert await store.get(mine[0].id) is None


async def test_retention_forgets_requests_closed_long_ago_but_keeps_open_ones(redis_client, redis_prefix) -> None:
    store = CallbackStore(redis_client, Keys(redis_prefix))
    now = time.time()
    old = CallbackRequest(number="48500100200", topic="complaint", preferred_time="", due=now - 90 * 86400,
                          status="failed", closed_at=now - 60 * 86400)
    waiting = CallbackRequest(number="48500100201", topic="complaint", preferred_time="", due=now - 90 * 86400)
    for r in (old, waiting):
        await store.add(r)
    assert await store.delete_closed_before(now - 30 * 86400) == 1
    assert await store.get(old.id) is None and await store.get(waiting.id) is not None
