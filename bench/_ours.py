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

# Our pipeline stores, with each caller turn, ms after ITS notion of the caller's last voiced chunk
# (voicebot.pipeline.frames.TurnClock.timings): when the turn was declared over and when ASR was done.
EOT_KEY = "end_of_turn_ms"
ASR_DONE_KEY = "asr_done_ms"


class TimedEngine:
    """Delegates to the real dialog engine and notes, on the bench's clock, when each reply was computed.

    Our pipeline does not store when the reply was ready, so this probe splits the dialog step from the
    first-TTS-audio step. It changes nothing about what the dialog does.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.handled: dict[str, list[tuple[float, float]]] = {}  # call id -> (start, end) per caller event

    def new_session(self, call: CallInfo) -> Any:
        return _TimedSession(self.engine.new_session(call), self.handled.setdefault(call.call_id, []))

    async def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if close is not None:
            await close()


class _TimedSession:
    def __init__(self, session: Any, spans: list[tuple[float, float]]) -> None:
        self.session = session
        self.spans = spans

    async def start(self) -> Any:
        return await self.session.start()

    async def handle(self, event: Any) -> Any:
        t = time.monotonic()
        try:
            return await self.session.handle(event)
        finally:
            self.spans.append((t, time.monotonic()))

    def snapshot(self) -> dict[str, Any]:
        return self.session.snapshot()


@dataclass
class OursHarness:
    services: CallServices
    dialog: TimedEngine
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
        t = time.perf_counter()
        dialog = TimedEngine(load_dialog_engine(settings))
        models = await asyncio.to_thread(SharedModels.load, settings)
        load_secs = time.perf_counter() - t
        url, embedded = resolve_redis_url(settings)
        client = connect(url)
        store = CallStore(client, Keys(prefix))
        services = CallServices(settings=settings, models=models, dialog=dialog, store=store)
        return cls(services=services, dialog=dialog, store=store, load_secs=load_secs, _redis=client,
                   _embedded=embedded)

    async def run_call(self, caller: ScriptedCaller) -> str:
        """One scripted call through our pipeline; returns a note on how it ended if not normally."""
        from voicebot.pipeline.call import run_call

        line = BenchLine(caller)
        call_id = f"bench-{caller.call}-{uuid.uuid4().hex[:6]}"
        info = CallInfo(call_id=call_id, caller_number="+48000000000", language="en", channel="local")
        wall_minus_mono = time.time() - time.monotonic()
        notes = []
        # A call can't take longer than its script with every reply timing out; past that it is stuck.
        limit = caller.timing.greeting_timeout_secs + sum(
            t.voiced_secs + caller.timing.reply_timeout_secs + 20 for t in caller.turns)
        try:
            await asyncio.wait_for(run_call(line, info, self.services), timeout=limit)
        except TimeoutError:
            notes.append(f"run_call did not return within {limit:.0f} s")
        except Exception as exc:
            notes.append(f"run_call raised {type(exc).__name__}: {exc}")
        await self._fill_from_transcript(call_id, caller.turns, wall_minus_mono)
        _fill_parts(caller.turns, self.dialog.handled.get(call_id, []))
        if line.transfers:
            notes.append(f"transferred to the human line ({len(line.transfers)}x)")
        if caller.overlaps:
            notes.append(f"bot audio started while the caller was still speaking ({caller.overlaps}x)")
        return "; ".join(notes)

    async def _fill_from_transcript(self, call_id: str, turns: list[TurnMeasure], wall_minus_mono: float) -> None:
        """What our ASR heard, what the dialog replied, and the pipeline's own timings, per scripted turn."""
        records = await self.store.turns(call_id)
        for turn in turns:
            if not turn.speech_end:
                continue
            ended = turn.speech_end + wall_minus_mono
            # The caller's record is written once ASR is done, so after the speech ended; earlier records
            # are fragments (the turn was cut mid-sentence).
            i = next((i for i, r in enumerate(records) if r.role == "caller" and r.ts >= ended), None)
            if i is None:
                continue
            said = records[i]
            turn.heard_text = said.text
            if EOT_KEY in said.timings:
                turn.parts["end_of_turn"] = said.timings[EOT_KEY]
                if ASR_DONE_KEY in said.timings:
                    turn.parts["asr"] = said.timings[ASR_DONE_KEY] - said.timings[EOT_KEY]
            reply = next((r for r in records[i + 1:] if r.role == "bot"), None)
            if reply is not None:
                turn.reply_text = reply.text

    def speech_stats(self) -> str:
        """Whisper/piper work done inside our pipeline during the run (speculative transcriptions included)."""
        models = self.services.models
        a, t = models.asr.stats, models.tts.stats
        return (f"in-pipeline ASR: {a.transcriptions} transcriptions, RTF {a.compute_s / max(a.audio_s, 1e-9):.3f};"
                f" TTS: {t.sentences} sentences, RTF {t.compute_s / max(t.audio_s, 1e-9):.3f}")

    async def close(self) -> None:
        keys = [k async for k in self._redis.scan_iter(match=f"{self.store.keys.prefix}*", count=500)]
        if keys:
            await self._redis.delete(*keys)
        await self._redis.aclose()
        self.services.models.close()
        await self.dialog.close()
        if self._embedded is not None:
            self._embedded.stop()


def _fill_parts(turns: list[TurnMeasure], handled: list[tuple[float, float]]) -> None:
    """Dialog time and time from reply to first audio, from the probe's stamps (same clock as the caller)."""
    for turn in turns:
        if not turn.speech_end or turn.first_audio is None:
            continue
        span = next(((a, b) for a, b in handled if turn.speech_end < a < turn.first_audio), None)
        if span is None:
            continue
        turn.parts["dialog"] = (span[1] - span[0]) * 1000
        turn.parts["tts_first_audio"] = (turn.first_audio - span[1]) * 1000


def load_dialog_engine(settings: Settings) -> Any:
    from voicebot.dialog.loader import load_engine  # ImportError until the dialog engine is merged

    return load_engine(settings)


async def typed_replies(settings: Settings, calls: list[tuple[str, list[str]]]) -> dict[tuple[str, int], str]:
    """What our dialog answers to each scripted sentence as typed text (no audio): the baseline's replies
    when our audio pipeline could not run."""
    engine = load_dialog_engine(settings)
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
