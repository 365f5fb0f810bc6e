"""A caller who does not speak the line's language presses 9 at the Polish greeting ("To continue in English,
press 9.", said in the English voice) and is served in English: the English greeting, their speech read in English,
English replies. Whole calls on an 8 kHz line with real models; the caller is an espeak-ng voice."""

from __future__ import annotations

import numpy as np
import pytest

from tests.pipeline.test_call_pipeline import RATE
from tests.pipeline.test_polish_and_no_input_calls import espeak, services
from tests.support.env import always_staffed
from voicebot.config import Settings
from voicebot.dialog.types import CallInfo
from voicebot.lines.wav import CallerTurn, FileMedia
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample, to_float
from voicebot.store.calls import CallStore

pytestmark = pytest.mark.models


async def test_nine_at_the_polish_greeting_serves_the_caller_in_english(
        settings: Settings, shared_models: SharedModels, call_store: CallStore) -> None:
    settings = always_staffed(settings)
    # The line fixes Polish (a Polish number): no language detection, only the key can switch the call.
    media = FileMedia([CallerTurn(dtmf="9"),
                       CallerTurn(espeak("I would like to talk to a consultant, please.", "en-gb", 150))],
                      RATE, fast=True)
    session = await run_call(media, CallInfo(call_id="key-en", language="pl", language_fixed=True),
                             services(settings, shared_models, call_store))

    said = [(r.language, r.text, r.action, r.reason) for r in session.replies]
    greeting, english, answer = session.replies[0], session.replies[1], session.replies[-1]
    assert greeting.language == "pl" and [(o.language, o.key) for o in greeting.language_offers] == [("en", "9")]
    assert english.language == "en" and english.text.startswith("Hello"), said  # the English greeting
    assert answer.language == "en" and answer.action == "transfer" and answer.reason == "explicit_request", said
    caller = [t for t in await call_store.turns("key-en") if t.role == "caller"]
    assert caller[0].text == "[DTMF 9]", caller
    assert caller[1].language == "en" and "consultant" in caller[1].text.lower(), caller  # read in English
    call = await call_store.get_call("key-en")
    assert call is not None and call["language"] == "en"

    # What the caller heard at the end of the Polish greeting: English words naming the key.
    polish = await shared_models.tts.synthesize(greeting.text, "pl", RATE)  # the same audio, from the cache
    offer = await shared_models.tts.synthesize(greeting.language_offers[0].say, "en", RATE)
    heard_offer = bytes(media.record.bot_audio[len(polish):len(polish) + len(offer)])
    assert len(heard_offer) == len(offer)
    audio = to_float(resample(np.frombuffer(heard_offer, dtype=np.int16), RATE, 16000))
    words = (await shared_models.asr.transcribe(audio, "en")).text.lower()
    assert "english" in words, words
