"""Fault injection: Redis stopped mid-call and restarted, Redis refusing writes, the CRM down, the dialog
failing. The caller is always served or handed to a person, and every transcript turn ends up in Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from tests.escalation.conftest import OwnRedis
from voicebot.call_session import CallSession
from voicebot.config import Settings
from voicebot.dialog.crm_server import RunningCrm
from voicebot.dialog.loader import FlowEngine
from voicebot.dialog.types import BotReply, CallerSaid, CallInfo
from voicebot.escalation.handoff import handoff_writer
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect
from voicebot.store.handoffs import HandoffStore
from voicebot.store.keys import Keys

PREFIX = "fault:"


def new_call(engine: FlowEngine, settings: Settings, store: CallStore | None, call_id: str,
             lang: str = "pl") -> CallSession:
    info = CallInfo(call_id=call_id, caller_number="+48500100200", language=lang, flow_id="customer_service")
    return CallSession(info, engine.new_session(info), store, handoff_writer(settings))


async def say(session: CallSession, text: str) -> BotReply:
    return await session.on_event(CallerSaid(text, language=session.info.language, asr_confidence=0.9))


async def test_redis_stopped_mid_call_and_restarted_loses_no_turn(
        engine: FlowEngine, engine_settings: Settings, crm: RunningCrm, own_redis: OwnRedis) -> None:
    client = connect(own_redis.url)
    store = CallStore(client, Keys(PREFIX))
    session = new_call(engine, engine_settings, store, "outage-1")
    await session.begin()
    assert (await say(session, "Dzień dobry, gdzie jest moja paczka?")).action == "continue"

    own_redis.stop()  # Redis dies in the middle of the call
    reply = await say(session, "4 8 1 5 2")
    assert reply.action == "continue" and "48152" in reply.text.replace(" ", "")  # the CRM answer still comes
    reply = await say(session, "Kurwa, chcę rozmawiać z konsultantem")
    assert reply.action == "transfer" and reply.handoff_id  # the package is buffered, the id is known
    await session.finish()
    assert len(store.buffer) > 0

    own_redis.start()  # Redis is back with what it had, the buffer replays the rest in order
    while len(store.buffer):
        assert await store.buffer.flush() > 0
    turns = await store.turns("outage-1")
    assert [t.role for t in turns] == ["bot", "caller", "bot", "caller", "bot", "caller", "bot"]
    assert [t.text for t in turns if t.role == "caller"] == [
        "Dzień dobry, gdzie jest moja paczka?", "4 8 1 5 2", "Kurwa, chcę rozmawiać z konsultantem"]
    assert turns[-1].action == "transfer" and turns[-1].reason == "explicit_request"
    call = await store.get_call("outage-1")
    assert call and call["outcome"] == "transferred" and call["handoff_id"] == reply.handoff_id
    package = await HandoffStore(client, Keys(PREFIX)).get(reply.handoff_id)
    assert package and package["slots"]["order_number"] == "48152"
    await client.aclose()


async def test_redis_refusing_writes_still_transfers_the_caller(
        engine: FlowEngine, engine_settings: Settings, crm: RunningCrm, own_redis: OwnRedis) -> None:
    # Out of memory: Redis answers every write with an error instead of dropping the connection.
    admin = aioredis.Redis.from_url(own_redis.url)
    await admin.config_set("maxmemory", "1")
    await admin.config_set("maxmemory-policy", "noeviction")
    client = connect(own_redis.url)
    session = new_call(engine, engine_settings, CallStore(client, Keys(PREFIX)), "oom-1")
    greeting = await session.begin()
    assert greeting.action == "continue"
    reply = await say(session, "Chcę rozmawiać z konsultantem")
    assert reply.action == "transfer" and reply.reason == "explicit_request"
    # The package is queued, never awaited on the turn path; Redis refuses it and it is dropped after a few
    # tries (logged): the person still gets the caller.
    await session.finish()
    assert session.outcome == "transferred"
    assert [t.role for t in session.transcript] == ["bot", "caller", "bot"]
    await client.aclose()
    await admin.aclose()


async def test_crm_down_offers_a_person_instead_of_failing(
        engine: FlowEngine, engine_settings: Settings, crm: RunningCrm, call_store: CallStore) -> None:
    await crm.stop()  # the CRM is unreachable for this whole call
    session = new_call(engine, engine_settings, call_store, "crm-down", lang="en")
    await session.begin()
    await say(session, "Where is my order?")
    reply = await say(session, "four eight one five two")
    assert reply.action == "continue" and "colleague" in reply.text  # the flow's on_error: offer a person
    reply = await say(session, "yes please")
    assert reply.action == "transfer" and reply.handoff_id
    await session.finish()
    turns = await call_store.turns("crm-down")
    assert len(turns) == 7 and turns[-1].action == "transfer"
    package = await HandoffStore(call_store.client, call_store.keys).get(reply.handoff_id)
    assert package and package["slots"]["order_number"] == "48152" and package["language"] == "en"


async def test_dialog_failure_becomes_a_system_fault_transfer_with_a_package(
        engine: FlowEngine, engine_settings: Settings, crm: RunningCrm, call_store: CallStore) -> None:
    session = new_call(engine, engine_settings, call_store, "fault-1")
    await session.begin()
    await say(session, "Gdzie jest moja paczka?")
    session.dialog.loaded = None  # type: ignore[attr-defined]  # the flow vanished under the session
    reply = await say(session, "12345")
    assert reply.action == "transfer" and reply.reason == "system_fault"
    assert reply.text.startswith("Przepraszam, mam problem techniczny")
    package = await HandoffStore(call_store.client, call_store.keys).get(reply.handoff_id or "")
    assert package and package["reason"] == "system_fault" and package["language"] == "pl"
    assert [t["text"] for t in package["transcript"] if t["role"] == "caller"] == ["Gdzie jest moja paczka?", "12345"]


@pytest.mark.parametrize("goodbye", ["Nie, dziękuję, do widzenia", "To wszystko, dziękuję"])
async def test_the_bot_only_ends_the_call_after_goodbye(
        engine: FlowEngine, engine_settings: Settings, crm: RunningCrm, goodbye: str) -> None:
    session = new_call(engine, engine_settings, None, "bye")
    actions = [(await session.begin()).action]
    for text in ["Gdzie jest moja paczka?", "Mój kot śpi", "48152", goodbye]:
        actions.append((await say(session, text)).action)
    assert actions == ["continue"] * 4 + ["end"]
