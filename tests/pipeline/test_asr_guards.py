"""Whisper's own inventions must not become what the caller said: its context (the flow's hints) copied
back, or a hypothesis looping on one word (both seen in bench/phone.py on 8 kHz audio)."""

from __future__ import annotations

import pytest

from voicebot.config import TurnSettings
from voicebot.pipeline.asr import COMPRESSION_MAX, _compression_ratio, _copied, _loops, readable, unrepeated
from voicebot.pipeline.unfinished import no_words

MENU = ("Customer service. Order status, where is my order, delivery, parcel, return, refund, complaint, "
        "change of address, appointment, opening hours on Saturday.")


@pytest.mark.parametrize(("heard", "copied"), [
    ("Order status, where is my order,", True),  # blind phone bench: "What are your opening hours?" came out so
    ("Delivery, parcel, return.", True),
    ("Where is my order?", False),  # one phrase: what callers say
    ("And what are your opening hours on Saturday?", False),
    ("Hi, where is my order and my parcel?", False),
])
def test_a_transcript_made_of_the_hint_list_is_recognised_as_copied(heard: str, copied: bool) -> None:
    assert _copied(heard, MENU) is copied


def test_a_looping_hypothesis_is_detected_and_a_real_sentence_is_not() -> None:
    assert _compression_ratio("To jest " + "Janic " * 50) > COMPRESSION_MAX
    assert _compression_ratio("Hi, I would like to check where my order is.") < COMPRESSION_MAX
    assert _compression_ratio("4-8-1-5-2, no sorry, 1-2-3-4-5") < COMPRESSION_MAX


@pytest.mark.parametrize(("heard", "empty"), [
    ("4-8-12", False),  # "Four eight one two." over SIP at 8 kHz: an answer, not line noise
    ("4812.", False),
    ("Hmm.", True),
    ("Yyy...", True),
    ("", True),
])
def test_a_number_alone_is_words_and_a_hum_is_not(heard: str, empty: bool) -> None:
    assert no_words(heard, TurnSettings()) is empty


@pytest.mark.parametrize(("heard", "meant"), [
    # phone_blind6 en-c1: whisper wrote the caller's one sentence twice.
    ("Good morning, I'm ringing to find out what happened to my order. Good morning, I'm ringing to find out what "
     "happened to my order.", "Good morning, I'm ringing to find out what happened to my order."),
    ("Dzień dobry, chciałem sprawdzić zamówienie. Dzień dobry chciałem sprawdzić zamówienie!",
     "Dzień dobry, chciałem sprawdzić zamówienie."),
    ("It is 4 8 1 5 2. It is 4 8 1 5 2. Thanks.", "It is 4 8 1 5 2. Thanks."),
    # a caller's own short emphasis, and two different sentences, stay as said
    ("No. No.", "No. No."),
    ("Where is my order? Where is my order, the kettle?", "Where is my order? Where is my order, the kettle?"),
])
def test_a_sentence_whisper_wrote_twice_reaches_the_dialog_once(heard: str, meant: str) -> None:
    assert unrepeated(heard) == meant


@pytest.mark.parametrize(("heard", "shown"), [
    # half a Polish letter decoded on its own (phone_blind20 pl-e2): dropped, not shown to a supervisor
    ("Salo, proje, m\ufffdniego, tate", "Salo, proje, mniego, tate"),
    ("tak \ufffd dziękuję", "tak dziękuję"),
    ("Zażółć gęślą jaźń.", "Zażółć gęślą jaźń."),
])
def test_a_broken_letter_from_whisper_never_reaches_the_transcript(heard: str, shown: str) -> None:
    assert readable(heard) == shown


@pytest.mark.parametrize(("heard", "loops"), [
    # whisper on a mumbled noisy turn: too short for the compression ratio (1.7), still no one's words
    ("So it's a Ph.N.D.I.M.D.I.M.D.I.M.D.I.M.D.I.M.D.I.M.", True),
    ("To jest " + "Janic " * 50, True),
    # one word, the whole turn, again and again (phone_blind8 en-r7: handed to complaints; pl-r6)
    ("Complete complete complete complete.", True),
    ("Rage, Rage, Rage, Rage, Rage.", True),
    # a clause again and again at the end of a turn (phone_blind18 pl-r8: handed over as a payment problem)
    ("I dobra, mam uruchoną, wimytę pachy, karatią tek, a rejniesz pętyń, a rejniesz pętyń, a rejniesz pętyń, "
     "a rejniesz pętyń.", True),
    ("four eight, four eight, four eight, four eight", False),
    ("No thank you, no thank you, no thank you.", False),
    # what callers say, repeated or not
    ("one one one one one", False),
    ("four four four four four", False),
    ("pięć pięć pięć pięć", False),
    ("No, no, no.", False),
    ("1 1 1 1 1", False),
    ("No, no, no, I said four eight one five two.", False),
    ("Hi, I would like to check where my order is.", False),
])
def test_a_transcript_looping_on_a_short_piece_is_not_taken_as_words(heard: str, loops: bool) -> None:
    assert _loops(heard) is loops
