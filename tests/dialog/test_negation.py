"""A negated word corrected by what the caller asserts ("not cancel it, just shift it"; "not cancel it, change it")
does not decide the intent.

The scope rule lives in nlu_text.normalize: from the negator to the corrective word ("just", "tylko", "po prostu")
the words are dropped, so the asserted request is what the classifier sees. A negation that is itself the trouble
("it doesn't work, it just beeps") stays.
"""

from __future__ import annotations

import pytest

from voicebot.dialog.nlu_text import normalize
from voicebot.dialog.registry import FlowRegistry


@pytest.mark.parametrize(("lang", "text", "normalized"), [
    ("en", "could we not cancel it, just shift it to next week", "could we just shift it to next week"),
    ("en", "it isn't broken, I just don't like the colour", "it just don't like the colour"),
    ("pl", "nie odwołać, tylko przełożyć", "tylko przelozyc"),
    ("pl", "nie jest zepsuty, po prostu mi się nie podoba", "po prostu mi sie nie podoba"),
    # a negated task verb corrected by another task verb, without "just"/"tylko"
    ("en", "no, not cancel it, change it", "no change it"),
    ("pl", "nie odwoływać, przełożyć", "przelozyc"),
    # the same verb again is no correction
    ("en", "don't cancel it, i'll cancel it myself", "don't cancel it i'll cancel it myself"),
    # the negation is the trouble: it stays
    ("en", "it doesn't work, it just beeps", "it doesn't work it just beeps"),
    ("pl", "pralka nie działa, tylko piszczy", "pralka nie dziala tylko piszczy"),
    # what came instead is a noun phrase: the missing thing is the news
    ("en", "I didn't get my refund, just an email", "i didn't get my refund just an email"),
    # no corrective word, or "but": the negation stands
    ("en", "the kettle is not broken but the lid is", "the kettle is not broken but the lid is"),
    ("pl", "nie tylko nie działa, ale też śmierdzi", "nie tylko nie dziala ale tez smierdzi"),
])
def test_the_negated_part_of_a_correction_is_dropped(lang: str, text: str, normalized: str) -> None:
    assert normalize(text, lang) == normalized


@pytest.mark.parametrize(("lang", "text", "intent"), [
    ("en", "I don't want to cancel it, just shift it to Friday", "move_appointment"),
    ("en", "the visit on thursday, could we not cancel it, just move it to next week", "move_appointment"),
    ("pl", "nie odwołać, tylko przełożyć", "move_appointment"),
    ("pl", "wizyta w czwartek, nie chodzi o to żeby odwołać, tylko przesunąć", "move_appointment"),
    ("en", "no, not cancel it, change it", "move_appointment"),
    ("en", "please don't cancel my booking, move it to monday", "move_appointment"),
    ("pl", "nie anulujcie wizyty, przesuńcie ją na poniedziałek", "move_appointment"),
    ("en", "it isn't broken, I just don't like the colour", "return_item"),
    ("pl", "nie jest zepsuty, po prostu mi się nie podoba", "return_item"),
    ("en", "it doesn't work, it just beeps", "technical_fault"),
    ("pl", "pralka nie działa, tylko piszczy", "technical_fault"),
    # an exchange goes through a return, not a visit moved or a detail changed
    ("en", "can I swap it for a different size", "return_item"),
    ("pl", "chcę wymienić na inny kolor", "return_item"),
])
def test_the_asserted_request_wins(shipped_flows: FlowRegistry, lang: str, text: str, intent: str) -> None:
    loaded = shipped_flows.get("customer_service", lang)
    assert loaded is not None
    assert loaded.nlu.classify(text).intent == intent
