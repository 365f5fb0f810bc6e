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


ONSET_DBFS = -50.0  # a 10 ms window louder than this holds the voice's first sound (piper's lead-in is far below)
ONSET_WINDOW_S = 0.01
ONSET_KEEP_S = 0.01  # quiet kept before that window, so a soft onset is not clipped


def trim_leading_silence(pcm: bytes, rate: int) -> bytes:
    """16-bit PCM without the silence before its first sound (all of it, if nothing in it is louder)."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    window = max(1, int(rate * ONSET_WINDOW_S))
    usable = len(samples) // window * window
    if not usable:
        return pcm
    frames = samples[:usable].astype(np.float64).reshape(-1, window) / 32768.0
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (ONSET_DBFS / 20))
    start = int(loud[0]) * window - int(rate * ONSET_KEEP_S) if len(loud) else usable
    return pcm[max(0, start) * 2:]
