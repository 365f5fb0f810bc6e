"""What callers say -> slot values, Polish and English."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from voicebot.dialog.datetimes import parse_date, parse_time
from voicebot.dialog.numbers import number_only, parse_digits, parse_number, trailing_digits
from voicebot.dialog.schema import AskNode
from voicebot.dialog.slots import bare_yes_no, cannot_answer, extract, from_dtmf, yes_no

NOW = datetime(2026, 11, 25, 10, 0)  # Wednesday


@pytest.mark.parametrize(("text", "digits"), [
    ("cztery osiem jeden pięć dwa", "48152"), ("four eight one five two", "48152"),
    ("my order is 4 8 1 5 2", "48152"), ("zero zero siedem", "007"), ("double five one two three", "55123"),
    ("oh seven one", "071"), ("numer to dziewięć dziewięć osiem zero jeden", "99801"),
    ("forty eight one fifty two", "48152"), ("nine oh two one oh which was cancelled", "90210"),
    ("oh well it is four eight one five two", "48152"), ("twenty oh", "20"),
])
def test_digits(text: str, digits: str) -> None:
    assert parse_digits(text) == digits


@pytest.mark.parametrize(("text", "plain", "runs"), [
    ("It's time, time, time, near one.", "1", "55501"),  # phone_blind33 en-r4's "five five five zero one"
    ("time time time time zero one", "01", "555501"),  # too long for an order: the node will not take it
    ("I want to book for one", "1", "1"),  # a run needs three words: "for one" is no number
    ("time to go", "", ""),  # no real digit word in the run
])
def test_soundalike_runs_are_read_only_when_asked(text: str, plain: str, runs: str) -> None:
    assert parse_digits(text) == plain and parse_digits(text, soundalike_runs=True) == runs


@pytest.mark.parametrize(("text", "number"), [
    ("dwadzieścia trzy", 23), ("twenty three", 23), ("sto dwadzieścia pięć", 125),
    ("one hundred and five", 105), ("trzy tysiące pięćset", 3500), ("two thousand twenty six", 2026),
    ("I need 4", 4), ("poproszę jedenaście", 11), ("pięćset", 500),
])
def test_numbers(text: str, number: int) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize(("text", "day", "hour"), [
    ("jutro o piętnastej", date(2026, 11, 26), time(15, 0)),
    ("next Tuesday at 3 pm", date(2026, 12, 1), time(15, 0)),
    ("w przyszły wtorek o 10:30", date(2026, 12, 1), time(10, 30)),
    ("dwudziestego ósmego listopada o wpół do czwartej", date(2026, 11, 28), time(15, 30)),
    ("on the 28th at half past two", date(2026, 11, 28), time(14, 30)),
    ("December 3rd at noon", date(2026, 12, 3), time(12, 0)),
    ("w piątek o dziewiątej rano", date(2026, 11, 27), time(9, 0)),
    ("friday at nine thirty in the morning", date(2026, 11, 27), time(9, 30)),
    ("pojutrze o czternastej trzydzieści", date(2026, 11, 27), time(14, 30)),
    ("the day after tomorrow at 4", date(2026, 11, 27), time(16, 0)),
    ("today at quarter to five", date(2026, 11, 25), time(16, 45)),
    ("2 grudnia o 11", date(2026, 12, 2), time(11, 0)),
])
def test_dates_and_times(text: str, day: date, hour: time) -> None:
    assert parse_date(text, NOW) == day
    assert parse_time(text) == hour


@pytest.mark.parametrize(("text", "day", "hour"), [
    # a visit moved: the day and hour after "to" / "na" are the new ones, not the old ones before them
    ("change the date, from the twenty seventh to the thirtieth", date(2026, 11, 30), None),
    ("move it from Friday to Tuesday", date(2026, 12, 1), None),
    ("z piątku dwudziestego siódmego na wtorek", date(2026, 12, 1), None),
    ("from 10 am to 2 pm", None, time(14, 0)),
    ("z dziesiątej na czternastą", None, time(14, 0)),
    # one date or time with "to" in the sentence is that one
    ("I'd like to come on Monday", date(2026, 11, 30), None),
    ("I want to be there at 3 pm", None, time(15, 0)),
])
def test_from_one_date_or_time_to_another_is_the_second(text: str, day: date | None, hour: time | None) -> None:
    assert parse_date(text, NOW) == day
    assert parse_time(text) == hour


@pytest.mark.parametrize(("text", "value"), [
    ("tak", True), ("no jasne", True), ("tak, zgadza się", True), ("yes please", True), ("sure", True),
    ("that's right", True), ("nie", False), ("raczej nie", False), ("nope", False), ("no thanks", False),
    ("absolutely not", False), ("no", False), ("no tak", True), ("hmm", None), ("może", None),
])
def test_yes_no(text: str, value: bool | None) -> None:
    assert yes_no(text) is value


def test_lone_polish_no_is_ambiguous_and_asked_again() -> None:
    assert yes_no("no", "pl") is None and yes_no("no", "en") is False
    assert yes_no("no tak", "pl") is True and yes_no("no nie", "pl") is False


def test_slot_types_from_speech_and_keypad() -> None:
    digits = AskNode(kind="ask", slot="o", type="digits", prompt="?", length=5, next="x")
    assert extract(digits, "one two three", NOW) is None  # wrong length is not a value
    assert from_dtmf(digits, "48152#") == "48152"
    assert from_dtmf(digits, "481") is None
    yn = AskNode(kind="ask", slot="y", type="yes_no", prompt="?", next="x")
    assert (from_dtmf(yn, "1"), from_dtmf(yn, "2"), from_dtmf(yn, "5")) == (True, False, None)
    when = AskNode(kind="ask", slot="d", type="date", prompt="?", next="x")
    assert extract(when, "w sobotę", NOW) == "2026-11-28"
    free = AskNode(kind="ask", slot="f", type="free_text", prompt="?", next="x")
    assert extract(free, "  ul. Długa 5 ", NOW) == "ul. Długa 5"


@pytest.mark.parametrize(("text", "hour"), [
    ("ten in the morning", time(10, 0)), ("three in the afternoon", time(15, 0)), ("8 in the evening", time(20, 0)),
])
def test_an_hour_with_its_part_of_the_day(text: str, hour: time) -> None:
    assert parse_time(text) == hour


@pytest.mark.parametrize(("text", "cannot"), [
    ("I don't have the number, I deleted the email", True), ("no idea, sorry", True),
    ("nie mam numeru, skasowałam maila", True), ("nie pamiętam go", True),
    ("four eight one five two", False), ("I'd like to change my email", False), ("zmieniłam numer", False),
])
def test_a_caller_who_cannot_give_the_answer(text: str, cannot: bool) -> None:
    assert cannot_answer(text) is cannot


@pytest.mark.parametrize(("text", "lang", "value"), [
    ("absolutely", "en", True), ("uh huh yes please", "en", True), ("nie, dziękuję", "pl", False),
    ("pralka nie wiruje", "pl", None), ("płatność nie przeszła", "pl", None), ("no not today", "en", None),
    # a yes of a phrase whose words are no yes alone, and regional Polish yes words (blind14)
    ("spot on", "en", True), ("ano", "pl", True), ("jo", "pl", True), ("no jasne", "pl", True),
])
def test_a_bare_yes_or_no_says_nothing_else(text: str, lang: str, value: bool | None) -> None:
    assert bare_yes_no(text, lang) is value


@pytest.mark.parametrize(("text", "only"), [
    ("48152", True),
    ("4-8-1-5-2.", True),
    ("cztery osiem jeden pięć dwa", True),
    ("it is 4 8 1 5 2", True),
    ("It's time for two one four.", True),  # whisper's "nine, oh, two, one, oh" (phone_blind20 en-r7)
    ("to jest cztery osiem jeden", True),
    ("two", False),  # a menu choice, not an order number
    ("one two", False),
    ("I ordered 3 chairs", False),
    ("my order 48152 has not arrived", False),  # a request with a number: the classifier's turn
])
def test_a_turn_that_is_only_a_number(text: str, only: bool) -> None:
    assert number_only(text) is only


@pytest.mark.parametrize(("text", "begun"), [
    ("Yeah, hi. Could you check order 55?", "55"),  # "fifty-five, five oh one" cut at its comma
    ("sprawdzi Pan zamówienie pięćdziesiąt pięć", "55"),
    ("where is my order four eight", "48"),
    ("where is my order", ""),
    ("I bought 2 lamps, where is my order", ""),  # a number inside the request begins nothing
])
def test_the_digits_a_turn_ends_on(text: str, begun: str) -> None:
    assert trailing_digits(text) == begun
