"""A booking read back ("So I'll move your appointment to Friday at 10 am. Is that right?") answered with another
day or time is a correction, read back again with the new values; never "I can't help with that here" and never a
yes to the day the caller wanted to leave (phone_blind28 en-r4). A greeting is not a time of day."""

from __future__ import annotations

import pytest

MOVE = {"en": ("I'd like to move my appointment to Friday", "at 10 am"),
        "pl": ("Chcę przełożyć wizytę technika na piątek", "o dziesiątej")}
READ_BACK = {"en": "Friday, 27 November at 10 am", "pl": "piątek, 27 listopada, godzina 10:00"}
# (what the caller says instead, what the bot reads back then)
INSTEAD = {"en": [("Actually make it Monday at 2 pm", "Monday, 30 November at 2 pm"),
                  ("No, Monday at two in the afternoon", "Monday, 30 November at 2 pm"),
                  ("Friday at 3 pm", "Friday, 27 November at 3 pm")],
           "pl": [("W poniedziałek o czternastej", "poniedziałek, 30 listopada, godzina 14:00"),
                  ("Nie, w poniedziałek o czternastej", "poniedziałek, 30 listopada, godzina 14:00")]}
DONE = {"en": "Your appointment is now on", "pl": "Wizyta jest teraz"}
YES = {"en": "yes", "pl": "tak"}


@pytest.mark.parametrize(("lang", "instead", "read_back"),
                         [(lang, i, r) for lang, pairs in INSTEAD.items() for i, r in pairs])
async def test_another_day_or_time_at_the_read_back_is_read_back_and_then_booked(call, lang, instead,
                                                                                 read_back) -> None:
    c = call(lang)
    await c.start()
    request, time = MOVE[lang]
    await c.say(request, asr_confidence=0.8)
    first = await c.say(time, asr_confidence=0.8)
    assert READ_BACK[lang] in first.text and first.node == "confirm_move"
    corrected = await c.say(instead, asr_confidence=0.6)
    assert corrected.action == "continue" and corrected.node == "confirm_move", corrected.text
    assert read_back in corrected.text
    done = await c.say(YES[lang], asr_confidence=0.8)
    assert DONE[lang] in done.text and read_back.split(",")[0] in done.text


async def test_good_morning_is_a_greeting_not_the_time_wanted(call) -> None:
    c = call("en")
    await c.start()
    asked = await c.say("Good morning. I need to move my appointment to Monday.", asr_confidence=0.8)
    assert asked.node == "ask_move_time", asked.text  # the time is asked, not 9 am taken from the greeting
    booked = await c.say("in the morning please", asr_confidence=0.8)
    assert "Monday, 30 November at 9 am" in booked.text  # "morning" as an answer is still the morning slot


@pytest.mark.parametrize(("lang", "said", "on_file"), [
    ("en", "I want to book a technician, I was expecting one on Friday", "Friday, 27 November at 10 am"),
    ("pl", "Chcę umówić technika, miał przyjść w piątek", "piątek, 27 listopada, godzina 10:00"),
])
async def test_a_booking_that_names_the_day_of_the_visit_on_file_hears_that_visit_and_is_asked_the_day(
        call, lang, said, on_file) -> None:
    # phone_blind27 en-r6: "something coming up on Friday" (the visit's day) was taken for the day to book.
    c = call(lang)
    await c.start()
    asked = await c.say(said, asr_confidence=0.8)
    assert asked.intent == "book_appointment" and asked.node == "ask_date", asked.text
    assert on_file in asked.text
