"""A pause at a comma inside one sentence does not split it into two turns (issue 11: Polish callers were answered
after "Mam pytanie," and talked over the bot).

A caller voice that is not the bot's (espeak-ng, whose comma pauses last 140-330 ms), on an 8 kHz line, in real
time through `run_call` with the real models (VAD, smart-turn, speculative whisper) and the real flow. What the
pauses look like to the models, and how soon a plain sentence's turn ends: bench/comma_pause.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.number_turn import call, espeak
from voicebot.config import Settings
from voicebot.pipeline.models import SharedModels
from voicebot.store.calls import CallStore

TWO_COMMAS = {
    "pl": ("pl", "Mam pytanie, gdzie jest moja paczka, bo czekam już tydzień."),
    "en": ("en-us", "I have a question, where is my parcel, I have been waiting for a week."),
}


@pytest.mark.models
@pytest.mark.parametrize("speed", [120, 160])
@pytest.mark.parametrize("language", ["pl", "en"])
async def test_a_sentence_with_two_comma_pauses_reaches_the_dialog_as_one_turn(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, tmp_path: Path, language: str,
        speed: int) -> None:
    voice, sentence = TWO_COMMAS[language]
    call_id = f"commas-{language}-{speed}"
    said, _timings, media = await call(settings, shared_models, call_store, [espeak(sentence, tmp_path, speed, voice)],
                                       call_id, language=language)

    # (whisper-base hears espeak-ng Polish at 8 kHz poorly: which words is not under test here, how many turns is.)
    assert len(said) == 1, f"the sentence reached the dialog in pieces: {[s.text for s in said]}"
    assert not media.record.cut_at, "the bot answered a piece of the sentence and the caller talked over it"
    caller = [t for t in await call_store.turns(call_id) if t.role == "caller"]
    assert len(caller) == 1, [t.text for t in caller]
