"""A number whisper mis-hears over an 8 kHz line is read again with only digits allowed (asr.digits_second_look).

espeak-ng's en-us "one six four seven zero" (140 words a minute) reaches whisper-base at 8 kHz as "one big 4mm
Nero": two digits, and no request the flow knows. Without the second look the caller hears "I heard 1 4: 2 of the 5
digits..."; with it, the same audio read with only digits allowed gives 1 6 4 7 0, and the caller hears that
number looked up (not a demo CRM order: "I couldn't find an order with the number 1 6 4 7 0").
The turn ends at the silence cap (no smart-turn, no speculative text): whisper's first words on this audio change
with where the turn was cut, and some cuts read as a request ("one thick 4th Amman Railroad" as hold_on), which
rightly gets no second look.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.env import always_staffed
from tests.support.number_turn import ORDER_QUESTION, call, espeak
from voicebot.config import Settings
from voicebot.dialog.types import BotReply
from voicebot.pipeline.models import SharedModels
from voicebot.store.calls import CallStore


@pytest.mark.models
async def test_a_misheard_order_number_is_read_again_as_digits_and_looked_up(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, tmp_path: Path) -> None:
    turn = settings.turn.model_copy(update={"smart_turn": False, "finished_words_silence_secs": 0.0})
    asr = settings.asr.model_copy(update={"speculative": False})
    settings = settings.model_copy(update={"turn": turn, "asr": asr})
    turns = [espeak(ORDER_QUESTION, tmp_path), espeak("one six four seven zero", tmp_path, speed=140)]
    replies: list[BotReply] = []
    said, _timings, _media = await call(settings, shared_models, call_store, turns, "second-look", replies=replies)

    assert len(replies) == 2, [s.text for s in said]
    assert "1 6 4 7 0" in replies[1].text, (said[1], replies[1].text)  # looked up, or read back to be confirmed


@pytest.mark.models
async def test_asking_for_a_person_at_the_number_question_is_not_read_as_digits(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, tmp_path: Path) -> None:
    settings = always_staffed(settings)  # a transfer, not the after-hours callback, whatever the wall clock says
    turns = [espeak(ORDER_QUESTION, tmp_path), espeak("I want to talk to a person.", tmp_path)]
    replies: list[BotReply] = []
    said, _timings, _media = await call(settings, shared_models, call_store, turns, "second-look-person",
                                        replies=replies)

    assert len(replies) == 2 and replies[1].action == "transfer", ([s.text for s in said], replies[-1].text)
    assert said[1].alternatives or not said[1].text.replace(" ", "").isdigit(), said[1]  # the caller's words
