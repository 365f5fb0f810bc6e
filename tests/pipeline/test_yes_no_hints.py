"""A lone "Yes." over an 8 kHz line, at a yes/no question: whisper gets the flow's menu words and its
`settings.yes_no_hints` ("Yes. No.") as context, and hears the yes.

espeak-ng's en-gb+m4 at 140 words a minute, G.711 mu-law, white line noise at -45 dBFS: with the menu words alone
whisper base wrote "EF." for both noise seeds here (no yes: the caller is asked again at a read-back or an order
offer); with "Yes. No." after them, "Yes.".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.phone_asr import phone_audio  # espeak-ng -> 8 kHz mu-law -> the line's decode and resampler
from voicebot.config import PROJECT_ROOT
from voicebot.dialog import core
from voicebot.dialog.registry import FlowRegistry
from voicebot.dialog.slots import yes_no
from voicebot.pipeline.models import SharedModels

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def flows() -> FlowRegistry:
    registry = FlowRegistry(PROJECT_ROOT / "dialogs")
    assert registry.reload() == []
    return registry


@pytest.mark.parametrize("seed", [1, 3])
def test_a_lone_yes_at_a_yes_no_question_is_heard(flows: FlowRegistry, shared_models: SharedModels, tmp_path: Path,
                                                  seed: int) -> None:
    loaded = flows.get("customer_service", "en")
    assert loaded is not None
    hints = loaded.machine.hints(core.DialogState(node="anything_else"))
    assert hints.endswith("Yes. No.") and "opening hours" in hints  # the menu words stay: a new request may follow
    audio = phone_audio("Yes.", "en-gb+m4", 140, tmp_path)
    audio += np.random.default_rng(seed).normal(0, 10 ** (-45 / 20), audio.shape).astype(np.float32)  # line noise
    heard = shared_models.asr.transcribe_sync(audio, "en", hints).text
    assert yes_no(heard, "en") is True, heard


def test_a_read_back_listens_for_yes_and_no_and_a_number_question_for_no_words(flows: FlowRegistry) -> None:
    for lang, words in (("en", "Yes. No."), ("pl", "Tak. Nie.")):
        loaded = flows.get("customer_service", lang)
        assert loaded is not None
        assert loaded.machine.hints(core.DialogState(node="ask_order", unconfirmed="48152")) == words
        assert loaded.machine.hints(core.DialogState(node="ask_order")) == ""  # digits: no words to copy
