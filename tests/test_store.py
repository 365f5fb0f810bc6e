"""The call store against a real Redis, including a Redis that goes away mid-call."""

import asyncio
import time

import pytest
import redis
import redis.asyncio as aioredis

from tests.support.env import always_staffed
from voicebot.call_session import CallSession
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import BotReply, CallerSaid, CallInfo
from voicebot.escalation.handoff import handoff_writer
from voicebot.store.buffer import WriteBuffer, live_call_writes
from voicebot.store.calls import CallStore, TurnRecord
from voicebot.store.connection import connect
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


async def test_a_call_never_writes_into_a_record_it_did_not_create(call_store: CallStore) -> None:
    """A line whose ids come from outside (a Twilio callSid) names an existing call: its record stays intact."""
    await call_store.start_call("sip-1", caller_number="+48500100200", channel="sip")
    await call_store.add_turn("sip-1", TurnRecord(role="caller", text="where is my parcel"))
    await call_store.end_call("sip-1", "transferred", handoff_id="h-1", transfer_reason="explicit_request")
    before = await call_store.get_call("sip-1")

    await call_store.start_call("sip-1", caller_number="+1999", channel="twilio")
    await call_store.add_turn("sip-1", TurnRecord(role="caller", text="injected"))
    await call_store.update_call("sip-1", csat=1)
    await call_store.end_call("sip-1", "contained", handoff_id="", transfer_reason="")

    assert await call_store.get_call("sip-1") == before
    assert [t.text for t in await call_store.turns("sip-1")] == ["where is my parcel"]
    [other] = [c for c in await call_store.recent_call_ids() if c.startswith("sip-1-")]
    record = await call_store.get_call(other)
    assert record and record["channel"] == "twilio" and record["outcome"] == "contained"
    assert [t.text for t in await call_store.turns(other)] == ["injected"]


async def test_a_write_redis_keeps_refusing_is_dropped_and_the_queue_goes_on(
    redis_client: aioredis.Redis, redis_prefix: str, caplog
) -> None:
    store = CallStore(redis_client, Keys(redis_prefix))
    await store.start_call("c3")

    async def wrong_type() -> None:  # e.g. a key of the wrong type: Redis answers, and refuses, every time
        await redis_client.set(f"{redis_prefix}plain", "x")
        await redis_client.xadd(f"{redis_prefix}plain", {"a": "b"})

    with pytest.raises(redis.ResponseError):  # a writer that waits hears of it, as it always did
        await store.buffer.write("refused", wrong_type)
    with live_call_writes():  # a live call's writes: retried, then dropped, never raised
        await store.buffer.write("poisoned", wrong_type)
        await store.add_turn("c3", TurnRecord(role="caller", text="after the bad write"))
    flusher = asyncio.create_task(store.buffer.flush_forever(interval=0.05))
    try:
        for _ in range(100):
            if not len(store.buffer):
                break
            await asyncio.sleep(0.05)
        assert not flusher.done(), "the flusher died"
    finally:
        flusher.cancel()
    assert len(store.buffer) == 0 and store.buffer.dropped == 1
    assert [t.text for t in await store.turns("c3")] == ["after the bad write"]
    assert any("poisoned" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


async def test_the_flusher_outlives_an_unexpected_error(monkeypatch) -> None:
    buffer = WriteBuffer()
    calls = 0

    async def broken_flush() -> int:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug in a write closure")

    monkeypatch.setattr(buffer, "flush", broken_flush)
    flusher = asyncio.create_task(buffer.flush_forever(interval=0.01))
    await asyncio.sleep(0.2)
    assert not flusher.done() and calls >= 3
    flusher.cancel()


async def test_a_hung_redis_does_not_delay_the_reply(settings) -> None:
    """Redis accepts the connection and never answers (a hung server, not a refusing one)."""
    held: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await asyncio.Event().wait()  # read nothing, answer nothing, keep the connection open

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hung = connect(f"redis://127.0.0.1:{port}/0")  # the production client: 2 s socket timeout
    store = CallStore(hung, Keys("test:hung:"))
    engine = load_engine(always_staffed(settings))

    def session(call_id: str, store: CallStore | None) -> CallSession:
        info = CallInfo(call_id=call_id, caller_number="+48600100200", language="en")
        return CallSession(info, engine.new_session(info), store, write_handoff=handoff_writer(settings))

    # The same call without a store, turn by turn alongside: what the dialog itself takes (the machine
    # may be busy), so only what Redis adds is measured.
    hung_call, no_store = session("hung-1", store), session("hung-2", None)

    async def timed(call: CallSession, words: str | None) -> tuple[float, BotReply]:
        t0 = time.perf_counter()
        reply = await (call.begin() if words is None else
                       call.on_event(CallerSaid(words, language="en", asr_confidence=0.9)))
        return time.perf_counter() - t0, reply

    try:
        added = []
        for words in (None, "where is my order", "I want to talk to a person"):  # None: the greeting
            with_hung, reply = await timed(hung_call, words)
            added.append(with_hung - (await timed(no_store, words))[0])
        assert reply.action == "transfer" and reply.handoff_id  # the package is queued, not lost
        assert max(added) < 0.1, added
        assert len(store.buffer) >= 5  # everything waits for Redis in order
    finally:
        server.close()
        for w in held:
            w.close()
        await hung.aclose(close_connection_pool=True)
