"""Speech recognition with the real whisper model: words, confidence, noise, long turns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.support.number_turn import espeak
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import StreamResampler, to_float

pytestmark = pytest.mark.models
RATE = 16000


def as_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0


async def test_a_clear_sentence_is_transcribed_with_high_confidence(shared_models: SharedModels, speak) -> None:
    audio = as_float(speak("My order number is 4 5 7 1 2.", RATE))
    result = await shared_models.asr.transcribe(audio, "en")
    assert "order number" in result.text.lower() and "45712" in result.text.replace(" ", "")
    # Clearly above the score under which a turn the bot could not use counts as low-confidence (0.45); CI's
    # CPU scored this sentence 0.69, this machine 0.7x: the exact figure is not the point.
    assert result.confidence > shared_models.settings.escalation.asr_confidence_min + 0.15
    assert result.language == "en"
    assert result.duration_s == pytest.approx(len(audio) / RATE)


async def test_noise_and_silence_give_no_words(shared_models: SharedModels) -> None:
    # Whisper hallucinates on non-speech ("Słuchaj!"); none of that may reach the dialog as caller words.
    silence = np.zeros(2 * RATE, dtype=np.float32)
    hiss = np.random.default_rng(0).normal(0, 0.05, 2 * RATE).astype(np.float32)
    for audio, language in ((silence, "pl"), (hiss, "en")):
        result = await shared_models.asr.transcribe(audio, language)
        assert result.text == "" and result.confidence == 0.0


LONG_STORY = {  # sentence -> a word whisper must get
    "I ordered a blue kettle three weeks ago.": "kettle",
    "The courier said it was delivered on Monday.": "courier",
    "But nobody rang my doorbell that day.": "doorbell",
    "My neighbour did not take the parcel either.": "neighbour",
    "I called your hotline twice last week.": "hotline",
    "Each time I waited for almost an hour.": "hour",
    "Then the line was suddenly disconnected.": "disconnected",
    "I also sent two emails to your support team.": "emails",
    "Nobody has answered them so far.": "answered",
    "I would like a refund to my credit card.": "refund",
    "Or please send a new kettle by express mail.": "express",
    "My address has not changed since the order.": "address",
    "Thank you for finally listening to me.": "listening",
}


async def test_a_turn_longer_than_whispers_window_is_transcribed_whole(shared_models: SharedModels, speak) -> None:
    audio = np.concatenate([as_float(speak(s, RATE)) for s in LONG_STORY])
    assert len(audio) / RATE > 30  # precondition: longer than whisper's 30 s window
    text = (await shared_models.asr.transcribe(audio, "en")).text.lower()
    heard = [word for word in LONG_STORY.values() if word in text]
    assert "kettle" in heard and "listening" in heard  # the beginning and the end
    assert len(heard) >= len(LONG_STORY) - 2


async def test_concurrent_turns_queue_on_the_shared_recognizer(shared_models: SharedModels, speak) -> None:
    texts = ["Yes, please.", "What are your opening hours?", "I want to cancel my order."]
    results = await asyncio.gather(*(shared_models.asr.transcribe(as_float(speak(t, RATE)), "en") for t in texts))
    assert "yes" in results[0].text.lower()
    assert "opening hours" in results[1].text.lower()
    assert "cancel" in results[2].text.lower()


async def test_a_number_read_as_digits_comes_out_whole_wherever_the_line_audio_was_cut(
        shared_models: SharedModels, tmp_path: Path) -> None:
    # espeak-ng's "one six four seven zero" over 8 kHz with a line's silence either side, as the turn detector
    # hands it over. Where the 20 ms packets fall changes the samples whisper gets: read digits-only as they were,
    # 3 of these 16 cuts looped ("1 6 4 7 7 8 8 8 ...", "1 6 4 7 0 1 6 1 6 ...") and the caller was asked again.
    spoken = espeak("one six four seven zero", tmp_path, speed=140)
    for shift in range(16):
        line = bytes(2 * (6400 + 40 * shift)) + spoken + bytes(2 * 9600)
        resampler = StreamResampler(8000, RATE)
        audio = to_float(b"".join(resampler.resample_chunk(line[i:i + 320]) for i in range(0, len(line), 320)))
        result = await shared_models.asr.transcribe_digits(audio, "en")
        assert result.text.replace(" ", "") == "16470", (shift, result.text)
