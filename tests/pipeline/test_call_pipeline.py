"""Whole calls through `run_call`: real whisper/piper/VAD/smart-turn, real Redis, the in-process file caller
on an 8 kHz line like a phone."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from faster_whisper import WhisperModel
from piper import PiperVoice

from tests.pipeline.recording import RecordingEngine
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.lines.wav import CallerTurn, FileMedia
from voicebot.pipeline.asr import SpeechRecognizer
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample
from voicebot.pipeline.prosody import rms_dbfs
from voicebot.pipeline.services import CallServices
from voicebot.pipeline.tts import SpeechSynthesizer
from voicebot.pipeline.voices import EspeakVoice
from voicebot.store.calls import CallStore

pytestmark = pytest.mark.models
RATE = 8000


def seconds(pcm: bytes | bytearray) -> float:
    return len(pcm) / 2 / RATE


def dbfs(pcm: bytes | bytearray) -> float:
    return rms_dbfs(np.frombuffer(bytes(pcm), dtype=np.int16).astype(np.float32) / 32768.0)


def services(settings: Settings, models: SharedModels, store: CallStore | None, dialog: Any = None) -> CallServices:
    return CallServices(settings=settings, models=models, dialog=dialog or load_engine(settings), store=store)


async def test_caller_is_transcribed_stored_and_answered_with_speech(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    media = FileMedia([speak("I would like to check the status of my order.", RATE)], RATE, fast=True)
    answered: list[dict[str, float]] = []
    turns_before, asr_waits_before = _count(shared_models.turn_latency), _count(shared_models.asr_turn_wait)
    session = await run_call(media, CallInfo(call_id="heard"), services(settings, shared_models, call_store),
                             on_turn=answered.append)

    turns = await call_store.turns("heard")
    caller = [t for t in turns if t.role == "caller"]
    assert len(caller) == 1
    assert "status" in caller[0].text.lower() and "order" in caller[0].text.lower()
    assert caller[0].asr_confidence is not None and caller[0].asr_confidence > 0.5
    assert {"end_of_turn_ms", "asr_done_ms"} <= caller[0].timings.keys()
    bot = [t for t in turns if t.role == "bot"]
    assert len(bot) >= 2 and all(t.text for t in bot)  # the greeting and the answer

    # What the caller heard is the bot's replies as speech at the line's 8 kHz, nothing lost or doubled.
    expected = 0.0
    for reply in session.replies:
        expected += seconds(await shared_models.tts.synthesize(reply.text, reply.language, RATE))
    heard = bytes(media.record.bot_audio)
    assert seconds(heard) > 2.0 and seconds(heard) == pytest.approx(expected, rel=0.05)
    assert dbfs(heard) > -30

    call = await call_store.get_call("heard")
    assert call is not None and call["ended_at"] and call["outcome"] == session.outcome
    assert len(answered) == 1 and answered[0]["first_audio_ms"] >= answered[0]["asr_done_ms"] > 0
    assert json.loads(call["turn_timings"]) == answered
    # /metrics' histograms saw this turn's voice-to-voice latency and its transcription's wait for a whisper worker.
    assert _count(shared_models.turn_latency) == turns_before + 1
    assert _count(shared_models.asr_turn_wait) > asr_waits_before


def _count(histogram: Any) -> float:
    [family] = histogram.collect()
    return next(s.value for s in family.samples if s.name.endswith("_count"))


async def test_caller_speaking_over_the_bot_cuts_its_audio_short(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    # Real time: the caller starts talking 0.3 s into the greeting (plus the 0.3 s of silence `speak` leads with).
    turn = CallerTurn(speak("I need to talk to someone about my invoice please.", RATE), barge_in_after_s=0.3)
    media = FileMedia([turn], RATE)
    recorder = RecordingEngine(load_engine(settings))
    session = await run_call(media, CallInfo(call_id="barge"), services(settings, shared_models, call_store,
                                                                        recorder))

    greeting = session.replies[0]
    uninterrupted = seconds(await shared_models.tts.synthesize(greeting.text, greeting.language, RATE))
    assert uninterrupted > 2.0, "precondition: a greeting long enough to talk over"
    assert media.record.cut_at, "the bot kept talking over the caller"
    heard = media.record.cut_at[0] / 2 / RATE
    assert 0.3 <= heard < uninterrupted - 0.4
    said = [e for e in recorder.events if isinstance(e, CallerSaid)]
    assert len(said) == 1 and said[0].barge_in and "invoice" in said[0].text.lower()
    assert said[0].prosody is not None and said[0].prosody.duration_s > 1.0


def _instances(kind: type) -> set[int]:
    return {id(o) for o in gc.get_objects() if isinstance(o, kind)}


async def test_concurrent_calls_share_one_whisper_model_and_one_voice(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    kinds = (WhisperModel, PiperVoice, onnxruntime.InferenceSession)
    before = {k: _instances(k) for k in kinds}
    during: list[dict[type, set[int]]] = []
    svc = services(settings, shared_models, call_store)
    media_a = FileMedia([speak("My parcel has not arrived yet.", RATE)], RATE, fast=True)
    media_b = FileMedia([speak("What are your opening hours on Saturday?", RATE)], RATE, fast=True)

    def look(_timings: dict[str, float]) -> None:
        during.append({k: _instances(k) for k in kinds})

    await asyncio.gather(run_call(media_a, CallInfo(call_id="a"), svc, on_turn=look),
                         run_call(media_b, CallInfo(call_id="b"), svc, on_turn=look))

    assert len(during) == 2  # both calls were answered, each while the other was open
    for seen in during:
        assert seen == before  # no call loaded its own whisper, voice, VAD or smart-turn model
    assert id(shared_models.asr.model) in before[WhisperModel]
    assert id(shared_models.tts.voice("en").voice) in before[PiperVoice]  # type: ignore[attr-defined]
    texts = {cid: " ".join(t.text.lower() for t in await call_store.turns(cid) if t.role == "caller")
             for cid in ("a", "b")}
    assert "parcel" in texts["a"] and "saturday" in texts["b"]


async def test_speech_recognition_failing_mid_call_hands_the_caller_to_a_human(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak, models_dir: Path) -> None:
    # This call gets a whisper model of its own, which we unload after the first turn: a real failure of the
    # real recognizer, without breaking the model the other tests share.
    whisper = WhisperModel(str(models_dir / "whisper-base"), device="cpu", compute_type="int8")
    asr = SpeechRecognizer(whisper, beam_size=1)
    models = dataclasses.replace(shared_models, asr=asr)
    media = FileMedia([speak("I would like to check my order.", RATE), speak("It was sent last week.", RATE)],
                      RATE, fast=True)
    try:
        session = await run_call(media, CallInfo(call_id="asr-down"), services(settings, models, call_store),
                                 on_turn=lambda _: whisper.model.unload_model())
    finally:
        asr.close()

    assert session.replies[-1].action == "transfer" and session.replies[-1].reason == "system_fault"
    assert media.record.transfers and not media.record.hung_up
    call = await call_store.get_call("asr-down")
    assert call is not None and call["outcome"] == "transferred" and call["transfer_reason"] == "system_fault"
    # The caller heard the apology before being transferred.
    apology = await shared_models.tts.synthesize(session.replies[-1].text, "en", RATE)
    assert seconds(media.record.bot_audio) > seconds(apology)


async def test_a_language_without_any_voice_still_reaches_a_human(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    # tts.fallback = "" and no Polish voice: TTS can't speak Polish.
    tts = SpeechSynthesizer({"en": shared_models.tts.voices["en"]}, espeak_fallback=False)
    models = dataclasses.replace(shared_models, tts=tts)
    media = FileMedia([speak("Hello?", RATE)], RATE, fast=True, reply_timeout_s=5)
    try:
        session = await run_call(media, CallInfo(call_id="mute", language="pl"),
                                 services(settings, models, call_store))
    finally:
        tts.close()

    assert session.outcome == "transferred" and session.replies[-1].reason == "system_fault"
    assert media.record.transfers and not media.record.hung_up
    assert len(media.record.bot_audio) == 0


async def test_keys_pressed_reach_the_dialog_as_one_entry(
        settings: Settings, shared_models: SharedModels, call_store: CallStore) -> None:
    media = FileMedia([CallerTurn(dtmf="1234#"), CallerTurn(dtmf="7")], RATE, fast=True)
    recorder = RecordingEngine(load_engine(settings))
    session = await run_call(media, CallInfo(call_id="keys"), services(settings, shared_models, call_store,
                                                                       recorder))

    digits = [getattr(e, "digits", None) for e in recorder.events]
    expected = ["1234#", "7"] if session.replies[1].action == "continue" else ["1234#"]
    assert digits == expected  # "1234#" is one entry, not five turns
    turns = await call_store.turns("keys")
    assert [t.text for t in turns if t.role == "caller"] == [f"[DTMF {d}]" for d in expected]


async def test_a_polish_call_is_heard_in_polish_and_answered_by_the_espeak_fallback(
        settings: Settings, shared_models: SharedModels, call_store: CallStore) -> None:
    # No Polish piper voice is installed: with tts.fallback = "espeak-ng" the bot still speaks Polish.
    tts = SpeechSynthesizer(dict(shared_models.tts.voices), espeak_fallback=True)
    models = dataclasses.replace(shared_models, tts=tts)
    caller = EspeakVoice("pl")  # the caller is a (robotic) Polish speaker
    pcm = b"".join(resample(a, caller.sample_rate, RATE) for a in caller.sentences("Mam problem z fakturą."))
    media = FileMedia([bytes(RATE) + pcm], RATE, fast=True)
    try:
        session = await run_call(media, CallInfo(call_id="pl", language="pl"), services(settings, models, call_store))
    finally:
        tts.close()

    caller_turns = [t for t in await call_store.turns("pl") if t.role == "caller"]
    assert len(caller_turns) == 1 and caller_turns[0].language == "pl"
    assert "mam problem" in caller_turns[0].text.lower()  # whisper-base on robotic Polish gets no further
    assert session.replies[0].language == "pl"
    assert seconds(media.record.bot_audio) > 1.5 and dbfs(media.record.bot_audio) > -35


class _LineDropsAudio(FileMedia):
    """A phone line whose audio path breaks on the second piece of bot speech (signalling still works)."""

    plays = 0

    async def play(self, pcm: bytes) -> None:
        self.plays += 1
        if self.plays == 2:
            raise OSError("RTP socket closed")
        await super().play(pcm)


async def test_an_unexpected_failure_inside_the_pipeline_hands_the_caller_to_a_human(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    media = _LineDropsAudio([speak("I would like to check my order.", RATE)], RATE, fast=True, reply_timeout_s=5)
    session = await asyncio.wait_for(
        run_call(media, CallInfo(call_id="line"), services(settings, shared_models, call_store)), 60)

    assert session.outcome == "transferred" and session.replies[-1].reason == "system_fault"
    assert media.record.transfers and not media.record.hung_up
    call = await call_store.get_call("line")
    assert call is not None and call["transfer_reason"] == "system_fault"
