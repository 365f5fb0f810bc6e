"""No dead air, in text: a silent or noisy caller is asked again, then in other words, then handed over."""

from __future__ import annotations

import pytest

from tests.dialog.conftest import CLOSED, OPEN
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.dialog.types import CallerNoInput, CallerSaid, CallInfo
from voicebot.escalation import make_tracker


@pytest.mark.parametrize(("lang", "still_there", "rephrased"), [
    ("en", "Are you still there?", "I can check an order"),
    ("pl", "Czy jest Pan lub Pani na linii?", "Mogę sprawdzić zamówienie"),
])
async def test_silence_at_the_menu_asks_again_then_rewords_then_hands_over(call, lang, still_there,
                                                                          rephrased) -> None:
    c = call(lang)
    hello = await c.start()
    assert hello.no_input_secs is None  # the menu waits the config's [dialog] no_input_secs

    first = await c.session.handle(CallerNoInput(waited_s=6))
    assert first.action == "continue" and first.text.startswith(still_there)
    assert first.text.endswith(hello.text.split(". ")[-1].split("? ")[-1])  # the same question again
    second = await c.session.handle(CallerNoInput(waited_s=6))
    assert second.action == "continue" and rephrased in second.text  # what the caller can say here
    third = await c.session.handle(CallerNoInput(waited_s=6))
    assert third.action == "transfer" and third.reason == "no_input"
    assert c.session.snapshot()["reason"] == "no_input"


async def test_an_ask_rewords_with_its_reprompt_and_has_its_own_timer(call) -> None:
    c = call("en")
    await c.start()
    asked = await c.say("where is my order")
    assert asked.node == "ask_order" and asked.no_input_secs == 12  # the flow's per-node key
    await c.session.handle(CallerNoInput(waited_s=12))
    second = await c.session.handle(CallerNoInput(waited_s=12))
    assert "five digits, for example four eight one five two" in second.text


async def test_a_number_read_back_waits_the_usual_time_not_the_ask_nodes_own(call) -> None:
    # ask_order waits 12 s (callers look for the number); "Did you say order 4 8 1 5 2?" needs only a yes or no,
    # and a short "yes" the phone line lost left the caller in 12 s of silence (phone_blind7 en-c8).
    c = call("en")
    await c.start()
    await c.say("where is my order")
    asked = await c.session.handle(CallerSaid("4 8 1 5 2", asr_confidence=0.3))
    assert "Did you say order" in asked.text and asked.no_input_secs is None  # the config's [dialog] default
    again = await c.session.handle(CallerNoInput(waited_s=6))
    assert again.action == "continue" and again.no_input_secs is None
    assert (await c.session.handle(CallerSaid("yes", asr_confidence=0.3))).node == "anything_else"


async def test_noise_without_words_gets_the_noisy_line_prompt_and_words_reset_the_count(call) -> None:
    c = call("en")
    await c.start()
    noisy = await c.session.handle(CallerNoInput(noise=True))
    assert "the line is noisy" in noisy.text and noisy.action == "continue"
    await c.session.handle(CallerNoInput(noise=True))
    asked = await c.say("where is my order")  # the caller got through: the count starts again
    assert asked.node == "ask_order"
    for _ in range(2):
        again = await c.session.handle(CallerNoInput(noise=True))
        assert again.action == "continue"
    assert (await c.session.handle(CallerNoInput(noise=True))).action == "transfer"


async def test_a_silent_caller_after_hours_gets_a_callback_not_an_empty_queue(call) -> None:
    c = call("pl", now=CLOSED)
    await c.start()
    for _ in range(2):
        await c.session.handle(CallerNoInput(waited_s=6))
    last = await c.session.handle(CallerNoInput(waited_s=6))
    assert last.action == "callback" and last.reason == "no_input"


@pytest.mark.parametrize(("silence_is_no_match", "transferred_at"), [(True, 2), (False, 3)])
async def test_silence_is_no_match_counts_silent_turns_toward_no_match_turns(
        settings, shipped_flows, silence_is_no_match, transferred_at) -> None:
    # no_match_turns = 2: with silence_is_no_match the escalation policy hands over at the second silent turn,
    # without it the flow's own no-input steps (ask, reword, hand over) run to the third.
    escalation = settings.escalation.model_copy(update={"silence_is_no_match": silence_is_no_match})
    engine = load_engine(settings.model_copy(update={"escalation": escalation}), make_tracker,
                         clock=fixed_clock(OPEN), registry=shipped_flows)
    session = engine.new_session(CallInfo("s1", language="en"))
    await session.start()
    actions = [(await session.handle(CallerNoInput(waited_s=6))).action for _ in range(transferred_at)]
    await engine.close()
    assert actions == ["continue"] * (transferred_at - 1) + ["transfer"]
    assert session.snapshot()["reason"] == ("no_match" if silence_is_no_match else "no_input")


async def test_silence_at_the_yes_no_anything_else_question_asks_it_again(call) -> None:
    c = call("en")
    await c.start()
    answered = await c.say("what payment methods do you accept")
    assert answered.node == "anything_else"  # settings.after_answer: a yes/no question
    again = await c.session.handle(CallerNoInput(waited_s=6))
    assert again.action == "continue" and again.text.startswith("Are you still there?")
    assert again.text.endswith(answered.text.split(". ")[-1])


async def test_a_caller_who_asked_us_to_wait_gets_one_quiet_timer_before_being_asked(call) -> None:
    c = call("pl")
    await c.start()
    await c.say("gdzie jest moja paczka")
    hold = await c.say("chwileczkę, szukam numeru")
    assert "poczekam" in hold.text
    quiet = await c.session.handle(CallerNoInput(waited_s=6))
    assert quiet.action == "continue" and quiet.text == ""  # still waiting, as promised
    asked = await c.session.handle(CallerNoInput(waited_s=6))
    assert asked.text.startswith("Czy jest Pan lub Pani na linii?")
