"""The post-call survey in the dialog (typed turns, the shipped flows, real Redis): who is asked, how answers by
voice and keypad are read, and what lands on the call record. Over a phone line: tests/telephony/test_sip_survey.py."""

from __future__ import annotations

import pytest

from tests.support.ports import free_port
from voicebot.call_session import CallSession
from voicebot.config import Settings
from voicebot.dialog.types import CallerDtmf, CallerNoInput, CallerSaid, CallInfo
from voicebot.escalation.handoff import write_handoff
from voicebot.store.callers import CallerStore, profile_number
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect
from voicebot.store.surveys import SurveyPicker

NUMBER = "+48600100200"
SERVED_EN = ("what are your opening hours", "no")  # an answer, then "no" to "anything else?"
SERVED_PL = ("w jakich godzinach jesteście otwarci", "nie")


def survey_on(settings: Settings, share: float = 1.0) -> Settings:
    return settings.model_copy(update={"survey": settings.survey.model_copy(update={"enabled": True,
                                                                                   "share": share})})


@pytest.fixture
async def start(engine_factory, call_store: CallStore, settings: Settings):
    engines = []

    async def begin(call_id: str, language: str = "en", number: str = NUMBER, cfg: Settings | None = None,
                    draw: float = 0.0) -> tuple[CallSession, str]:
        cfg = cfg or survey_on(settings)
        picker = SurveyPicker(call_store.client, call_store.keys, cfg.survey, draw=lambda: draw)
        engine = engine_factory(surveys=picker)
        engines.append(engine)
        info = CallInfo(call_id=call_id, caller_number=number, language=language)
        session = CallSession(info, engine.new_session(info), call_store)
        greeting = await session.begin()
        return session, greeting.text

    yield begin
    for engine in engines:
        await engine.close()


async def serve(session: CallSession, turns: tuple[str, ...]) -> str:
    reply = None
    for text in turns:
        reply = await session.on_event(CallerSaid(text, asr_confidence=0.9))
    assert reply is not None
    return reply.text


async def test_answers_by_voice_and_keypad_land_on_the_call_record(start, call_store) -> None:
    session, _ = await start("survey-en")
    asked = await serve(session, SERVED_EN)
    assert "1 to 5" in asked and "Goodbye" not in asked
    nps_question = await session.on_event(CallerSaid("four", asr_confidence=0.8))
    assert "0 to 10" in nps_question.text and nps_question.action == "continue"
    bye = await session.on_event(CallerDtmf("10#"))
    assert bye.action == "end" and "Thank you for your answers" in bye.text
    await session.finish()
    record = await call_store.get_call("survey-en")
    assert (record["csat"], record["nps"], record["survey"], record["outcome"]) == ("4", "10", "answered",
                                                                                    "contained")


async def test_polish_words_and_a_keypad_zero_is_a_score_not_a_person(start, call_store) -> None:
    session, _ = await start("survey-pl", language="pl")
    assert "od 1 do 5" in await serve(session, SERVED_PL)
    assert "od 0 do 10" in (await session.on_event(CallerSaid("pięć", asr_confidence=0.8))).text
    bye = await session.on_event(CallerDtmf("0"))
    assert bye.action == "end" and "Dziękujemy za odpowiedzi" in bye.text
    await session.finish()
    record = await call_store.get_call("survey-pl")
    assert (record["csat"], record["nps"], record["outcome"]) == ("5", "0", "contained")


async def test_a_score_out_of_range_is_asked_again(start, call_store) -> None:
    session, _ = await start("survey-range")
    await serve(session, SERVED_EN)
    again = await session.on_event(CallerSaid("seven", asr_confidence=0.8))
    assert again.action == "continue" and "from 1 to 5" in again.text and "0 to 10" not in again.text
    assert "0 to 10" in (await session.on_event(CallerDtmf("3"))).text


async def test_a_digit_whisper_wrote_as_a_word_is_a_score_but_a_refusal_is_not(start, call_store) -> None:
    session, _ = await start("survey-soundalike")
    await serve(session, SERVED_EN)
    # 8 kHz espeak-ng "I would say four" comes out of whisper as "I would say for"
    assert "0 to 10" in (await session.on_event(CallerSaid("I would say for", asr_confidence=0.6))).text
    bye = await session.on_event(CallerSaid("I don't want to", asr_confidence=0.8))  # not a 2
    assert bye.action == "end" and "answers" not in bye.text
    await session.finish()
    record = await call_store.get_call("survey-soundalike")
    assert (record["csat"], record["survey"]) == ("4", "declined") and "nps" not in record


async def test_a_person_asked_for_during_the_survey_is_a_transfer(start, call_store) -> None:
    session, _ = await start("survey-human")
    await serve(session, SERVED_EN)
    assert (await session.on_event(CallerDtmf("0"))).action == "transfer"  # 0 is no CSAT score: a person
    await session.finish()
    record = await call_store.get_call("survey-human")
    assert (record["survey"], record["outcome"]) == ("unanswered", "transferred")


async def test_a_caller_who_declines_hears_goodbye_and_is_not_asked_again(start, call_store) -> None:
    session, _ = await start("survey-no")
    await serve(session, SERVED_EN)
    bye = await session.on_event(CallerSaid("no thanks", asr_confidence=0.9))
    assert bye.action == "end" and "Goodbye" in bye.text and "answers" not in bye.text
    await session.finish()
    record = await call_store.get_call("survey-no")
    assert record["survey"] == "declined" and "csat" not in record and record["outcome"] == "contained"

    again, _ = await start("survey-no-2")
    bye = await serve(again, SERVED_EN)
    assert "1 to 5" not in bye and "Goodbye" in bye


async def test_silence_at_the_survey_ends_with_a_goodbye_not_a_person(start, call_store) -> None:
    session, _ = await start("survey-silent")
    await serve(session, SERVED_EN)
    replies = [await session.on_event(CallerNoInput(waited_s=6)) for _ in range(3)]
    assert [r.action for r in replies] == ["continue", "continue", "end"] and "Goodbye" in replies[-1].text
    await session.finish()
    record = await call_store.get_call("survey-silent")
    assert (record["survey"], record["outcome"]) == ("declined", "contained")


async def test_a_caller_who_hangs_up_during_the_survey_is_not_asked_again(start, call_store) -> None:
    session, _ = await start("survey-gone", language="pl")
    await serve(session, SERVED_PL)
    await session.on_event(CallerSaid("cztery", asr_confidence=0.8))
    await session.finish()  # the caller hung up at the second question
    record = await call_store.get_call("survey-gone")
    assert (record["csat"], record["survey"], record["outcome"]) == ("4", "hung_up", "contained")
    again, _ = await start("survey-gone-2", language="pl", number="48600100200")  # the same caller, no "+" (SIP)
    assert "od 1 do 5" not in await serve(again, SERVED_PL)
    other, _ = await start("survey-other", language="pl", number="+48600999888")
    assert "od 1 do 5" in await serve(other, SERVED_PL)


async def test_off_not_drawn_or_not_served_means_no_survey(start, settings, call_store) -> None:
    off, _ = await start("survey-off", cfg=settings)  # [survey] enabled = false (the default)
    assert "1 to 5" not in await serve(off, SERVED_EN)
    not_drawn, _ = await start("survey-share", cfg=survey_on(settings, share=0.3), draw=0.5)
    assert "1 to 5" not in await serve(not_drawn, SERVED_EN)
    drawn, _ = await start("survey-drawn", cfg=survey_on(settings, share=0.3), draw=0.1, number="+48600111222")
    assert "1 to 5" in await serve(drawn, SERVED_EN)
    unserved, _ = await start("survey-unserved", number="+48600333444")
    bye = await serve(unserved, ("I want to say goodbye now",))
    assert "1 to 5" not in bye


async def test_the_number_is_kept_no_longer_than_calls_and_a_dead_redis_means_no_survey(settings, call_store) -> None:
    cfg = survey_on(settings).survey
    picker = SurveyPicker(call_store.client, call_store.keys, cfg, retention_days=7)
    assert await picker.offer(NUMBER)
    await picker.asked(NUMBER)
    assert not await picker.offer(NUMBER)
    assert 6 * 86400 < await call_store.client.ttl(call_store.keys.survey_asked(profile_number(NUMBER))) <= 7 * 86400
    await picker.asked("anonymous")  # a withheld number is not remembered: one caller's "no" is not everyone's
    assert await picker.offer("anonymous")
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        assert not await SurveyPicker(dead, call_store.keys, cfg).offer("+48600555666")  # not asked twice by mistake
        await SurveyPicker(dead, call_store.keys, cfg).asked("+48600555666")  # logged, the call goes on
    finally:
        await dead.aclose()


async def test_a_returning_caller_is_asked_after_the_resumed_return_not_after_the_complaint_handover(
        engine_factory, call_store, settings, crm) -> None:
    """With caller profiles on (the welcome branch): the survey follows a call the bot served, including a return
    continued from the profile, and never a call the welcome hands to a person (the open complaint)."""
    callers = CallerStore(call_store.client, call_store.keys)
    picker = SurveyPicker(call_store.client, call_store.keys, survey_on(settings).survey, draw=lambda: 0.0)
    engine = engine_factory(crm.url, callers=callers, surveys=picker)

    async def call(number: str, call_id: str, events: list, language: str = "en") -> list[str]:
        info = CallInfo(call_id=call_id, caller_number=number, language=language)
        session = CallSession(info, engine.new_session(info), call_store, write_handoff=write_handoff)
        said = [(await session.begin()).text]
        for event in events:
            said.append((await session.on_event(event)).text)
        await session.finish()  # the caller hangs up (after the bot's goodbye, or at a return code)
        return said

    try:
        await call("48500100200", "ret-1", [CallerSaid("I'd like to send something back"), CallerDtmf("55501")])
        second = await call("48500100200", "ret-2", [CallerSaid("yes"), CallerSaid("no"), CallerDtmf("4"),
                                                     CallerDtmf("9#")])
        assert "Are you calling about your return of the kettle?" in second[0] and "R1001" in second[1]
        assert "1 to 5" in second[2] and "0 to 10" in second[3] and "Thank you for your answers" in second[4]
        record = await call_store.get_call("ret-2")
        assert (record["csat"], record["nps"], record["survey"]) == ("4", "9", "answered")
        profile = await callers.get("48500100200")
        assert profile["case"] is None and profile["contacts"][0]["outcome"] == "contained"  # the return is done

        await call("+48600100200", "compl-1", [CallerSaid("chcę złożyć reklamację")], "pl")
        again = await call("+48600100200", "compl-2", [CallerSaid("tak")], "pl")
        assert "reklamacji" in again[0] and not any("od 1 do 5" in text for text in again)
        for call_id in ("compl-1", "compl-2"):
            record = await call_store.get_call(call_id)
            assert record["outcome"] in ("transferred", "callback") and "survey" not in record
        assert await picker.offer("+48600100200")  # handed over, never asked: asked after a later served call
    finally:
        await engine.close()
