"""On a line that detects the caller's language, the first turn's pause rule is the language the caller speaks,
as soon as the speculative transcript names it: an English caller does not wait out the Polish comma pause
(`turn.smart_turn_min_silence_secs`) before the bot answers (issue 13: "Where is my order?" waited ~250 ms).

A caller voice that is not the bot's (espeak-ng), on an 8 kHz line, in real time through `run_call` with the real
models and the real customer-service flow (English and Polish: detection on).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.number_turn import ORDER_QUESTION, RATE, espeak
from voicebot.app import crm_settings
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallInfo
from voicebot.lines.wav import FileMedia
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore

POLISH_PAUSE_S = 2.5  # exaggerated: a turn held to it ends only at the silence cap (smart-turn's own, 1.2 s)


@pytest.mark.models
async def test_an_english_first_turn_gets_the_english_pause_rule_before_the_turn_is_read(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, tmp_path: Path) -> None:
    # Only smart-turn's "complete", gated by the language's pause rule, can end the turn early: no "sounds whole"
    # rule, a 4 s silence cap.
    turn = settings.turn.model_copy(update={"max_silence_secs": 4.0, "finished_words_silence_secs": 0.0,
                                            "smart_turn_min_silence_secs": {"pl": POLISH_PAUSE_S}})
    settings = settings.model_copy(update={"turn": turn})
    assert settings.languages.detect
    timings: list[dict[str, float]] = []
    async with crm_settings(settings) as settings:
        engine = load_engine(settings)  # the engine itself: it names the flow's languages, so detection is on
        try:
            await run_call(FileMedia([espeak(ORDER_QUESTION, tmp_path)], RATE, linger_s=0.5),
                           CallInfo(call_id="first-turn-en", language="en"),
                           CallServices(settings=settings, models=shared_models, dialog=engine, store=call_store),
                           on_turn=timings.append)
        finally:
            await engine.close()

    caller = [t for t in await call_store.turns("first-turn-en") if t.role == "caller"]
    assert [t.language for t in caller] == ["en"], [(t.text, t.language) for t in caller]
    # Held to the Polish rule, this turn ended 1262 ms after the caller's last word; by its own language, ~520 ms.
    assert timings[0]["end_of_turn_ms"] < 1000, \
        f"the English caller waited out the Polish pause rule: {timings[0]}"
