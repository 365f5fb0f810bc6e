"""A caller asked for a number who asks how or where, or has no number to hand, hears where to find it and what
happens next (the node's `help`), not a failed answer that takes them towards a person (issue 11: phone_blind26
en-r8 asked "How do I do that?" at the return's order number and was handed over as not understood). Calls on the
shipped flows through the real dialog engine, ASR scores as on a phone line."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("lang", "wish", "question", "found"), [
    ("en", "I'd like to send it back", "How do I do that?", "confirmation e-mail"),
    ("en", "I'd like to send it back", "where do I find the number?", "confirmation e-mail"),
    ("pl", "chcę to odesłać, zwrot", "jak to zrobić?", "e-mailu potwierdzającym"),
])
async def test_how_or_where_at_the_return_number_is_answered_then_the_number_is_taken(
        call, lang, wish, question, found) -> None:
    c = call(lang)
    await c.start()
    asked = await c.say(wish, asr_confidence=0.7)
    assert asked.node == "ask_return_order"
    helped = await c.say(question, asr_confidence=0.66)
    assert found in helped.text and helped.action == "continue" and helped.node == "ask_return_order"
    again = await c.say("I'm not sure, it was a lamp" if lang == "en" else "nie wiem, to była lampa",
                        asr_confidence=0.6)
    assert again.action == "continue", "one unclear answer after the help is asked again, not handed over"
    done = await c.say("four eight one five two" if lang == "en" else "cztery osiem jeden pięć dwa",
                       asr_confidence=0.8)
    assert done.action == "continue" and done.node != "ask_return_order"


@pytest.mark.parametrize(("lang", "cannot"), [("en", "I don't have the number"), ("pl", "nie mam numeru")])
async def test_no_number_to_hand_hears_where_to_find_it_once_then_a_person(call, lang, cannot) -> None:
    c = call(lang)
    await c.start()
    await c.say("where is my order" if lang == "en" else "gdzie jest moje zamówienie", asr_confidence=0.8)
    first = await c.say(cannot, asr_confidence=0.7)
    assert first.action == "continue" and "0" in first.text, "where to find it, and the keypad's 0 for a person"
    replies = [await c.say(cannot, asr_confidence=0.7) for _ in range(3)]
    assert all(r.text != first.text for r in replies), "the help is said once, not read out again"
    assert "transfer" in [r.action for r in replies], "a caller who still has no number reaches a person"


async def test_a_how_question_about_another_task_is_that_request_not_the_help(call) -> None:
    c = call("en")
    await c.start()
    await c.say("I'd like to return a pair of headphones", asr_confidence=0.7)
    period = await c.say("how long do I have to send it back?", asr_confidence=0.6)
    assert "30 days" in period.text and period.node == "ask_return_order"
    delivery = await c.say("and how long does delivery take?", asr_confidence=0.7)
    assert "working days" in delivery.text and "30 days" not in delivery.text
