"""A plain yes or no to a read-back answers it even when the caller names the thing read back ("yes that's my
address", "to nie jest mój numer"), in both languages; a turn that asks for something else still does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.dialog import slots

CONTACT = {"en": ("I'd like to change my email address", "anna at example dot com"),
           "pl": ("chcę zmienić adres e-mail", "anna małpa example kropka com")}


async def at_contact_read_back(call, lang: str):
    c = call(lang)
    await c.start()
    await c.say(CONTACT[lang][0])
    read_back = await c.say(CONTACT[lang][1])
    assert read_back.node == "confirm_contact"
    return c


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "yes that's my address all good"),
    ("en", "uh huh, that's the one"),
    ("pl", "tak, to mój adres"),
    ("pl", "zgadza się wszystko"),
])
async def test_yes_with_topic_words_confirms_the_read_back(call, crm, lang, words) -> None:
    c = await at_contact_read_back(call, lang)
    done = await c.say(words)
    assert done.node == "anything_else" and done.action == "continue"
    assert "reference number" in done.text or "Numer zgłoszenia" in done.text  # the change was submitted


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "that isn't my address"),
    ("en", "no you've got the wrong order"),
    ("pl", "to nie jest mój adres"),
    ("pl", "nie, to nie jest moje zamówienie"),
])
async def test_no_with_topic_words_rejects_the_read_back(call, lang, words) -> None:
    c = await at_contact_read_back(call, lang)
    again = await c.say(words)
    assert again.node == "ask_new_contact"  # asked for the contact again, not sent to orders or elsewhere


@pytest.mark.parametrize(("lang", "words"), [("en", "no, I want a person"),
                                             ("pl", "nie, chcę rozmawiać z konsultantem")])
async def test_no_then_a_person_still_reaches_a_person(call, lang, words) -> None:
    c = await at_contact_read_back(call, lang)
    handed = await c.say(words)
    assert handed.action == "transfer" and handed.reason == "explicit_request"


@pytest.mark.parametrize(("lang", "words"), [("en", "no, I want to check my order instead"),
                                             ("pl", "nie, chcę sprawdzić zamówienie")])
async def test_no_then_a_request_switches_topic(call, lang, words) -> None:
    c = await at_contact_read_back(call, lang)
    assert (await c.say(words)).node == "ask_order"


@pytest.mark.parametrize(("lang", "words"), [("en", "yes, where is my order"), ("pl", "tak, gdzie jest moja paczka")])
async def test_after_anything_else_the_words_after_yes_are_the_request(call, lang, words) -> None:
    c = await at_contact_read_back(call, lang)
    assert (await c.say("yes" if lang == "en" else "tak")).node == "anything_else"
    assert (await c.say(words)).node == "ask_order"


@pytest.mark.parametrize(("text", "lang", "clear"), [
    ("that isn't my number", "en", True),
    ("no, I'd like to return something", "en", False),  # a request of its own
    ("the washing machine is not spinning", "en", False),  # a negated verb, no answer
    ("to nie jest mój adres", "pl", True),
    ("tak, a kiedy przyjdzie paczka", "pl", False),
])
def test_clear_answer(text, lang, clear) -> None:
    assert slots.clear_answer(text, lang) is clear


async def at_anything_else(call, lang: str):
    c = await at_contact_read_back(call, lang)
    done = await c.say("yes" if lang == "en" else "tak")
    assert done.node == "anything_else"
    return c


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "no the number you said is wrong it ends with one five five"),
    ("pl", "nie na końcu jest jedynka pięć pięć pięć zero jeden"),
])
async def test_no_with_news_of_its_own_does_not_end_the_call(call, crm, lang, words) -> None:
    c = await at_anything_else(call, lang)
    reply = await c.say(words)
    assert reply.action != "end", reply.text  # the caller still has something to say: never hung up on


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "no I'm fine thanks"), ("en", "no that's all thank you"),
    ("pl", "nie, to już wszystko, dziękuję"), ("pl", "nie dziękuję do widzenia"),
])
async def test_no_with_a_closing_still_ends_the_call(call, crm, lang, words) -> None:
    c = await at_anything_else(call, lang)
    assert (await c.say(words)).action == "end"



@pytest.mark.parametrize(("lang", "script", "item"), [
    ("en", "I would like to check where my order is\nIt is 4 8 1 2\nYeah.\n4 8 1 5 2\n", "coffee grinder"),
    ("pl", "chcę sprawdzić zamówienie\nnumer 4 8 1 2\nTak.\n4 8 1 5 2\n", "młynek do kawy"),
])
def test_a_bare_yes_to_the_number_question_is_asked_again_not_counted_as_a_miss(lang, script, item) -> None:
    # "Yes, four eight one five two" cut at its comma on a phone line, after a number heard with a digit lost:
    # the "yes" alone must not count as a second miss (the call went to a person), and the digits that follow
    # are taken. Through `voicebot simulate`: dialog and escalation together, as on a call.
    done = subprocess.run([sys.executable, "-m", "voicebot", "simulate", "--lang", lang, "--jsonl", "--now",
                           "2026-11-25T10:00"], input=script, capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["action"] for r in rows[1:5]] == ["continue"] * 4, [(r["caller"], r["reply"]) for r in rows]
    assert item in rows[4]["reply"] or "4 8 1 5 2" in rows[4]["reply"]  # status, or the number read back


@pytest.mark.parametrize(("lang", "garbled", "again"), [
    ("en", "I have been together in my past world to earn a one, I long to know how they got in.", "digit by digit"),
    ("pl", "Nie wiem, jak oni się tam dostali, ja nikomu nie mówiłam.", "cyfra po cyfrze"),
])
async def test_words_with_no_number_or_address_are_not_taken_for_new_contact_details(call, lang, garbled,
                                                                                   again) -> None:
    # phone_blind25 en-e3: the caller's next sentence, garbled on the line, was read back as the new e-mail address.
    c = call(lang)
    await c.start()
    await c.say(CONTACT[lang][0])
    asked = await c.say(garbled, asr_confidence=0.46)
    assert asked.node == "ask_new_contact" and again in asked.text and garbled.rstrip(".") not in asked.text
    read_back = await c.say(CONTACT[lang][1])
    assert read_back.node == "confirm_contact" and CONTACT[lang][1] in read_back.text
