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
    """The same for audio arriving in chunks (a phone line's packets); keeps the filter state between them.

    An integer upsampling (8 -> 16 kHz: a phone line into VAD and smart-turn) is a windowed-sinc FIR whose output
    follows every 20 ms packet, 3 ms late. soxr's stream gives out nothing for four packets and then ~100 ms at
    once: the turn detector heard the caller stop up to 100 ms after the line delivered it, and every stage of the
    end of the turn (the speculative transcription, VAD's stop, smart-turn) started that much later. Whisper does
    not hear this stream: the TurnDetector resamples a turn's line audio in one piece (`resample`).
    """

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._up = rate_out // rate_in if rate_out % rate_in == 0 and rate_out > rate_in else 0
        if self._up:
            self._fir = _upsampling_fir(self._up)
            self._history = np.zeros((len(self._fir) - 1) // self._up, dtype=np.float32)
        else:
            self._stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32")

    def resample_chunk(self, pcm: bytes) -> bytes:
        if not self._up:
            return to_pcm16(self._stream.resample_chunk(to_float(pcm)))
        audio = np.concatenate([self._history, to_float(pcm)])
        self._history = audio[len(audio) - len(self._history):]
        stuffed = np.zeros(len(audio) * self._up, dtype=np.float32)
        stuffed[::self._up] = audio
        return to_pcm16(np.convolve(stuffed, self._fir, mode="valid"))


FIR_HALF_TAPS = 24  # per output phase: 97 taps at 16 kHz, 3 ms of delay
FIR_CUTOFF = 0.95  # of the input's Nyquist frequency: a phone's 300-3400 Hz pass, its images above 4 kHz do not
FIR_KAISER_BETA = 8.0  # stopband ~80 dB down


def _upsampling_fir(up: int) -> np.ndarray:
    taps = 2 * FIR_HALF_TAPS * up + 1  # (taps - 1) a multiple of `up`: every chunk gives exactly `up` x its length
    n = np.arange(taps) - (taps - 1) / 2
    cutoff = FIR_CUTOFF / up  # in cycles per output sample x 2
    fir = cutoff * np.sinc(cutoff * n) * np.kaiser(taps, FIR_KAISER_BETA) * up  # gain `up`: zeros were stuffed
    return fir.astype(np.float32)


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
