"""Speech recognition: faster-whisper, run off the event loop on one worker thread shared by all calls.

We wrap faster-whisper ourselves instead of using pipecat's WhisperSTTService because that service
forces English and hides the per-segment probabilities the escalation policy needs.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from faster_whisper import WhisperModel

SAMPLE_RATE = 16000  # whisper's input rate


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    confidence: float  # 0..1, from avg_logprob and no_speech_prob of the segments
    duration_s: float  # audio length
    compute_ms: float  # time spent in whisper


@dataclass
class AsrStats:
    transcriptions: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0


def segment_confidence(avg_logprob: float, no_speech_prob: float) -> float:
    """exp(mean token log-prob) is the geometric-mean token probability; discount it by the chance of no speech."""
    return max(0.0, min(1.0, math.exp(avg_logprob) * (1.0 - no_speech_prob)))


class SpeechRecognizer:
    """One whisper model, one worker thread: concurrent calls queue their turns instead of fighting for 2 cores.

    A queued (not yet started) transcription is dropped when its asyncio caller cancels it, which is how a
    stale speculative transcription gets out of the way.
    """

    def __init__(self, model: WhisperModel, beam_size: int) -> None:
        self.model = model
        self.beam_size = beam_size
        self.stats = AsrStats()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
        self._stats_lock = threading.Lock()

    async def transcribe(self, audio: np.ndarray, language: str) -> Transcript:
        """`audio`: float32 mono at 16 kHz. The call's language is forced (no detection pass)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transcribe_sync, audio, language)

    def transcribe_sync(self, audio: np.ndarray, language: str) -> Transcript:
        started = time.perf_counter()
        segments, _info = self.model.transcribe(
            audio, language=language, beam_size=self.beam_size, without_timestamps=True,
            vad_filter=False, condition_on_previous_text=False, temperature=0.0,
        )
        # The generator is lazy: decoding happens while we iterate, so drain it here, in the worker thread.
        texts: list[str] = []
        weighted = weight = 0.0
        for seg in segments:
            text = seg.text.strip()
            if not text:
                continue
            texts.append(text)
            w = max(len(text), 1)
            weighted += segment_confidence(seg.avg_logprob, seg.no_speech_prob) * w
            weight += w
        elapsed = time.perf_counter() - started
        duration = len(audio) / SAMPLE_RATE
        with self._stats_lock:
            self.stats.transcriptions += 1
            self.stats.audio_s += duration
            self.stats.compute_s += elapsed
        return Transcript(
            text=" ".join(texts), language=language, confidence=(weighted / weight) if weight else 0.0,
            duration_s=duration, compute_ms=elapsed * 1000,
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
