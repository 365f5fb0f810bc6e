""""When is the technician coming?": the visit booked for the caller's number, read from the CRM, then moved or
cancelled if the caller wants; no visit or a failing CRM is said, and a person offered."""

from __future__ import annotations

import pytest

from tests.dialog.conftest import Caller
from voicebot.dialog.crm_server import start_demo_crm

ASK = {"en": "when is the technician coming", "pl": "kiedy przyjdzie technik"}
TOLD = {"en": "Friday, 27 November at 10 am", "pl": "piątek, 27 listopada, godzina 10:00"}
MOVE = {"en": "yes, I need to move it", "pl": "tak, chcę ją przełożyć"}
NONE = {"en": "couldn't find an appointment", "pl": "Nie znalazłem wizyty"}


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_the_visit_on_file_is_told_and_can_then_be_moved(call, lang) -> None:
    c = call(lang)
    await c.start()
    told = await c.say(ASK[lang])
    assert told.intent == "appointment_info" and told.action == "continue"
    assert TOLD[lang] in told.text and told.node == "anything_else"
    moving = await c.say(MOVE[lang])
    assert moving.intent == "move_appointment" and moving.node == "ask_move_date"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_no_visit_for_the_number_is_said_and_a_person_offered(engine_factory, crm, lang) -> None:
    c = Caller(engine_factory(crm.url), lang, number="+48 111 222 333")
    try:
        await c.start()
        told = await c.say(ASK[lang])
        assert NONE[lang] in told.text and told.action == "continue"  # asked first, never a silent transfer
    finally:
        await c.engine.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_a_failing_crm_offers_a_person_instead_of_a_date(call, lang) -> None:
    failing = await start_demo_crm(fail_status=500)
    try:
        c = call(lang, crm_url=failing.url)
        await c.start()
        told = await c.say(ASK[lang])
        assert TOLD[lang] not in told.text and told.action == "continue"
        assert told.node == "offer_human"
    finally:
        await failing.stop()
