"""A caller who goes on after a pause is answered once, for the whole sentence (issue 11).

smart-turn may end a turn at a pause inside a sentence, and whisper may close the first part as a whole question
("I have a question, where is my parcel?" ... "I have been waiting for a week."): that first part must not be
answered if the caller's voice has already resumed when its text is ready, or the bot talks over the rest. A
click between turns (voice that never becomes a turn) must not hold the answer back.

The real Transcriber with the real whisper model on espeak-ng speech at 8 kHz (resampled as the line does); the
frames are the ones the TurnDetector sends, in the order that race produces.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pipecat.frames.frames import UserStartedSpeakingFrame, UserStoppedSpeakingFrame
from pipecat.tests.utils import SleepFrame, run_test

from tests.support.number_turn import espeak
from voicebot.config import Settings
from voicebot.dialog.types import CallerSaid
from voicebot.pipeline.frames import CallerEventFrame, CallerTurnFrame, TurnClock, VoiceOnsetFrame
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample, to_float
from voicebot.pipeline.stt import Transcriber
from voicebot.pipeline.turns import RATE


def _turn(pcm8k: bytes) -> CallerTurnFrame:
    audio = to_float(resample(pcm8k, 8000, RATE))
    now = TurnClock.now()
    clock = TurnClock(call_start=now, speech_start=now, speech_end=now, end_of_turn=now)
    return CallerTurnFrame(audio=audio, voiced=audio, voiced_chunks=len(audio) // 320, clock=clock, barge_in=False,
                           speech_s=len(audio) / RATE)


async def _said(models: SharedModels, settings: Settings, frames: list) -> list[str]:
    """What the real Transcriber hands the dialog for these frames: the caller's words, turn by turn."""
    down, _ = await run_test(Transcriber(models.asr, "en", settings.turn), frames_to_send=frames)
    return [f.event.text for f in down if isinstance(f, CallerEventFrame) and isinstance(f.event, CallerSaid)]


@pytest.fixture
def parts(tmp_path: Path) -> tuple[bytes, bytes]:
    return (espeak("I have a question, where is my parcel?", tmp_path, 160),
            espeak("I have been waiting for a week.", tmp_path, 160))


@pytest.mark.models
async def test_a_caller_whose_voice_resumed_before_the_answer_is_answered_once_for_both_parts(
        settings: Settings, shared_models: SharedModels, parts: tuple[bytes, bytes]) -> None:
    first, rest = parts
    said = await _said(shared_models, settings, [
        _turn(first), UserStoppedSpeakingFrame(),
        VoiceOnsetFrame(True),  # the caller's voice, before whisper's text of the first part is back
        SleepFrame(0.2), UserStartedSpeakingFrame(), _turn(rest), UserStoppedSpeakingFrame(), SleepFrame(4.0)])
    assert len(said) == 1, f"the sentence was answered in pieces: {said}"
    assert "question" in said[0].lower() and "week" in said[0].lower(), said


@pytest.mark.models
async def test_a_click_after_a_whole_question_does_not_hold_its_answer(
        settings: Settings, shared_models: SharedModels, parts: tuple[bytes, bytes]) -> None:
    first, _ = parts
    said = await _said(shared_models, settings, [
        _turn(first), UserStoppedSpeakingFrame(), VoiceOnsetFrame(True), SleepFrame(0.05), VoiceOnsetFrame(False),
        SleepFrame(4.0)])
    assert len(said) == 1 and "question" in said[0].lower(), f"the question was not answered after a click: {said}"
