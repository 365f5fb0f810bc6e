"""The handoff package of a real call (dialog engine + tracker + Redis), as the agent's screen-pop gets it:
published on ch:handoffs before the transfer and served by GET /api/handoffs/{id}."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from voicebot.app import create_app
from voicebot.appkeys import TOKENS, USERS
from voicebot.call_session import CallSession
from voicebot.config import Settings
from voicebot.dialog.crm_server import RunningCrm
from voicebot.dialog.loader import FlowEngine
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.escalation.handoff import handoff_writer
from voicebot.store.calls import CallStore


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[TestClient]:
    app = create_app(settings, load_models=False)
    async with TestClient(TestServer(app)) as c:
        # The API sits behind the web login (voicebot.web.security): call it like an agent-desktop script.
        await app[USERS].add("agent", "agent-password-1", "supervisor")
        c.session.headers["Authorization"] = f"Bearer {(await app[TOKENS].issue('agent', days=1))[0]}"
        yield c


async def run_call(engine: FlowEngine, engine_settings: Settings, store: CallStore, lang: str,
                   lines: list[str]) -> CallSession:
    info = CallInfo(call_id=f"handoff-{lang}", caller_number="+48500100200", language=lang,
                    flow_id="customer_service", channel="sip")
    session = CallSession(info, engine.new_session(info), store, handoff_writer(engine_settings))
    await session.begin()
    for line in lines:
        reply = await session.on_event(CallerSaid(line, language=lang, asr_confidence=0.8))
        if reply.action != "continue":
            break
    await session.finish()
    return session


async def test_polish_frustrated_caller_package(engine: FlowEngine, engine_settings: Settings, crm: RunningCrm,
                                               call_store: CallStore, redis_client: aioredis.Redis,
                                               api: TestClient) -> None:
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(call_store.keys.channel_handoffs)
    await pubsub.get_message(timeout=1)
    session = await run_call(engine, engine_settings, call_store, "pl", [
        "Gdzie jest moja paczka?", "48152", "No super, znowu automat.", "Przecież mówię, gdzie jest paczka!"])
    last = session.replies[-1]
    assert last.action == "transfer" and last.reason == "frustration" and last.handoff_id
    assert last.text == "Łączę z konsultantem — przekażę wszystko, co już wiem."

    resp = await api.get(f"/api/handoffs/{last.handoff_id}")
    assert resp.status == 200
    p = await resp.json()
    assert (p["call_id"], p["caller_number"], p["language"], p["channel"]) == \
        ("handoff-pl", "+48500100200", "pl", "sip")
    assert (p["flow_id"], p["node"], p["reason"], p["intent"]) == \
        ("customer_service", "handoff", "frustration", "order_status")
    assert p["verified"]["order"]["number"] == "48152"  # the CRM already confirmed the order
    assert p["summary"].startswith("Klient +48500100200 dzwoni w sprawie: order status („Gdzie jest moja paczka?”).")
    assert "order (number 48152, status shipped" in p["summary"]
    assert "Powód przekazania: klient jest zdenerwowany." in p["summary"] and "Frustracja: wysoka" in p["summary"]
    assert "przeciez mowi*" in p["explanation"] and "carry_over" in p["explanation"]
    callers = [t["text"] for t in p["transcript"] if t["role"] == "caller"]
    assert callers == ["Gdzie jest moja paczka?", "48152", "No super, znowu automat.",
                       "Przecież mówię, gdzie jest paczka!"]
    assert p["transcript"][-1]["text"] == last.text
    history = p["escalation_history"]
    assert [h["turn"] for h in history] == [1, 2, 3, 4]
    assert history[2]["signals"]["sarcasm"] == pytest.approx(0.4) and not history[2]["transfer"]
    assert history[3]["transfer"] and history[3]["frustration"] >= 0.7
    assert all(h["confidence"] is not None for h in history)

    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    await pubsub.aclose()
    assert message and json.loads(message["data"])["handoff_id"] == last.handoff_id
    call = await call_store.get_call("handoff-pl")
    assert call and call["outcome"] == "transferred" and call["handoff_id"] == last.handoff_id
    assert call["transfer_reason"] == "frustration" and float(call["frustration"]) >= 0.7


async def test_english_explicit_request_keeps_collected_slots(engine: FlowEngine, engine_settings: Settings,
                                                            crm: RunningCrm, call_store: CallStore,
                                                            api: TestClient) -> None:
    session = await run_call(engine, engine_settings, call_store, "en", [
        "I want to change my delivery address", "12 Baker Street, London", "Just let me speak to a human"])
    last = session.replies[-1]
    assert last.action == "transfer" and last.reason == "explicit_request"
    p = await (await api.get(f"/api/handoffs/{last.handoff_id}")).json()
    assert p["slots"]["new_address"] == "12 Baker Street, London" and p["intent"] == "change_address"
    assert p["summary"].startswith(
        "Caller +48500100200 is calling about: change address (“I want to change my delivery address”).")
    assert "Collected: new address = 12 Baker Street, London." in p["summary"]
    assert "Handed over because: the caller asked for a person." in p["summary"]
    assert "“human”" in p["explanation"]
