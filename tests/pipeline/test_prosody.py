"""Prosody of a caller turn: loudness, pitch and speech rate, on signals whose answer we know."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.pipeline import prosody

RATE = 16000


def tone(hz: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_pitch_and_loudness_of_a_steady_tone() -> None:
    p = prosody.measure(tone(180.0, 1.0, 0.25), RATE, words=3, duration_s=1.2)
    assert p.pitch_hz == pytest.approx(180.0, rel=0.03)
    assert p.rms_db == pytest.approx(20 * np.log10(0.25 / np.sqrt(2)), abs=0.2)
    assert p.speech_rate == pytest.approx(3.0)
    assert p.duration_s == 1.2


def test_a_shouting_high_voice_scores_louder_and_higher_than_a_calm_one() -> None:
    calm = prosody.measure(tone(110.0, 1.0, 0.05), RATE, words=3, duration_s=1.0)
    upset = prosody.measure(tone(260.0, 1.0, 0.6), RATE, words=5, duration_s=1.0)
    assert upset.rms_db > calm.rms_db + 15
    assert upset.pitch_hz > calm.pitch_hz * 2
    assert upset.speech_rate > calm.speech_rate


def test_a_turn_of_one_or_two_words_has_no_speech_rate() -> None:
    # "Yeah." in 0.3 s is not a caller speaking fast: it is how long the word is.
    assert prosody.measure(tone(150.0, 0.3, 0.1), RATE, words=1, duration_s=0.5).speech_rate == 0.0
    assert prosody.measure(tone(150.0, 0.6, 0.1), RATE, words=2, duration_s=0.8).speech_rate == 0.0


def test_noise_and_silence_have_no_pitch() -> None:
    noise = np.random.default_rng(1).normal(0, 0.1, RATE).astype(np.float32)
    assert prosody.measure(noise, RATE, words=0, duration_s=1.0).pitch_hz == 0.0
    silent = prosody.measure(np.zeros(0, dtype=np.float32), RATE, words=0, duration_s=0.0)
    assert silent.rms_db == -100.0 and silent.pitch_hz == 0.0 and silent.speech_rate == 0.0


@pytest.mark.models
def test_pitch_of_real_speech_is_in_the_human_range(speak) -> None:
    audio = np.frombuffer(speak("Why is my parcel still not here?", RATE), dtype=np.int16).astype(np.float32) / 32768
    p = prosody.measure(audio, RATE, words=7, duration_s=len(audio) / RATE)
    assert 70 <= p.pitch_hz <= 300
    assert -40 < p.rms_db < 0
