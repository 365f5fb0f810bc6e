"""A number whisper mis-hears over an 8 kHz line is read again with only digits allowed (asr.digits_second_look).

espeak-ng's en-gb "nine zero two one zero" reaches whisper-base at 8 kHz as "I'm Nero 21 Nero": no five digits
in any hypothesis and no request the flow knows. The digits-only second look of the same audio reads 9 0 2 1 0,
and the caller hears the status of order 90210 (the demo CRM's cancelled toaster) instead of "I heard 2 1".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.number_turn import ORDER_QUESTION, call, espeak
from voicebot.config import Settings
from voicebot.dialog.types import BotReply
from voicebot.pipeline.models import SharedModels
from voicebot.store.calls import CallStore


@pytest.mark.models
async def test_a_misheard_order_number_is_read_again_as_digits_and_its_status_is_read_out(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, tmp_path: Path) -> None:
    turns = [espeak(ORDER_QUESTION, tmp_path), espeak("nine zero two one zero", tmp_path, voice="en-gb")]
    replies: list[BotReply] = []
    said, _timings, _media = await call(settings, shared_models, call_store, turns, "second-look", replies=replies)

    assert len(said) == 2 and len(replies) == 2, [s.text for s in said]
    assert replies[1].slots.get("order_number") == "90210", (said[1], replies[1].text)
    assert "was cancelled" in replies[1].text, replies[1].text  # the order's status, read out to the caller
