""""Where is my order?" from the number the orders were placed from: the latest one is offered, so the caller need
not say five digits over the phone line (whisper base mis-hears them at 8 kHz, Polish most of all). A caller whose
order it is not says no (with their number, or without it and is asked); a caller with no orders on file, a
failing CRM, or a number in the request itself is asked for the number as before."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.dialog.conftest import Caller
from voicebot.dialog.crm_server import start_demo_crm

MARY, EWA = "+48500300400", "+48 600 300 400"  # demo CRM customers with orders (demo_crm.SAMPLE_ORDERS)
NOBODY = "+48 111 222 333"
ASK = {"en": "where is my order", "pl": "gdzie jest moje zamówienie"}
OFFER = {"en": "4 8 1 5 2, the coffee grinder. Is it about that one?", "pl": "1 2 3 4 5, lampka biurkowa."}
CALLER = {"en": MARY, "pl": EWA}
YES = {"en": "yes", "pl": "tak"}
STATUS = {"en": "has been shipped", "pl": "jest w przygotowaniu"}
NO_WITH_NUMBER = {"en": ("no, it's five five five oh one", "was delivered"),
                  "pl": ("nie, chodzi o dziewięć zero dwa jeden zero", "zostało anulowane")}
NUMBER_ASKED = {"en": "five-digit order number", "pl": "pięciocyfrowy numer zamówienia"}


@pytest.fixture
async def dial(engine_factory, crm) -> AsyncIterator[Callable[..., Caller]]:
    made: list[Caller] = []

    def start(lang: str, number: str, crm_url: str | None = None) -> Caller:
        made.append(Caller(engine_factory(crm_url or crm.url), lang, number=number))
        return made[-1]

    yield start
    for c in made:
        await c.engine.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_the_latest_order_on_the_callers_number_is_offered_and_a_yes_reads_its_status(dial, lang) -> None:
    c = dial(lang, CALLER[lang])
    await c.start()
    offered = await c.say(ASK[lang])
    assert OFFER[lang] in offered.text and offered.node == "offer_latest_order"
    told = await c.say(YES[lang], asr_confidence=0.5)
    assert STATUS[lang] in told.text and told.action == "continue" and told.node == "anything_else"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_no_with_another_number_is_that_order(dial, lang) -> None:
    c = dial(lang, CALLER[lang])
    await c.start()
    await c.say(ASK[lang])
    said, status = NO_WITH_NUMBER[lang]
    told = await c.say(said)
    assert status in told.text and told.node == "anything_else"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_a_plain_no_asks_for_the_number(dial, lang) -> None:
    c = dial(lang, CALLER[lang])
    await c.start()
    await c.say(ASK[lang])
    asked = await c.say({"en": "no", "pl": "nie"}[lang])
    assert NUMBER_ASKED[lang] in asked.text and asked.node == "ask_order" and asked.action == "continue"


@pytest.mark.parametrize(("said", "status"), [
    ("the order number is four eight one five two", "has been shipped"),  # the one offered: a yes
    ("it's five five five oh one", "was delivered"),  # another one, without a "no"
])
async def test_a_number_said_to_the_offer_answers_it(dial, said: str, status: str) -> None:
    c = dial("en", MARY)
    await c.start()
    await c.say(ASK["en"])
    told = await c.say(said, asr_confidence=0.9)
    assert status in told.text and told.node == "anything_else"


async def test_the_number_typed_at_the_offer_is_that_order(dial) -> None:
    c = dial("en", MARY)
    await c.start()
    await c.say(ASK["en"])
    told = await c.press("55501")
    assert "was delivered" in told.text and told.node == "anything_else"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_without_orders_on_file_the_number_is_asked_for(dial, lang) -> None:
    c = dial(lang, NOBODY)
    await c.start()
    asked = await c.say(ASK[lang])
    assert NUMBER_ASKED[lang] in asked.text and asked.node == "ask_order"


async def test_a_failing_crm_asks_for_the_number(dial) -> None:
    failing = await start_demo_crm(fail_status=500)
    try:
        c = dial("en", MARY, crm_url=failing.url)
        await c.start()
        asked = await c.say(ASK["en"])
        assert NUMBER_ASKED["en"] in asked.text and asked.node == "ask_order" and asked.action == "continue"
    finally:
        await failing.stop()


async def test_a_number_in_the_request_is_looked_up_without_an_offer(dial) -> None:
    c = dial("en", MARY)
    await c.start()
    told = await c.say("where is my order one two three four five")
    assert "is being prepared" in told.text and "latest order" not in told.text
