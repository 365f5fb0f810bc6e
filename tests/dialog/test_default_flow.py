"""The shipped customer_service flow, driven like a phone line, against the real demo CRM, in both languages."""

from __future__ import annotations

import pytest

from tests.dialog.conftest import CLOSED
from voicebot.dialog.demo_crm import CRM_DATA, SAMPLE_ORDERS


@pytest.mark.parametrize(("lang", "words", "told"), [
    ("en", "that's all, thank you", "recorded"),
    ("pl", "to wszystko, dziękuję", "nagrywana"),
])
async def test_greeting_says_automated_and_recording_then_goodbye_ends(call, lang, words, told) -> None:
    c = call(lang)
    hello = await c.start()
    assert ("automated assistant" in hello.text) if lang == "en" else ("automatycznym asystentem" in hello.text)
    assert told in hello.text and hello.action == "continue" and hello.node == "menu"
    bye = await c.say(words)
    assert bye.intent == "goodbye" and bye.action == "end"


async def test_recording_notice_follows_privacy_setting(call, settings) -> None:
    from voicebot.dialog.loader import fixed_clock, load_engine
    from voicebot.dialog.types import CallInfo

    recorded = settings.model_copy(update={"privacy": settings.privacy.model_copy(update={"record_audio": True})})
    engine = load_engine(recorded, clock=fixed_clock(CLOSED))
    reply = await engine.new_session(CallInfo("r1", language="en")).start()
    assert "This call is recorded." in reply.text
    reply = await engine.new_session(CallInfo("r2", language="pl")).start()
    assert "Rozmowa jest nagrywana." in reply.text
    # A phone call whose recording did not start is not announced as recorded, whatever the setting says.
    reply = await engine.new_session(CallInfo("r3", language="en", recorded=False)).start()
    assert "This call is not recorded." in reply.text
    reply = await engine.new_session(CallInfo("r4", language="pl", recorded=False)).start()
    assert "Rozmowa nie jest nagrywana." in reply.text
    await engine.close()


@pytest.mark.parametrize(("lang", "ask", "digits"), [
    ("en", "where is my order", "four eight one five two"),
    ("pl", "gdzie jest moje zamówienie", "cztery osiem jeden pięć dwa"),
])
async def test_order_status_reads_crm_data(call, lang, ask, digits) -> None:
    c = call(lang)
    await c.start()
    asked = await c.say(ask)
    assert asked.intent == "order_status" and asked.node == "ask_order"
    answer = await c.say(digits)
    assert answer.slots["order_number"] == "48152"
    item = SAMPLE_ORDERS["48152"]["item" if lang == "en" else "item_pl"]
    eta = "Friday, 27 November" if lang == "en" else "piątek, 27 listopada"  # the CRM's ISO date, read aloud
    assert item in answer.text and eta in answer.text and answer.node == "anything_else"
    snap = c.session.snapshot()
    assert snap["verified"]["order"]["status"] == "shipped" and snap["intents"] == ["order_status"]
    assert snap["flow_id"] == "customer_service" and snap["flow_version"] == 1


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_wrong_length_digits_are_reprompted_with_varied_wording_then_fallback(call, lang) -> None:
    c = call(lang)
    await c.start()
    await c.say("where is my order" if lang == "en" else "gdzie jest moje zamówienie")
    first = await c.say("one two three")
    second = await c.say("four")
    assert first.node == second.node == "ask_order" and first.text != second.text
    third = await c.say("seven" if lang == "en" else "siedem")
    assert third.action == "transfer" and third.reason == "no_match"  # never a loop of "I didn't understand"


@pytest.mark.parametrize(("lang", "request_", "address", "yes"), [
    ("en", "I need to change my delivery address", "Long Street 5, Krakow", "yes"),
    ("pl", "chcę zmienić adres dostawy", "ulica Długa 5, Kraków", "tak"),
])
async def test_free_text_and_yes_no_slots_and_post_webhook(call, crm, lang, request_, address, yes) -> None:
    c = call(lang)
    await c.start()
    assert (await c.say(request_)).node == "ask_new_address"
    confirm = await c.say(address)
    assert confirm.node == "confirm_address" and address in confirm.text
    done = await c.say(yes)
    assert done.slots["address_ok"] is True and done.node == "anything_else"
    stored = crm.runner.app[CRM_DATA].address_changes
    assert stored[-1]["address"] == address and stored[-1]["phone"] == "+48600100200"
    assert stored[-1]["ticket"] in done.text


@pytest.mark.parametrize(("lang", "request_", "first", "correction", "address", "yes"), [
    ("en", "I need to change my address", "Polna 5", "no, it's Polna 5 in Sopot", "Polna 5 in Sopot", "yes"),
    ("pl", "chcę zmienić adres", "ulica Polna 5", "nie, Polna 5 w Sopocie", "Polna 5 w Sopocie", "tak"),
])
async def test_a_no_with_the_right_address_is_read_back_not_asked_again(call, crm, lang, request_, first, correction,
                                                                         address, yes) -> None:
    # escalation_blind32 en-p20: the caller's correction was dropped and the address asked for again, three times.
    c = call(lang)
    await c.start()
    await c.say(request_)
    await c.say(first)
    again = await c.say(correction)
    assert again.node == "confirm_address" and address in again.text
    assert (await c.say(yes)).node == "anything_else"
    assert crm.runner.app[CRM_DATA].address_changes[-1]["address"] == address


@pytest.mark.parametrize("no", ["no", "no, sorry, I don't know it"])
async def test_a_bare_no_to_the_address_read_back_asks_again(call, no) -> None:
    c = call("en")
    await c.start()
    await c.say("I need to change my address")
    await c.say("Polna 5")
    assert (await c.say(no)).node == "ask_new_address"


@pytest.mark.parametrize(("lang", "when", "date", "time", "readback"), [
    ("en", "next Tuesday at two in the afternoon", "2026-12-01", "14:00", "Tuesday, 1 December at 2 pm"),
    ("pl", "w przyszły wtorek o drugiej po południu", "2026-12-01", "14:00", "wtorek, 1 grudnia o 14:00"),
])
async def test_appointment_date_time_read_back_and_booked(call, lang, when, date, time, readback) -> None:
    c = call(lang)
    await c.start()
    asked = await c.say("I want to book an appointment" if lang == "en" else "chcę umówić wizytę")
    assert asked.node == "ask_date"
    confirm = await c.say(when)
    assert confirm.slots == {"appointment_date": date, "appointment_time": time}
    assert readback in confirm.text
    booked = await c.say("no problem" if lang == "en" else "no jasne")
    assert booked.node == "anything_else" and "A10" in booked.text


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_complaint_is_transferred_with_bridging_message(call, lang) -> None:
    c = call(lang)
    await c.start()
    reply = await c.say("the package was damaged and I want to complain" if lang == "en"
                        else "paczka była uszkodzona, chcę złożyć reklamację")
    assert reply.action == "transfer" and reply.reason == "complaint" and reply.intent == "complaint"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_talk_to_human_at_any_node_and_keypad_zero(call, lang) -> None:
    c = call(lang)
    await c.start()
    await c.say("I want to book an appointment" if lang == "en" else "chcę umówić wizytę")
    reply = await c.say("just put me through to a consultant" if lang == "en" else "proszę przełączyć do konsultanta")
    assert reply.action == "transfer" and reply.reason == "explicit_request"
    bridging = "I'll pass on everything" if lang == "en" else "przekażę wszystko, co już wiem"
    assert bridging in reply.text
    c2 = call(lang)
    await c2.start()
    assert (await c2.press("0")).action == "transfer"


async def test_after_the_call_ended_further_turns_do_not_restart_it(call) -> None:
    c = call("en")
    await c.start()
    assert (await c.say("goodbye")).action == "continue"  # a lone early "bye" is confirmed first
    assert (await c.say("yes")).action == "end"
    again = await c.say("hello?")
    assert again.action == "end" and again.text == ""
