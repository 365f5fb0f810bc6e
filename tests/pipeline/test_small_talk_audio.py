"""Yes/no in context and the out-of-scope menu over the audio path: a caller voice that is not the bot's
(espeak-ng, two speeds, light line noise) on an 8 kHz line, through whisper, the dialog and the TTS."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np
import pytest

from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallInfo
from voicebot.lines.wav import FileMedia
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")]
RATE = 8000


def caller_says(text: str, voice: str, speed: int, seed: int) -> bytes:
    """espeak-ng at `speed` words/min, down to the 8 kHz line, with a little hiss, after 0.5 s of silence."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate, audio = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    line = np.frombuffer(resample(audio.tobytes(), rate, RATE), dtype=np.int16).astype(np.float32)
    line = np.concatenate([np.zeros(RATE // 2, np.float32), line, np.zeros(RATE // 2, np.float32)])
    noise = np.random.default_rng(seed).normal(0.0, 60.0, line.size)  # about -55 dBFS of line hiss
    return np.clip(line + noise, -32768, 32767).astype(np.int16).tobytes()


@pytest.mark.parametrize(("voice", "speed"), [("en-us", 150), ("en+m3", 190)])
async def test_yes_after_anything_else_and_a_job_applicant_over_a_phone_line(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, voice: str, speed: int) -> None:
    turns = [caller_says(t, voice, speed, seed) for seed, t in enumerate([
        "What are your opening hours?",
        "Yes.",
        "I am calling about the job offer for a warehouse worker.",
    ])]
    media = FileMedia(turns, RATE, fast=True)
    services = CallServices(settings=settings, models=shared_models, dialog=load_engine(settings), store=call_store)
    session = await run_call(media, CallInfo(call_id=f"smalltalk-{speed}", language="en"), services)

    said = [t.text for t in await call_store.turns(f"smalltalk-{speed}") if t.role == "caller"]
    replies = session.replies[1:]  # after the greeting
    assert len(replies) == 3, said
    assert "Saturday" in replies[0].text and replies[0].node == "anything_else", said
    assert replies[1].node == "what_else" and "What else" in replies[1].text, said  # "yes" asks what else
    assert replies[2].intent is None and "I can check an order" in replies[2].text, said  # menu, not a booking
    assert all(r.action == "continue" for r in replies)  # nobody was hung up on or transferred
    assert len(media.record.bot_audio) > RATE * 2 * 5  # and the caller heard it all as speech
