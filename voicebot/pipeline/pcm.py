"""16-bit PCM <-> float samples, and resampling that gives the same samples every time.

libsoxr dithers 16-bit output with a random seed: the same audio resampled twice differed by a bit or two.
Inaudible, but whisper heard a noisy turn as different words each time, so a call replayed to find out why
the bot misheard was not heard the same way twice. Here soxr works on floats and we round.
"""

from __future__ import annotations

import numpy as np
import soxr


def to_float(pcm: bytes | np.ndarray) -> np.ndarray:
    samples = pcm if isinstance(pcm, np.ndarray) else np.frombuffer(pcm, dtype=np.int16)
    return samples.astype(np.float32) / 32768.0


def to_pcm16(audio: np.ndarray) -> bytes:
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16).tobytes()


def resample(pcm: bytes | np.ndarray, rate_in: int, rate_out: int) -> bytes:
    """16-bit samples (bytes or int16 array) at `rate_in` -> 16-bit PCM bytes at `rate_out`."""
    audio = to_float(pcm)
    if rate_in != rate_out:
        audio = soxr.resample(audio, rate_in, rate_out, quality="HQ")
    return to_pcm16(audio)


class StreamResampler:
    """The same for audio arriving in chunks (a phone line's packets); keeps the filter state between them."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32")

    def resample_chunk(self, pcm: bytes) -> bytes:
        return to_pcm16(self._stream.resample_chunk(to_float(pcm)))
