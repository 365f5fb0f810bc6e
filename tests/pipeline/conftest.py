"""Speech models for the pipeline tests: loaded once per test session, shared like in a server process."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample

Speak = Callable[[str, int], bytes]


@pytest.fixture(scope="session")
def speak(shared_models: SharedModels) -> Speak:
    """A caller's sentence spoken by the installed piper voice at `rate`, s16le, after 0.3 s of silence."""
    voice = shared_models.tts.voice("en")

    def make(text: str, rate: int) -> bytes:
        pcm = b"".join(resample(a, voice.sample_rate, rate) for a in voice.sentences(text))
        return bytes(int(0.3 * rate) * 2) + pcm

    return make
