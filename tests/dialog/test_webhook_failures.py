"""A slow, failing or absent CRM: the caller is told, offered a person, and nothing crashes."""

from __future__ import annotations

import pytest

from voicebot.dialog.crm_server import start_demo_crm


@pytest.mark.parametrize(("lang", "ask", "digits", "told", "offer", "yes"), [
    ("en", "where is my order", "48152", "can't reach our system", "connect you with a colleague", "yes please"),
    ("pl", "gdzie jest moja paczka", "48152", "nie mogę teraz połączyć", "Czy połączyć z konsultantem", "tak"),
])
async def test_crm_500_caller_is_told_and_offered_a_person(call, lang, ask, digits, told, offer, yes) -> None:
    failing = await start_demo_crm(fail_status=500)
    try:
        c = call(lang, crm_url=failing.url)
        await c.start()
        await c.say(ask)
        reply = await c.say(digits)
        assert told in reply.text and offer in reply.text
        assert reply.action == "continue" and reply.node == "offer_human"
        handed = await c.say(yes)
        assert handed.action == "transfer" and handed.reason == "action_failed"
        assert c.session.snapshot()["slots"]["order_number"] == "48152"  # the agent gets the number
    finally:
        await failing.stop()


async def test_crm_timeout_then_caller_declines_a_person_and_goes_on(call) -> None:
    slow = await start_demo_crm(delay_s=3.0)  # the flow allows 2 s per attempt, 1 retry
    try:
        c = call("en", crm_url=slow.url)
        await c.start()
        reply = await c.say("I want to return order 12345")
        assert "can't reach our system" in reply.text and reply.node == "offer_human"
        declined = await c.say("no thanks")
        assert declined.node == "anything_else" and declined.action == "continue"
    finally:
        await slow.stop()


async def test_crm_not_running_at_all(call) -> None:
    c = call("pl", crm_url="http://127.0.0.1:9")  # nothing listens on the discard port
    await c.start()
    await c.say("chcę zwrócić zamówienie 12345")
    assert c.session.state.node == "offer_human"
    assert (await c.say("tak")).action == "transfer"


async def test_crm_404_is_an_answer_not_a_failure(call) -> None:
    c = call("en")
    await c.start()
    await c.say("where is my order")
    reply = await c.say("1 2 3 4 9")
    assert reply.node == "ask_order_again" and "couldn't find" in reply.text and "can't reach" not in reply.text
