"""Small talk and yes/no in context, out-of-scope callers, FAQ answers from the admin's file (issue 12).

Each test is a call on the shipped flows through the real dialog engine (NLU trained from the flow YAML,
demo CRM over HTTP), judged by what the caller hears and what the call does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voicebot.config import PROJECT_ROOT, BusinessHoursSettings
from voicebot.dialog.registry import compile_flow
from voicebot.dialog.validate import FlowInvalid, parse_flow

EN = PROJECT_ROOT / "dialogs" / "customer_service.en.yaml"


@pytest.mark.parametrize(("lang", "question", "yes", "what_else"), [
    ("en", "are you open on Saturday", "yes", "What else"),
    ("en", "are you open on Saturday", "yeah go ahead", "What else"),
    ("pl", "czy w sobotę jest otwarte", "tak", "W czym jeszcze"),
    ("pl", "czy w sobotę jest otwarte", "tak tak śmiało", "W czym jeszcze"),
    ("pl", "czy w sobotę jest otwarte", "no dobra", "W czym jeszcze"),
])
async def test_yes_after_anything_else_asks_what_else(call, lang, question, yes, what_else) -> None:
    c = call(lang)
    await c.start()
    answered = await c.say(question)
    assert answered.action == "continue" and "?" in answered.text  # the hours, then "anything else?"
    reply = await c.say(yes)
    assert reply.action == "continue" and what_else in reply.text and reply.node == "what_else"


@pytest.mark.parametrize(("lang", "no", "goodbye"), [
    ("en", "no", "Goodbye"), ("en", "no thanks", "Goodbye"),
    ("pl", "nie", "Do widzenia"), ("pl", "nie, dziękuję", "Do widzenia"),
])
async def test_no_after_anything_else_ends_politely(call, lang, no, goodbye) -> None:
    c = call(lang)
    await c.start()
    await c.say("what are your opening hours" if lang == "en" else "jakie są godziny otwarcia")
    reply = await c.say(no)
    assert reply.action == "end" and goodbye in reply.text


@pytest.mark.parametrize(("lang", "said", "menu"), [
    ("en", "hi, I'm calling about the warehouse job you advertised", "I can check an order"),
    ("en", "good morning, we sell cheaper business insurance, do you have a minute", "I can check an order"),
    ("en", "oh sorry, I wanted the pharmacy", "I can check an order"),
    ("pl", "dzień dobry, dzwonię w sprawie ogłoszenia o pracę dla kierowcy", "Mogę sprawdzić zamówienie"),
    ("pl", "mamy dla państwa świetną ofertę na fotowoltaikę", "Mogę sprawdzić zamówienie"),
    ("pl", "przepraszam, chciałam zadzwonić do przychodni", "Mogę sprawdzić zamówienie"),
])
async def test_out_of_scope_gets_the_menu_not_a_topic(call, lang, said, menu) -> None:
    c = call(lang)
    await c.start()
    reply = await c.say(said)
    assert reply.action == "continue" and menu in reply.text
    assert reply.intent is None  # not booked an appointment, not sent to complaints
    assert reply.node == "menu" and reply.text.endswith("?")  # and the open question again


@pytest.mark.parametrize(("lang", "garbled", "foreign", "not_caught", "keypad"), [
    ("en", "It's not in Nierloca won Nierloca.", "I can't help with that", "didn't catch", "press 1"),
    ("pl", "Kień dobry. Ulu miłem, kieśle mi, kień na miny, ale by leciało mi z ułowy na turytozień.", "nie pomogę",
     "nie dosłyszałem", "1 to status"),
])
async def test_garbled_words_are_not_called_a_request_we_do_not_handle(call, lang, garbled, foreign, not_caught,
                                                                        keypad) -> None:
    """Words the line garbled (low ASR confidence) that the classifier takes for a foreign request: the caller hears
    that the bot did not catch them, and the keypad menu, not "I can't help with that" for a request it may handle.
    Heard clearly, the same words still get the out-of-scope answer."""
    for confidence, expected in ((0.34, not_caught), (0.9, foreign)):
        c = call(lang)
        await c.start()
        reply = await c.say(garbled, asr_confidence=confidence)
        assert expected in reply.text and reply.action == "continue" and reply.node == "menu"
        assert keypad in reply.text and reply.text.endswith("?")
        if confidence < 0.45:
            assert foreign not in reply.text


async def test_greeting_who_and_hold_keep_the_question_open(call) -> None:
    c = call("pl")
    await c.start()
    hello = await c.say("dzień dobry")
    assert "Dzień dobry" in hello.text and "W czym mogę pomóc" in hello.text
    who = await c.say("czy rozmawiam z automatem")
    assert "automatycznym asystentem" in who.text and who.action == "continue"
    await c.say("gdzie jest moja paczka")
    hold = await c.say("chwileczkę, szukam numeru")
    assert "poczekam" in hold.text and "numer" not in hold.text.lower()  # waits quietly: no re-asking yet
    assert c.session.state.holding
    done = await c.say("cztery osiem jeden pięć dwa")
    assert done.action == "continue" and not c.session.state.holding


async def test_payment_problem_and_fault_reach_a_person_with_that_reason(call) -> None:
    pay = call("en")
    await pay.start()
    reply = await pay.say("the payment failed but the money was taken from my account")
    assert reply.action == "transfer" and reply.reason == "payment_problem"
    fault = call("pl")
    await fault.start()
    reply = await fault.say("pralka którą kupiłem nie chce się włączyć")
    assert reply.action == "transfer" and reply.reason == "technical_fault"


async def test_return_because_not_what_i_pictured_is_a_return(call) -> None:
    c = call("en")
    await c.start()
    reply = await c.say("I want to send the lamp back, it's not what I pictured")
    assert reply.action == "continue" and reply.intent == "return_item" and "return" in reply.text


def test_faq_answer_comes_from_the_admins_file(tmp_path: Path) -> None:
    shutil.copy(EN, tmp_path / EN.name)
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "en.yaml").write_text(
        "language: en\nanswers:\n  delivery: Delivery is free this week.\n  payment_methods: Cards only.\n"
        "  refunds: Within a week.\n  warranty: Three years.\n", encoding="utf-8")
    loaded = compile_flow(EN.read_text(encoding="utf-8"), str(tmp_path / EN.name), BusinessHoursSettings())
    assert loaded.flow.intents["faq_delivery"].answer == "Delivery is free this week."


def test_a_broken_faq_file_is_a_named_error_with_its_line(tmp_path: Path) -> None:
    shutil.copy(EN, tmp_path / EN.name)
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "en.yaml").write_text(
        "language: en\nanswers:\n  delivery: ''\n  payment_methods: Cards only.\n", encoding="utf-8")
    with pytest.raises(FlowInvalid) as err:
        parse_flow(EN.read_text(encoding="utf-8"), str(tmp_path / EN.name))
    problems = {(e.rule, e.line, e.path) for e in err.value.errors}
    assert ("faq_invalid", 3, "answers.delivery") in problems
    assert any(rule == "unknown_faq_topic" and path == "intents.faq_warranty.faq" for rule, _, path in problems)


@pytest.mark.parametrize(("lang", "problem", "declined", "accepted"), [
    ("en", "I can't log in to my account", "okay, I'll try that myself, thank you", "yes please"),
    ("pl", "nie mogę się zalogować", "dobra, spróbuję sama, dziękuję bardzo", "tak, poproszę"),
    # Three words are enough when one of them is news, not a yes or a courtesy.
    ("pl", "nie mogę się zalogować", "okej, sprawdzę, dzięki", "tak, poproszę"),
])
async def test_ok_thanks_to_an_offer_of_a_person_declines_it(call, lang, problem, declined, accepted) -> None:
    # "ok, I'll try it, thanks" acknowledges the answer; only a real yes connects to a consultant.
    no_link = "no" if lang == "en" else "nie"  # the reset link is offered first; a person after a no to it
    c = call(lang)
    await c.start()
    await c.say(problem)
    offer = await c.say(no_link)
    assert offer.action == "continue" and offer.node == "offer_human_account" and offer.text.endswith("?")
    reply = await c.say(declined)
    assert reply.action != "transfer" and reply.reason is None
    again = call(lang)
    await again.start()
    await again.say(problem)
    await again.say(no_link)
    assert (await again.say(accepted)).action == "transfer"
