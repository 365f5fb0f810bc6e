"""An account takeover or fraud report reaches a person at once, with its own reason, in both languages: from
the menu and in the middle of another topic."""

from __future__ import annotations

import pytest

from voicebot.escalation import make_tracker


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "someone ordered things on my account"),
    ("en", "my account was hacked"),
    ("pl", "ktoś się włamał na moje konto"),
    ("pl", "nie zamawiałem tego, to oszustwo"),
])
async def test_takeover_or_fraud_goes_to_a_person_with_account_security(call, lang, words) -> None:
    c = call(lang)
    await c.start()
    reply = await c.say(words)
    assert reply.action == "transfer" and reply.reason == "account_security"
    assert reply.intent == "account_security"


@pytest.mark.parametrize(("lang", "ask", "words"), [
    ("en", "where is my order", "I never ordered anything, someone is using my account"),
    ("pl", "gdzie jest moja paczka", "nic nie zamawiałam, ktoś korzysta z mojego konta"),
])
async def test_fraud_reported_at_the_order_number_question_still_reaches_a_person(call, lang, ask, words) -> None:
    c = call(lang)
    await c.start()
    assert (await c.say(ask)).node == "ask_order"
    reply = await c.say(words)
    assert reply.action == "transfer" and reply.reason == "account_security"


@pytest.mark.parametrize(("lang", "words"), [("en", "I forgot my password"), ("pl", "chcę zmienić e-mail na koncie")])
async def test_routine_account_requests_stay_self_service(call, lang, words) -> None:
    c = call(lang)
    await c.start()
    reply = await c.say(words)
    assert reply.action == "continue" and reply.intent != "account_security"


@pytest.mark.parametrize(("lang", "ask", "words"), [
    ("en", "hi, I need to reset my password", "someone else got into my account and changed my email"),
    ("en", "hi, I need to reset my password", "wait, I just got an email saying my password was changed, it wasn't me"),
    ("pl", "chcę zresetować hasło", "przyszedł mail, że hasło zostało zmienione, a to nie ja"),
    ("pl", "chcę zresetować hasło", "ktoś zmienił mi maila na koncie"),
])
async def test_a_takeover_said_in_the_middle_of_a_password_reset_reaches_a_person(call, lang, ask, words) -> None:
    c = call(lang, tracker_factory=make_tracker)
    await c.start()
    assert (await c.say(ask)).node == "password_help"
    reply = await c.say(words)
    assert reply.action == "transfer" and reply.reason == "account_security"
