"""Our pipeline under the benchmark: `voicebot.pipeline.call.run_call` on a `BenchLine` per scripted call.

Services are built once (models, dialog engine, a call store on the real Redis under a throw-away
key prefix) and shared by every call, as in `voicebot serve`. After each call the stored transcript
gives what our ASR heard, what the dialog replied and the pipeline's own per-turn timings.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench._caller import ScriptedCaller, TurnMeasure
from bench._media import BenchLine
from voicebot.config import Settings
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect, resolve_redis_url
from voicebot.store.keys import Keys

# `run_call(on_turn=...)` reports each answered caller turn: ms after the pipeline's own notion of the
# caller's last voiced chunk (`speech_end_at_ms` after the call started). We re-anchor them on our clock.
STAGES = ("end_of_turn", "asr_done", "reply_ready")
SAME_END_SECS = 0.2


@dataclass
class OursHarness:
    services: CallServices
    store: CallStore
    load_secs: float
    _crm: Any
    _redis: Any
    _embedded: Any

    @classmethod
    async def start(cls, settings: Settings) -> OursHarness:
        """Load models + flows once. ImportError if our pipeline is not (yet) importable."""
        from voicebot.dialog.crm_server import start_demo_crm
        from voicebot.pipeline.call import run_call  # noqa: F401  fail early, before loading anything
        from voicebot.pipeline.models import SharedModels

        crm = await start_demo_crm()  # the customer's CRM is a third party: the demo CRM answers order look-ups
        settings = _bench_settings(settings, crm.url)
        t = time.perf_counter()
        dialog = load_dialog_engine(settings)
        models = await asyncio.to_thread(SharedModels.load, settings)
        load_secs = time.perf_counter() - t
        url, embedded = resolve_redis_url(settings)
        client = connect(url)
        store = CallStore(client, Keys(settings.redis.prefix))
        services = CallServices(settings=settings, models=models, dialog=dialog, store=store)
        return cls(services=services, store=store, load_secs=load_secs, _crm=crm, _redis=client,
                   _embedded=embedded)

    async def run_call(self, caller: ScriptedCaller) -> str:
        """One scripted call through our pipeline; returns a note on how it ended if not normally."""
        from voicebot.pipeline.call import run_call

        line = BenchLine(caller)
        call_id = f"bench-{caller.call}-{uuid.uuid4().hex[:6]}"
        info = CallInfo(call_id=call_id, caller_number="+48000000000", language="en", channel="local")
        reported: list[dict[str, float]] = []
        wall_minus_mono = time.time() - time.monotonic()
        call_start = time.monotonic()  # run_call takes its own call start right after this
        notes = []
        # A call can't take longer than its script with every reply timing out; past that it is stuck.
        limit = caller.timing.greeting_timeout_secs + sum(
            t.voiced_secs + caller.timing.reply_timeout_secs + 20 for t in caller.turns)
        try:
            await asyncio.wait_for(run_call(line, info, self.services, on_turn=reported.append), timeout=limit)
        except TimeoutError:
            notes.append(f"run_call did not return within {limit:.0f} s")
        except Exception as exc:
            notes.append(f"run_call raised {type(exc).__name__}: {exc}")
        asr_done = _fill_parts(caller.turns, reported, call_start)
        await self._fill_from_transcript(call_id, caller.turns, asr_done, wall_minus_mono)
        if line.transfers:
            notes.append(f"transferred to the human line ({len(line.transfers)}x)")
        fragments = sum(1 for t in caller.turns if "fragment_answer_heard_first" in t.parts)
        if fragments:
            notes.append(f"{fragments} turn(s) cut mid-sentence: the bot answered the fragment first"
                         " (latency counted to the answer of the whole sentence)")
        if caller.overlaps:
            notes.append(f"bot audio started while the caller was still speaking ({caller.overlaps}x)")
        return "; ".join(notes)

    async def _fill_from_transcript(self, call_id: str, turns: list[TurnMeasure], asr_done: dict[int, float],
                                    wall_minus_mono: float) -> None:
        """What our ASR heard and what the dialog replied, per scripted turn, from the stored transcript."""
        records = await self.store.turns(call_id)
        callers = [i for i, r in enumerate(records) if r.role == "caller"]
        for turn in turns:
            if turn.turn not in asr_done or not callers:
                continue
            # The caller's line is stored right after its transcription is done.
            done = asr_done[turn.turn] + wall_minus_mono
            i = min(callers, key=lambda i: abs(records[i].ts - done))
            turn.heard_text = records[i].text
            reply = next((r for r in records[i + 1:] if r.role == "bot"), None)
            if reply is not None:
                turn.reply_text = reply.text

    def speech_stats(self) -> str:
        """Whisper/piper work done inside our pipeline during the run (speculative transcriptions included)."""
        models = self.services.models
        a, t = models.asr.stats, models.tts.stats
        return (f"in-pipeline ASR: {a.transcriptions} transcriptions, RTF {a.compute_s / max(a.audio_s, 1e-9):.3f};"
                f" TTS: {t.sentences} sentences, RTF {t.compute_s / max(t.audio_s, 1e-9):.3f};"
                + (f" speech cache: {models.tts.cache.hits} pieces served from memory"
                   if models.tts.cache.max_bytes else " speech cache off"))

    async def close(self) -> None:
        keys = [k async for k in self._redis.scan_iter(match=f"{self.store.keys.prefix}*", count=500)]
        if keys:
            await self._redis.delete(*keys)
        await self._redis.aclose()
        self.services.models.close()
        await self.services.dialog.close()
        await self._crm.stop()
        if self._embedded is not None:
            self._embedded.stop()


def _fill_parts(turns: list[TurnMeasure], reported: list[dict[str, float]], call_start: float) -> dict[int, float]:
    """Split each turn's latency into end-of-turn wait, ASR, dialog and first TTS audio, on our clock.

    Returns, per turn, when its transcription was done (monotonic), to find its line in the transcript.
    """
    asr_done: dict[int, float] = {}
    for turn in turns:
        if not turn.speech_end or turn.first_audio is None:
            continue
        # The pipeline's report for this turn: its speech end nearest ours (a fragment cut mid-sentence
        # ends earlier and was answered before ours ended).
        best = min(reported, default=None,
                   key=lambda r: abs(call_start + r["speech_end_at_ms"] / 1000 - turn.speech_end))
        if best is None or any(f"{s}_ms" not in best for s in STAGES):
            continue
        their_end = call_start + best["speech_end_at_ms"] / 1000
        # Its VAD puts the end of speech within a few chunks of ours; a report ending well before ours is
        # about a fragment (the turn was cut at a pause mid-sentence), not about the whole sentence.
        offset = their_end - turn.speech_end
        if offset < -SAME_END_SECS:
            # Ending inside this sentence: an answer to a fragment; before it: another turn's report.
            turn.answered_fragment = offset > -(turn.voiced_secs + 0.1)
            continue
        if their_end - turn.speech_end > 1.0:
            continue
        eot, asr, reply = (their_end + best[f"{s}_ms"] / 1000 for s in STAGES)
        asr_done[turn.turn] = asr
        if "first_audio_ms" in best:
            # The pipeline stamps its answer's first audio right before handing it to the line. If it first
            # answered a fragment (the turn was cut mid-sentence), the audio heard right after the caller
            # stopped was the end of that answer: the turn's latency is to the answer of the whole sentence.
            answer = their_end + best["first_audio_ms"] / 1000
            turn.answer_identified = True
            if answer - turn.first_audio > 0.005:
                turn.parts["fragment_answer_heard_first"] = 1.0
                turn.first_audio = answer
        turn.parts.update({
            "end_of_turn": (eot - turn.speech_end) * 1000,
            "asr": (asr - eot) * 1000,
            "dialog": (reply - asr) * 1000,
            "tts_first_audio": (turn.first_audio - reply) * 1000,
            "vad_speech_end_offset": (their_end - turn.speech_end) * 1000,
            "asr_speculative_hit": best.get("asr_speculative", 0.0),
        })
    return asr_done


def _bench_settings(settings: Settings, crm_url: str) -> Settings:
    """The configured settings, with a throw-away Redis key prefix and the demo CRM."""
    prefix = f"bench:{uuid.uuid4().hex[:10]}:"
    return settings.model_copy(update={
        "redis": settings.redis.model_copy(update={"prefix": prefix}),
        "dialog": settings.dialog.model_copy(update={"crm_url": crm_url}),
    })


def load_dialog_engine(settings: Settings) -> Any:
    from voicebot.dialog.loader import load_engine  # ImportError until the dialog engine is merged

    return load_engine(settings)


async def typed_replies(settings: Settings, calls: list[tuple[str, list[str]]]) -> dict[tuple[str, int], str]:
    """What our dialog answers to each scripted sentence as typed text (no audio): the baseline's replies
    when our audio pipeline could not run."""
    from voicebot.dialog.crm_server import start_demo_crm

    crm = await start_demo_crm()
    engine = load_dialog_engine(_bench_settings(settings, crm.url))
    out: dict[tuple[str, int], str] = {}
    try:
        for name, texts in calls:
            session = engine.new_session(CallInfo(call_id=f"bench-typed-{name}", language="en"))
            await session.start()
            for i, text in enumerate(texts):
                out[(name, i)] = (await session.handle(CallerSaid(text=text, language="en"))).text
    finally:
        await engine.close()
        await crm.stop()
    return out
