"""Acoustic features of one caller turn (loudness, pitch, speech rate) for the frustration score."""

from __future__ import annotations

import numpy as np

from voicebot.dialog.types import Prosody

PITCH_MIN_HZ = 60.0
PITCH_MAX_HZ = 400.0
FRAME_S = 0.04  # long enough for two periods of a 60 Hz voice
VOICING_MIN = 0.45  # normalized autocorrelation peak below this = unvoiced frame (noise, fricatives)
# A turn of one or two words has no pace of its own: its words per second are those words' length ("Yeah." in 0.3 s
# is 3.3 words/s against a calm caller's 2.5). On the phone such fragments scored "faster than the first turns" and,
# with the re-ask, pushed a served caller's "Great, thanks. Bye." (cut at its commas) past the frustration line
# into a transfer (phone_blind10 en-r1). Below this many words the rate is not measured (0).
MIN_RATE_WORDS = 3


def rms_dbfs(audio: np.ndarray) -> float:
    """`audio`: float32 in [-1, 1]. Silence is -100 dBFS rather than -inf so it stays JSON-friendly."""
    if audio.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return max(-100.0, 20.0 * np.log10(rms)) if rms > 0 else -100.0


def frame_pitches(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 of each FRAME_S frame by autocorrelation (via FFT, all frames at once: this runs on the event loop);
    0 where a frame is not clearly periodic."""
    n = int(FRAME_S * sample_rate)
    count = len(audio) // n
    if count == 0:
        return np.zeros(0)
    frames = audio[: count * n].reshape(count, n).astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames, n=2 * n, axis=1)
    corr = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n]  # linear autocorrelation, lags 0..n-1
    energy = corr[:, 0]
    lag_min = int(sample_rate / PITCH_MAX_HZ)
    lag_max = min(int(sample_rate / PITCH_MIN_HZ), n - 1)
    if lag_max <= lag_min:
        return np.zeros(count)
    lags = lag_min + np.argmax(corr[:, lag_min:lag_max], axis=1)
    peak = corr[np.arange(count), lags]
    voiced = (energy > 1e-8) & (peak > VOICING_MIN * np.maximum(energy, 1e-12))
    return np.where(voiced, sample_rate / lags, 0.0)


def median_pitch(audio: np.ndarray, sample_rate: int) -> float:
    pitches = frame_pitches(audio, sample_rate)
    voiced = pitches[pitches > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def measure(voiced: np.ndarray, sample_rate: int, words: int, duration_s: float) -> Prosody:
    """`voiced`: float32 audio of the frames VAD marked as speech; `duration_s`: the whole turn."""
    voiced_s = len(voiced) / sample_rate
    return Prosody(
        rms_db=round(rms_dbfs(voiced), 2),
        pitch_hz=round(median_pitch(voiced, sample_rate), 1),
        speech_rate=round(words / voiced_s, 3) if voiced_s > 0 and words >= MIN_RATE_WORDS else 0.0,
        duration_s=round(duration_s, 3),
    )
