"""The greeting's keypad language choice ("To continue in English, press 9"), through `CallSession` with the
real store."""

from __future__ import annotations

import shutil

from voicebot.call_session import CallSession
from voicebot.config import PROJECT_ROOT
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo
from voicebot.escalation.tracker import make_tracker


def _session(engine, call_id: str, store=None) -> CallSession:  # type: ignore[no-untyped-def]
    info = CallInfo(call_id=call_id, caller_number="+48600100200", language="pl", language_fixed=True)
    return CallSession(info, engine.new_session(info), store, new_dialog=engine.new_session)


async def test_nine_at_the_polish_greeting_goes_on_in_english(engine_factory, call_store, crm) -> None:
    engine = engine_factory(crm.url)
    session = _session(engine, "keys-en", call_store)
    greeting = await session.begin()
    assert greeting.language == "pl" and greeting.text.startswith("Dzień dobry")
    assert [(o.language, o.key) for o in greeting.language_offers] == [("en", "9")]

    english = await session.on_event(CallerDtmf("9"))
    assert english.language == "en" and english.text.startswith("Hello") and "not recorded" in english.text
    assert english.language_offers == ()  # chosen: nothing offered again
    reply = await session.on_event(CallerSaid("where is my order", language="en", asr_confidence=0.9))
    assert reply.node == "ask_order" and reply.language == "en", reply.text
    reply = await session.on_event(CallerDtmf("48152"))
    assert "coffee grinder" in reply.text
    await session.finish()

    record = await call_store.get_call("keys-en")
    assert record is not None and record["language"] == "en"
    turns = await call_store.turns("keys-en")
    assert turns[0].text.endswith("To continue in English, press 9.")  # the supervisor sees what the caller heard
    assert [(t.role, t.language if t.role == "bot" else t.text) for t in turns[:3]] == [
        ("bot", "pl"), ("caller", "[DTMF 9]"), ("bot", "en")]
    await engine.close()


async def test_the_key_is_the_flows_once_the_caller_has_begun(engine_factory, crm) -> None:
    engine = engine_factory(crm.url)
    session = _session(engine, "keys-late")
    await session.begin()
    await session.on_event(CallerSaid("gdzie jest moja paczka", asr_confidence=0.9))
    reply = await session.on_event(CallerDtmf("9"))  # a digit of nothing: the Polish flow asks again, in Polish
    assert reply.language == "pl" and session.info.language == "pl"
    await engine.close()


async def test_speaking_over_the_offer_is_not_barging_in(engine_factory, crm) -> None:
    engine = engine_factory(crm.url, tracker_factory=make_tracker)  # the production escalation signals
    session = _session(engine, "keys-over")
    await session.begin()
    reply = await session.on_event(CallerSaid("gdzie jest moja paczka", asr_confidence=0.9, barge_in=True))
    assert "barge_in" not in reply.signals, reply.signals
    reply = await session.on_event(CallerSaid("nie wiem", asr_confidence=0.9, barge_in=True))
    assert "barge_in" in reply.signals, reply.signals  # later turns said over the bot count as before
    await engine.close()


async def test_no_offer_for_a_language_the_flow_is_not_loaded_in(engine_factory, tmp_path) -> None:
    src = PROJECT_ROOT / "dialogs"
    shutil.copy(src / "customer_service.pl.yaml", tmp_path / "customer_service.pl.yaml")
    shutil.copytree(src / "faq", tmp_path / "faq")
    engine = engine_factory(flows_dir=str(tmp_path))  # Polish only: pressing 9 could not switch
    session = _session(engine, "keys-pl-only")
    greeting = await session.begin()
    assert greeting.language_offers == () and "English" not in greeting.spoken
    await engine.close()


async def test_first_words_that_mean_nothing_hear_the_offer_again(engine_factory, crm) -> None:
    engine = engine_factory(crm.url)
    session = _session(engine, "keys-again")
    await session.begin()
    # An English caller read in Polish (the line fixes it): nothing the Polish flow understands.
    reask = await session.on_event(CallerSaid("the weather is lovely and blue", asr_confidence=0.5))
    assert reask.language == "pl" and reask.intent is None and reask.action == "continue", reask.text
    assert [(o.language, o.key) for o in reask.language_offers] == [("en", "9")]
    assert reask.spoken.endswith("To continue in English, press 9.")
    english = await session.on_event(CallerDtmf("9"))
    assert english.language == "en" and english.text.startswith("Hello"), english.text

    once = _session(engine, "keys-once")
    await once.begin()
    await once.on_event(CallerSaid("the weather is lovely and blue", asr_confidence=0.5))
    again = await once.on_event(CallerSaid("blue sky and green grass", asr_confidence=0.5))
    assert again.language_offers == ()  # offered once more, not at every turn
    await engine.close()
