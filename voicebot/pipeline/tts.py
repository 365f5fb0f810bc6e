"""Speech synthesis streamed sentence by sentence, off the event loop, at the phone line's sample rate.

The first sentence of an answer (a caller is waiting for it) goes before other calls' later sentences, which
have the first sentence's playing time to be ready (see worker.py).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import numpy as np
import soxr

from voicebot.pipeline.voices import EspeakVoice, Voice
from voicebot.pipeline.worker import SOON, URGENT, PriorityWorker


class NoVoice(LookupError):
    """No voice for this language and no espeak-ng fallback configured."""


@dataclass
class TtsStats:
    sentences: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0


def resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> bytes:
    if rate_in != rate_out:
        pcm = soxr.resample(pcm, rate_in, rate_out, quality="HQ")
    return np.asarray(pcm, dtype=np.int16).tobytes()


class SpeechSynthesizer:
    """Voices per language, one synthesis thread shared by all calls.

    One thread because espeak-ng (used by piper's phonemizer) keeps global state and is not thread-safe,
    and because the ASR thread already uses the other core. Calls interleave at sentence granularity.
    """

    def __init__(self, voices: dict[str, Voice], espeak_fallback: bool) -> None:
        self.voices = voices
        self.espeak_fallback = espeak_fallback
        self.stats = TtsStats()
        self._worker = PriorityWorker("tts")
        self._lock = threading.Lock()

    def voice(self, language: str) -> Voice:
        voice = self.voices.get(language)
        if voice is None and self.espeak_fallback:
            voice = self.voices[language] = EspeakVoice(language)
        if voice is None:
            raise NoVoice(f"no TTS voice for language '{language}' (configured: {', '.join(self.voices)}); "
                          'add one to tts.voices or set tts.fallback = "espeak-ng"')
        return voice

    async def stream(self, text: str, language: str, sample_rate: int) -> AsyncIterator[bytes]:
        """s16le mono PCM at `sample_rate`, one piece per sentence, each ready as soon as it is synthesized."""
        voice = self.voice(language)
        gen = voice.sentences(text)
        priority = URGENT
        try:
            while True:
                pcm = await self._worker.run(priority, self._next_sentence, gen, voice, sample_rate)
                if pcm is None:
                    return
                if pcm:
                    yield pcm
                    priority = SOON
        finally:
            # Cancelled (barge-in) while the worker thread is inside next(gen): that sentence finishes there and
            # is dropped; the generator can only be closed when it is not running.
            with contextlib.suppress(ValueError):
                gen.close()

    def _next_sentence(self, gen: Iterator[np.ndarray], voice: Voice, sample_rate: int) -> bytes | None:
        started = time.perf_counter()
        try:
            audio = next(gen)
        except StopIteration:
            return None
        out = resample(audio, voice.sample_rate, sample_rate)
        with self._lock:
            self.stats.sentences += 1
            self.stats.audio_s += len(audio) / voice.sample_rate
            self.stats.compute_s += time.perf_counter() - started
        return out

    async def synthesize(self, text: str, language: str, sample_rate: int) -> bytes:
        """The whole reply at once (tests, tools)."""
        return b"".join([pcm async for pcm in self.stream(text, language, sample_rate)])

    def close(self) -> None:
        self._worker.close()
