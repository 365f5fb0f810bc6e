"""Skill routing with typed turns, the real dialog engine and real Redis: a complaint goes to the complaints line
and a payment problem to the payments line; a closed, full or unanswering line passes the caller to its fallback,
and when no line can take them a callback is booked (never silence). The same over SIP with two sipp agents:
tests/telephony/test_sip_skill_routing.py."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.env import TEST_REDIS_URL, always_staffed
from voicebot.call_session import CallSession
from voicebot.callback_offer import CallbackOffer
from voicebot.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from voicebot.dialog.loader import FlowEngine, fixed_clock, load_engine
from voicebot.dialog.types import BotReply, CallerSaid, CallInfo
from voicebot.escalation import make_tracker
from voicebot.escalation.handoff import handoff_writer
from voicebot.escalation.policy import EscalationConfigError, resolve_policy
from voicebot.escalation.routing import Router
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect
from voicebot.store.line_load import LineLoad

WARSAW = ZoneInfo("Europe/Warsaw")
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=WARSAW)
COMPLAINTS = "sip:complaints@127.0.0.1:5081"
PAYMENTS = "sip:payments@127.0.0.1:5082"
WEEKDAYS_9_TO_5 = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> FlowEngine:
    settings = always_staffed(load_settings(tmp_path_factory.mktemp("cfg") / "none.toml", {}))
    return load_engine(settings, clock=fixed_clock(TUESDAY_NOON))


def with_lines(settings: Settings, **lines: dict[str, Any]) -> Settings:
    """`settings` with [escalation.lines.<skill>] tables, validated like config.toml."""
    data = settings.model_dump()
    data["escalation"]["lines"] = lines
    return Settings.model_validate(data)


def two_lines(settings: Settings, complaints: dict[str, Any] | None = None) -> Settings:
    return with_lines(always_staffed(settings),
                      complaints={"target": COMPLAINTS, "hours": WEEKDAYS_9_TO_5, **(complaints or {})},
                      payments={"target": PAYMENTS})


async def call(settings: Settings, store: CallStore, engine: FlowEngine, call_id: str, words: str,
               language: str = "en") -> tuple[CallSession, BotReply]:
    info = CallInfo(call_id=call_id, caller_number="+48600100200", language=language)
    offer = CallbackOffer.for_store(settings, store)
    offer.clock = fixed_clock(TUESDAY_NOON)
    router = Router.for_store(settings, store)
    router.clock = fixed_clock(TUESDAY_NOON)
    session = CallSession(info, engine.new_session(info), store, handoff_writer(settings), offer, router=router)
    await session.begin()
    return session, await session.on_event(CallerSaid(words, language=language, asr_confidence=0.9))


async def package(store: CallStore, handoff_id: str | None) -> dict[str, Any]:
    raw = await store.client.get(store.keys.handoff(handoff_id or ""))
    assert raw, f"no handoff package {handoff_id}"
    return json.loads(raw)


async def test_complaint_goes_to_complaints_and_payment_to_payments(
        settings: Settings, call_store: CallStore, engine: FlowEngine) -> None:
    settings = two_lines(settings)
    complaint, reply = await call(settings, call_store, engine, "r-complaint", "I want to make a complaint")
    assert reply.action == "transfer" and "handles complaints" in reply.text
    assert reply.transfer_target == f"{COMPLAINTS};skill=complaints"
    await complaint.finish()
    assert (await package(call_store, reply.handoff_id))["skill"] == "complaints"
    record = await call_store.get_call("r-complaint")
    assert record is not None and record["skill"] == "complaints" and record["outcome"] == "transferred"

    payment, reply = await call(settings, call_store, engine, "r-payment", "zapłaciłem, a w sklepie płatność nie "
                                "przeszła", language="pl")
    assert reply.action == "transfer" and reply.transfer_target == f"{PAYMENTS};skill=payments", reply
    await payment.finish()
    assert (await package(call_store, reply.handoff_id))["skill"] == "payments"

    # Anything else (here: asking for a person) goes to the general line: the old single human line.
    _, reply = await call(settings, call_store, engine, "r-general", "I want to talk to a person")
    assert reply.transfer_target == f"{settings.sip.human_line_uri};skill=general"


async def test_closed_line_passes_the_caller_to_its_fallback(
        settings: Settings, call_store: CallStore, engine: FlowEngine) -> None:
    settings = two_lines(settings, complaints={"hours": {"sun": "10:00-12:00"}})  # closed on a Tuesday
    _, reply = await call(settings, call_store, engine, "r-closed", "I want to make a complaint")
    assert reply.action == "transfer" and reply.skill == "general"
    assert reply.transfer_target == f"{settings.sip.human_line_uri};skill=general"
    pkg = await package(call_store, reply.handoff_id)
    assert pkg["skill"] == "general" and pkg["routing"] == "complaints: closed"


async def test_no_line_open_books_a_callback_instead_of_promising_a_colleague(
        settings: Settings, call_store: CallStore, engine: FlowEngine) -> None:
    settings = two_lines(settings, complaints={"hours": {"sun": "10:00-12:00"}, "fallback": ""})
    session, reply = await call(settings, call_store, engine, "r-none", "I want to make a complaint")
    await session.finish()
    assert reply.action == "callback" and "call you back" in reply.text, reply
    assert "handles complaints" not in reply.text  # the transfer sentence is not said when nobody can take it
    [request] = await CallbackOffer.for_store(settings, call_store).store.due()
    assert request.id == session.callback_id and request.topic == "complaint"
    # The complaints team calls back when its line opens (Sunday 10:00), though the general line is open now.
    assert request.preferred_time == "2026-11-29T10:00:00+01:00" and "Sunday" in reply.text
    record = await call_store.get_call("r-none")
    assert record is not None and record["outcome"] == "callback" and record["skill"] == "complaints"
    assert (await package(call_store, reply.handoff_id))["skill"] == "complaints"


async def test_full_line_sends_the_next_caller_to_the_fallback(
        settings: Settings, call_store: CallStore, engine: FlowEngine) -> None:
    settings = two_lines(settings, complaints={"max_calls": 1})
    _, first = await call(settings, call_store, engine, "r-full-1", "I want to make a complaint")
    _, second = await call(settings, call_store, engine, "r-full-2", "I want to make a complaint")
    assert first.skill == "complaints" and second.skill == "general"
    assert (await package(call_store, second.handoff_id))["routing"] == "complaints: full (1 calls)"


async def test_a_line_that_does_not_answer_passes_the_caller_on_then_a_callback(
        settings: Settings, call_store: CallStore, engine: FlowEngine) -> None:
    settings = two_lines(settings, complaints={"max_calls": 1})
    session, reply = await call(settings, call_store, engine, "r-busy", "I want to make a complaint")
    assert reply.skill == "complaints"

    retry = await session.transfer_failed("human line answered 486")
    assert retry.action == "transfer" and retry.skill == "general" and "another colleague" in retry.text
    assert (await package(call_store, retry.handoff_id))["routing"] == "complaints: did not take the call"
    # The complaints line's place is free again for the next caller.
    _, other = await call(settings, call_store, engine, "r-busy-2", "I want to make a complaint")
    assert other.skill == "complaints"

    last = await session.transfer_failed("human line did not answer (408)")
    await session.finish()
    assert last.action == "callback" and "call you back" in last.text
    record = await call_store.get_call("r-busy")
    assert record is not None and record["outcome"] == "callback"


def test_a_fallback_to_no_line_is_refused_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[escalation.lines.complaints]\ntarget = "sip:c@127.0.0.1"\n'
                                          'fallback = "complains"\n')
    with pytest.raises(ConfigError, match=r"lines\.complaints\.fallback: no line 'complains'"):
        load_settings(tmp_path / "config.toml", {})
    (tmp_path / "config.toml").write_text('[escalation.lines.payments]\nhours = { mon = "8-16" }\n')
    with pytest.raises(ConfigError, match=r"escalation\.lines\.payments\.hours.*'HH:MM-HH:MM'"):
        load_settings(tmp_path / "config.toml", {})


async def test_a_flow_maps_its_own_reasons_to_skills_but_cannot_move_the_lines(
        settings: Settings, call_store: CallStore, tmp_path: Path) -> None:
    flows = tmp_path / "dialogs"
    flows.mkdir()
    source = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")
    own = source.replace("\nsettings:\n", "\nsettings:\n  escalation:\n    skills: {complaint: returns}\n", 1)
    (flows / "customer_service.en.yaml").write_text(own, encoding="utf-8")
    shutil.copytree(PROJECT_ROOT / "dialogs" / "faq", flows / "faq")
    data = always_staffed(settings).model_dump()
    data["dialog"]["flows_dir"] = str(flows)
    data["escalation"]["lexicons_dir"] = str(PROJECT_ROOT / "dialogs" / "lexicons")
    data["escalation"]["lines"] = {"returns": {"target": "sip:returns@127.0.0.1:5083"},
                                   "complaints": {"target": COMPLAINTS}}
    settings = Settings.model_validate(data)
    engine = load_engine(settings, make_tracker, clock=fixed_clock(TUESDAY_NOON), strict=True)
    try:
        _, reply = await call(settings, call_store, engine, "r-flow", "I want to make a complaint")
    finally:
        await engine.close()
    assert reply.action == "transfer" and reply.skill == "returns"
    assert reply.transfer_target == "sip:returns@127.0.0.1:5083;skill=returns"

    moved = {"id": "customer_service", "settings": {"escalation": {"lines": {"complaints": {"target": "sip:x@y"}}}}}
    with pytest.raises(EscalationConfigError, match=r"settings\.escalation\.lines: human lines are set for the whole"):
        resolve_policy(settings.escalation, moved)


async def test_callers_racing_for_a_line_never_exceed_its_limit(call_store: CallStore) -> None:
    # Workers share Redis: eight callers routed at the same moment, on separate connections, to a line of 3.
    loads = [LineLoad(connect(TEST_REDIS_URL), call_store.keys) for _ in range(8)]
    try:
        taken = await asyncio.gather(*(load.take("payments", f"call-{i}", 3, 600) for i, load in enumerate(loads)))
    finally:
        for load in loads:
            await load.client.aclose()
    assert sum(taken) == 3
    await LineLoad(call_store.client, call_store.keys).release("payments", f"call-{taken.index(True)}")
    assert await LineLoad(call_store.client, call_store.keys).take("payments", "call-late", 3, 600)


async def test_a_callback_we_place_goes_to_the_line_of_the_callers_original_topic(
        settings: Settings, call_store: CallStore, engine: FlowEngine) -> None:
    # The customer answers our callback with "yes": the line is the complaint's, and the agent gets the
    # original call's package, not a new one about "yes".
    settings = two_lines(settings)
    info = CallInfo(call_id="r-callback", caller_number="+48600100200", flow_id=settings.callbacks.flow,
                    channel="sip", topic="complaint", handoff_id="h-original")
    router = Router.for_store(settings, call_store)
    router.clock = fixed_clock(TUESDAY_NOON)
    session = CallSession(info, engine.new_session(info), call_store, handoff_writer(settings), router=router)
    await session.begin()
    reply = await session.on_event(CallerSaid("yes please", language="en", asr_confidence=0.9))
    assert reply.action == "transfer", reply
    assert (reply.skill, reply.handoff_id) == ("complaints", "h-original")
    assert reply.transfer_target and reply.transfer_target.startswith(COMPLAINTS)


async def test_a_line_staffed_after_business_hours_takes_its_callers_and_the_others_book_callbacks(
        settings: Settings, call_store: CallStore) -> None:
    # 22:00 on a Tuesday: [business_hours] closed since 20:00. The payments line works evenings (wider hours);
    # complaints only 9-17 on weekdays (narrower) and no fallback.
    night = TUESDAY_NOON.replace(hour=22)
    settings = with_lines(settings, complaints={"target": COMPLAINTS, "hours": WEEKDAYS_9_TO_5, "fallback": ""},
                          payments={"target": PAYMENTS, "hours": {d: "18:00-23:30" for d in WEEKDAYS_9_TO_5}})
    router = Router.for_store(settings, call_store)
    router.clock = fixed_clock(night)
    engine = load_engine(settings, clock=fixed_clock(night), staffed=router.staffed)
    offer = CallbackOffer.for_store(settings, call_store)
    offer.clock = fixed_clock(night)

    async def night_call(call_id: str, words: str, language: str) -> tuple[CallSession, BotReply]:
        info = CallInfo(call_id=call_id, caller_number="+48600100200", language=language)
        session = CallSession(info, engine.new_session(info), call_store, handoff_writer(settings), offer,
                              router=router)
        await session.begin()
        return session, await session.on_event(CallerSaid(words, language=language, asr_confidence=0.9))

    try:
        _, payment = await night_call("n-payment", "zapłaciłem, a w sklepie płatność nie przeszła", "pl")
        assert payment.action == "transfer" and payment.transfer_target == f"{PAYMENTS};skill=payments", payment
        complaint, reply = await night_call("n-complaint", "I want to make a complaint", "en")
        await complaint.finish()
    finally:
        await engine.close()
    assert reply.action != "transfer" and "handles complaints" not in reply.text, reply
    # A complaint at night is a callback (the dialog asks when suits the caller), not a colleague now.
    assert "call you back" in reply.text or "call you" in reply.text, reply.text
