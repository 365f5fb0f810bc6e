"""Speech synthesis: streamed by sentence at the line's rate, and how replies are cut into pieces."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import trim_leading_silence
from voicebot.pipeline.speech_cache import SpeechCache
from voicebot.pipeline.tts import NoVoice, SpeechSynthesizer
from voicebot.pipeline.voices import speech_pieces


def test_a_long_first_sentence_is_cut_at_its_first_clause_so_audio_starts_sooner() -> None:
    assert speech_pieces("You said: I would like to check the status of my order. Thanks.") == [
        "You said:", "I would like to check the status of my order.", "Thanks."]
    assert speech_pieces("Hello, how can I help? Press one.") == ["Hello, how can I help?", "Press one."]
    assert speech_pieces("  ") == []


def test_a_long_first_clause_without_a_comma_is_cut_before_a_phrase_opener() -> None:
    # The caller waits for the first piece only: 13 words before the first comma would be ~4 s of speech to
    # synthesize first; cut where a speaker may pause (English and Polish).
    assert speech_pieces("Our consultants are available Monday to Friday from 8 am to 8 pm, and on Saturday.")[0] == \
        "Our consultants are available Monday to Friday"
    assert speech_pieces("Nasi konsultanci są dostępni od poniedziałku do piątku w godzinach od 8 do 20.")[0] == \
        "Nasi konsultanci są dostępni"
    # No opener and no comma: the sentence stays whole rather than breaking mid-phrase.
    assert speech_pieces("Please say your five digit customer reference number slowly now.") == [
        "Please say your five digit customer reference number slowly now."]


def test_a_number_read_back_digit_by_digit_starts_a_piece_of_its_own() -> None:
    # The caller waits in silence for the first piece: "Your order" is synthesized in a third of the time of
    # "Your order 4 8 1 5 2," (and the speech cache holds it); the number is ready before it has played.
    assert speech_pieces("Your order 4 8 1 5 2, the coffee grinder, has been shipped. Anything else?") == [
        "Your order", "4 8 1 5 2,", "the coffee grinder, has been shipped.", "Anything else?"]
    assert speech_pieces("Did you say order 4 8 1 5 2?") == ["Did you say order", "4 8 1 5 2?"]
    assert speech_pieces("Zamówienie 4 8 1 5 2 (ekspres do kawy) jest w przygotowaniu.") == [
        "Zamówienie", "4 8 1 5 2 (ekspres do kawy) jest w przygotowaniu."]
    # Numbers that are not read back digit by digit stay inside their phrase.
    assert speech_pieces("A w skali od 0 do 10, jak nas oceniasz?") == ["A w skali od 0 do 10,", "jak nas oceniasz?"]
    assert speech_pieces("4 8 1 5 2, right?") == ["4 8 1 5 2, right?"]


@pytest.mark.models
@pytest.mark.parametrize("rate", [8000, 16000])
async def test_replies_stream_one_piece_per_sentence_at_the_line_rate(shared_models: SharedModels, rate: int) -> None:
    tts = shared_models.tts
    text = "Your parcel left our warehouse yesterday. It should arrive tomorrow. Anything else?"
    pieces = [p async for p in tts.stream(text, "en", rate)]
    assert len(pieces) == 3
    native = tts.voice("en").sample_rate
    for piece, sentence in zip(pieces, speech_pieces(text), strict=True):
        audio = np.frombuffer(piece, dtype=np.int16)
        assert np.abs(audio).max() > 2000  # speech, not silence
        # Same length as the sentence synthesized at the voice's own rate, so it plays at the right speed.
        reference = b"".join([p async for p in tts.stream(sentence, "en", native)])
        assert len(audio) / rate == pytest.approx(len(reference) / 2 / native, rel=0.15)


@pytest.mark.models
async def test_the_answer_starts_with_its_first_sound_not_with_pipers_lead_in(shared_models: SharedModels) -> None:
    # piper opens every piece with 30-60 ms of silence; a caller waiting for the answer would hear it as delay.
    tts = shared_models.tts
    for reply in ("Our consultants are available. Monday to Friday.", "Your order 4 8 1 5 2, the coffee grinder."):
        first = await anext(tts.stream(reply, "en", 8000))
        assert _first_sound_s(first, 8000) <= 0.015


def _first_sound_s(pcm: bytes, rate: int) -> float:
    audio = np.abs(np.frombuffer(pcm, dtype=np.int16).astype(np.float64))
    window = rate // 100
    loud = [i for i in range(0, len(audio) - window, window) if np.sqrt(np.mean(audio[i:i + window] ** 2)) > 100]
    return loud[0] / rate


def test_trimming_the_lead_in_keeps_the_whole_sound_and_a_soft_onset() -> None:
    rate = 8000
    tone = (3000 * np.sin(np.arange(rate // 2) * 0.3)).astype(np.int16)
    pcm = np.concatenate([np.zeros(rate // 10, np.int16), tone]).tobytes()  # 100 ms of silence, then sound
    trimmed = np.frombuffer(trim_leading_silence(pcm, rate), dtype=np.int16)
    assert len(trimmed) == len(tone) + rate // 100  # all of the sound, with 10 ms of quiet before it
    assert trim_leading_silence(np.zeros(rate, np.int16).tobytes(), rate) == b""


@pytest.mark.models
async def test_a_language_without_voice_is_a_clear_error(shared_models: SharedModels) -> None:
    tts = SpeechSynthesizer({"en": shared_models.tts.voices["en"]}, espeak_fallback=False)  # tts.fallback = ""
    try:
        with pytest.raises(NoVoice, match="no TTS voice for language 'de'"):
            [p async for p in tts.stream("Guten Tag.", "de", 8000)]
    finally:
        tts.close()


@pytest.mark.models
async def test_a_sentence_said_before_is_not_synthesized_again(shared_models: SharedModels) -> None:
    tts = SpeechSynthesizer(shared_models.tts.voices, espeak_fallback=False, cache_bytes=2**20)
    try:
        text = "We are open Monday to Friday. Anything else?"
        first = [p async for p in tts.stream(text, "en", 8000)]
        synthesized = tts.stats.sentences
        again = [p async for p in tts.stream(text, "en", 8000)]
        wideband = [p async for p in tts.stream("Anything else?", "en", 16000)]
    finally:
        tts.close()

    assert again == first and synthesized == 2  # the next caller hears the same audio, at no CPU cost
    assert tts.cache.hits == 2
    # Another line rate gets its own entry: synthesized afresh at twice the samples (piper draws phoneme
    # durations at random, so the same sentence is up to ~10 % longer or shorter each time it is synthesized).
    assert tts.stats.sentences == 3
    assert len(wideband[0]) == pytest.approx(2 * len(first[1]), rel=0.25)


def test_the_speech_cache_forgets_the_least_recently_used_pieces_first() -> None:
    cache = SpeechCache(max_bytes=10)
    cache.put("joe", "a", 8000, b"1234")
    cache.put("joe", "b", 8000, b"5678")
    assert cache.get("joe", "a", 8000) == b"1234"  # now the most recent
    cache.put("joe", "c", 8000, b"9abc")  # over budget: "b" goes
    assert cache.get("joe", "b", 8000) is None
    assert cache.get("joe", "a", 8000) == b"1234" and cache.get("joe", "c", 8000) == b"9abc"
    assert cache.size_bytes == 8
    cache.put("joe", "huge", 8000, b"x" * 11)  # larger than the whole budget: not kept, nothing evicted
    assert cache.get("joe", "huge", 8000) is None and cache.size_bytes == 8
