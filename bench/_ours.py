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
from voicebot.dialog.types import CallInfo
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect, resolve_redis_url
from voicebot.store.keys import Keys

# Our pipeline's timing names (ms, stored with each caller turn) -> the benchmark's parts.
TIMING_PARTS = {
    "end_of_turn": ("end_of_turn_ms", "eot_ms", "turn_wait_ms", "end_of_turn"),
    "asr": ("asr_ms", "asr_final_ms", "asr"),
    "dialog": ("dialog_ms", "dialog"),
    "tts_first_audio": ("tts_first_ms", "tts_first_audio_ms", "first_audio_ms", "tts_ms", "tts_first_audio"),
}


@dataclass
class OursHarness:
    services: CallServices
    store: CallStore
    load_secs: float
    _redis: Any
    _embedded: Any

    @classmethod
    async def start(cls, settings: Settings) -> OursHarness:
        """Load models + flows once. ImportError if our pipeline is not (yet) importable."""
        from voicebot.pipeline.call import run_call  # noqa: F401  fail early, before loading anything
        from voicebot.pipeline.models import SharedModels

        prefix = f"bench:{uuid.uuid4().hex[:10]}:"
        settings = settings.model_copy(update={"redis": settings.redis.model_copy(update={"prefix": prefix})})
        url, embedded = resolve_redis_url(settings)
        client = connect(url)
        store = CallStore(client, Keys(prefix))
        t = time.perf_counter()
        models = await asyncio.to_thread(SharedModels.load, settings)
        dialog = _load_dialog_engine(settings)
        load_secs = time.perf_counter() - t
        services = CallServices(settings=settings, models=models, dialog=dialog, store=store)
        return cls(services=services, store=store, load_secs=load_secs, _redis=client, _embedded=embedded)

    async def run_call(self, caller: ScriptedCaller) -> str:
        """One scripted call through our pipeline; returns a note on how it ended if not normally."""
        from voicebot.pipeline.call import run_call

        line = BenchLine(caller)
        call_id = f"bench-{caller.call}-{uuid.uuid4().hex[:6]}"
        info = CallInfo(call_id=call_id, caller_number="+48000000000", language="en", channel="local")
        wall_minus_mono = time.time() - time.monotonic()
        notes = []
        # A call can't take longer than its script plus every reply timing out; past that it is stuck.
        limit = caller.timing.greeting_timeout_secs + sum(
            t.voiced_secs + caller.timing.reply_timeout_secs + 10 for t in caller.turns)
        try:
            await asyncio.wait_for(run_call(line, info, self.services), timeout=limit)
        except TimeoutError:
            notes.append(f"run_call did not return within {limit:.0f} s after the caller hung up")
        except Exception as exc:
            notes.append(f"run_call raised {type(exc).__name__}: {exc}")
        await self._fill_from_transcript(call_id, caller.turns, wall_minus_mono)
        if line.transfers:
            notes.append(f"transferred to the human line ({len(line.transfers)}x)")
        if caller.overlaps:
            notes.append(f"bot audio started while the caller was still speaking ({caller.overlaps}x)")
        return "; ".join(notes)

    async def _fill_from_transcript(self, call_id: str, turns: list[TurnMeasure], wall_minus_mono: float) -> None:
        records = await self.store.turns(call_id)
        for turn in turns:
            if not turn.speech_end:
                continue
            ended = turn.speech_end + wall_minus_mono
            i = next((i for i, r in enumerate(records) if r.role == "caller" and r.ts >= ended), None)
            if i is None:
                continue
            said = records[i]
            turn.heard_text = said.text
            turn.parts.update(parts_from_timings(said.timings))
            reply = next((r for r in records[i + 1:] if r.role == "bot"), None)
            if reply is not None:
                turn.reply_text = reply.text
                turn.parts.update(parts_from_timings(reply.timings))

    async def close(self) -> None:
        keys = [k async for k in self._redis.scan_iter(match=f"{self.store.keys.prefix}*", count=500)]
        if keys:
            await self._redis.delete(*keys)
        await self._redis.aclose()
        self.services.models.close()
        close_dialog = getattr(self.services.dialog, "close", None)
        if close_dialog is not None:
            await close_dialog()
        if self._embedded is not None:
            self._embedded.stop()


def parts_from_timings(timings: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for part, names in TIMING_PARTS.items():
        for name in names:
            if name in timings:
                out[part] = float(timings[name])
                break
    return out


def _load_dialog_engine(settings: Settings) -> Any:
    from voicebot.dialog.loader import load_engine  # ImportError until the dialog engine is merged

    return load_engine(settings)



async def typed_replies(settings: Settings, calls: list[tuple[str, list[str]]]) -> dict[tuple[str, int], str]:
    """What our dialog answers to each scripted sentence as typed text (no audio): the baseline's replies
    when our audio pipeline could not run."""
    from voicebot.dialog.types import CallerSaid

    engine = _load_dialog_engine(settings)
    out: dict[tuple[str, int], str] = {}
    try:
        for name, texts in calls:
            session = engine.new_session(CallInfo(call_id=f"bench-typed-{name}", language="en"))
            await session.start()
            for i, text in enumerate(texts):
                out[(name, i)] = (await session.handle(CallerSaid(text=text, language="en"))).text
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            await close()
    return out
