"""Above what the host can answer in time, a new caller hears "all lines are busy" and goes to a person,
instead of every caller getting slow answers (admission control from the measured ASR queue delay)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
from prometheus_client import generate_latest

from tests.pipeline.overload import asr_backlog
from tests.support.sip_helpers import voiced_seconds
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallInfo
from voicebot.lines.wav import FileMedia
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample, to_float
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore

RATE = 8000


@pytest.mark.models
async def test_an_overloaded_server_answers_a_new_call_with_the_busy_path_not_silence(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    load = shared_models.calls
    # Real overload: many callers' finished turns (real speech, real whisper) queued at once, more than the
    # workers can get through within the admission threshold.
    turn = to_float(resample(speak("I would like to check the status of my order, the number is four eight one"
                                   " five two, and I also want to change my delivery address.", RATE), RATE, 16000))
    async with asr_backlog(shared_models, turn):
        turned_away = load.turned_away
        media = FileMedia([speak("Hello, where is my order?", RATE)], RATE)
        session = await run_call(media, CallInfo(call_id="busy-call", caller_number="+48500100200"),
                                 CallServices(settings=settings, models=shared_models, dialog=load_engine(settings),
                                              store=call_store))

    # The caller heard the busy message (speech, not silence) and was handed to a person.
    heard = np.frombuffer(bytes(media.record.bot_audio), dtype=np.int16)
    assert voiced_seconds(heard) > 1.0, "the overloaded bot said nothing"
    assert media.record.transfers, "the caller was not transferred"
    assert session.replies[0].reason == "overload" and "busy" in session.replies[0].text
    call = await call_store.get_call("busy-call")
    assert call is not None and call.get("outcome") == "transferred" and call.get("transfer_reason") == "overload"
    assert load.turned_away == turned_away + 1
    # /metrics renders these families (voicebot.web.health); generate_latest only needs their collect().
    metrics = generate_latest(SimpleNamespace(collect=shared_models.metric_families)).decode()
    for name in ("voicebot_asr_queue_delay_seconds", "voicebot_calls_active", "voicebot_turns_over_1s_total",
                 "voicebot_calls_turned_away_total"):
        assert f"\n{name} " in metrics


@pytest.mark.models
async def test_a_call_beyond_the_served_cap_gets_the_busy_path_while_the_others_are_served(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A burst of arrivals comes in before any of their turns has queued for whisper: only the cap
    # (asr.calls_per_core x cores, here 1) can turn the next one away. Call A is being served when B arrives.
    load = shared_models.calls
    monkeypatch.setattr(load, "max_served", load.served + 1)
    services = CallServices(settings=settings, models=shared_models, dialog=load_engine(settings), store=call_store)
    first = FileMedia([speak("Where is my order?", RATE)], RATE)
    served = asyncio.create_task(run_call(first, CallInfo(call_id="cap-served", caller_number="+48500100201"),
                                          services))
    for _ in range(1000):  # A is counted as soon as its pipeline starts
        if load.served == load.max_served:
            break
        await asyncio.sleep(0.01)
    assert load.served == load.max_served, "call A never started"
    second = FileMedia([speak("Hello, where is my order?", RATE)], RATE)
    busy = await run_call(second, CallInfo(call_id="cap-busy", caller_number="+48500100202"), services)
    served_session = await served

    assert busy.replies[0].reason == "overload" and second.record.transfers  # "all lines are busy", to a person
    assert voiced_seconds(np.frombuffer(bytes(second.record.bot_audio), dtype=np.int16)) > 1.0
    # The call already in was served as usual: greeted by the flow and answered.
    assert served_session.replies[0].reason != "overload" and len(served_session.replies) >= 2
    assert load.served == load.max_served - 1  # both calls counted out again
