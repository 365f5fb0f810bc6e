"""The call store against a real Redis, including a Redis that goes away mid-call."""

import redis.asyncio as aioredis

from voicebot.store.calls import CallStore, TurnRecord
from voicebot.store.keys import Keys


async def test_call_and_turns_round_trip(call_store: CallStore) -> None:
    await call_store.start_call("c1", caller_number="+48500100200", language="pl")
    await call_store.add_turn("c1", TurnRecord(role="caller", text="gdzie jest moja paczka", asr_confidence=0.8))
    await call_store.add_turn("c1", TurnRecord(role="bot", text="Podaj numer zamówienia.", signals={"x": 0.1}))
    await call_store.end_call("c1", "contained")
    call = await call_store.get_call("c1")
    assert call and call["outcome"] == "contained" and call["caller_number"] == "+48500100200"
    turns = await call_store.turns("c1")
    assert [t.role for t in turns] == ["caller", "bot"]
    assert turns[0].asr_confidence == 0.8 and turns[1].signals == {"x": 0.1}
    assert "c1" in await call_store.recent_call_ids()


async def test_writes_survive_redis_outage(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    # A client pointed at a port where nothing listens plays "Redis is down".
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2)
    store = CallStore(dead, Keys(redis_prefix))
    await store.start_call("c2")
    await store.add_turn("c2", TurnRecord(role="caller", text="one"))
    await store.add_turn("c2", TurnRecord(role="caller", text="two"))
    assert len(store.buffer) == 3
    store.client = redis_client  # Redis is back
    assert await store.buffer.flush() == 3
    assert [t.text for t in await store.turns("c2")] == ["one", "two"]
