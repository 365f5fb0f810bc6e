"""Acoustic features of one caller turn (loudness, pitch, speech rate) for the frustration score."""

from __future__ import annotations

import numpy as np

from voicebot.dialog.types import Prosody

PITCH_MIN_HZ = 60.0
PITCH_MAX_HZ = 400.0
FRAME_S = 0.04  # long enough for two periods of a 60 Hz voice
VOICING_MIN = 0.45  # normalized autocorrelation peak below this = unvoiced frame (noise, fricatives)


def rms_dbfs(audio: np.ndarray) -> float:
    """`audio`: float32 in [-1, 1]. Silence is -100 dBFS rather than -inf so it stays JSON-friendly."""
    if audio.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return max(-100.0, 20.0 * np.log10(rms)) if rms > 0 else -100.0


def frame_pitch(frame: np.ndarray, sample_rate: int) -> float:
    """F0 of one frame by autocorrelation, 0 when the frame is not clearly periodic."""
    frame = frame - frame.mean()
    energy = float(np.dot(frame, frame))
    if energy <= 1e-8:
        return 0.0
    corr = np.correlate(frame, frame, mode="full")[len(frame) - 1:]
    lag_min = int(sample_rate / PITCH_MAX_HZ)
    lag_max = min(int(sample_rate / PITCH_MIN_HZ), len(corr) - 1)
    if lag_max <= lag_min:
        return 0.0
    lag = lag_min + int(np.argmax(corr[lag_min:lag_max]))
    if corr[lag] / energy < VOICING_MIN:
        return 0.0
    return sample_rate / lag


def median_pitch(audio: np.ndarray, sample_rate: int) -> float:
    n = int(FRAME_S * sample_rate)
    pitches = [frame_pitch(audio[i:i + n], sample_rate) for i in range(0, len(audio) - n + 1, n)]
    voiced = [p for p in pitches if p > 0]
    return float(np.median(voiced)) if voiced else 0.0


def measure(voiced: np.ndarray, sample_rate: int, words: int, duration_s: float) -> Prosody:
    """`voiced`: float32 audio of the frames VAD marked as speech; `duration_s`: the whole turn."""
    voiced_s = len(voiced) / sample_rate
    return Prosody(
        rms_db=round(rms_dbfs(voiced), 2),
        pitch_hz=round(median_pitch(voiced, sample_rate), 1),
        speech_rate=round(words / voiced_s, 3) if voiced_s > 0 else 0.0,
        duration_s=round(duration_s, 3),
    )
