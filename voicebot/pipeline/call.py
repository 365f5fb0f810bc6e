"""One phone call = one pipecat pipeline:

    line -> MediaSource -> DtmfCollector (keys) -> TurnDetector (Silero VAD + smart-turn v3)
         -> Transcriber (whisper) -> DialogResponder (CallSession) -> Speaker (piper, by sentence) -> MediaSink

Models come from the process (`services.models`); everything else here belongs to this call only. With
privacy.record_audio on, the line is wrapped in `RecordedMedia` first: both directions go to a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pipecat.frames.frames import ErrorFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from voicebot.call_session import CallSession
from voicebot.dialog.types import BotReply, CallInfo
from voicebot.native_memory import release_freed
from voicebot.pipeline.asr import Detect
from voicebot.pipeline.dtmf import DtmfCollector
from voicebot.pipeline.frames import MaintenanceFrame, SystemFaultFrame, TurnClock
from voicebot.pipeline.media import CallMedia
from voicebot.pipeline.media_io import MediaSink, MediaSource
from voicebot.pipeline.recorder import CallRecorder, RecordedMedia
from voicebot.pipeline.responder import DialogResponder
from voicebot.pipeline.services import CallServices
from voicebot.pipeline.speaker import Speaker
from voicebot.pipeline.stt import Transcriber
from voicebot.pipeline.turns import RATE, TurnDetector

log = logging.getLogger(__name__)

TurnTimingsHook = Callable[[dict[str, float]], None]


@dataclass
class _CallEnd:
    """How the call ended: set once, by whichever side closes it first."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def close(self, reason: str) -> None:
        if not self.done.is_set():
            self.reason = reason
            self.done.set()


def language_detection(services: CallServices, info: CallInfo) -> Detect | None:
    """Detect the caller's language on their first words, among the languages the call's flow exists in, unless
    the line chose it (a Polish number is answered in Polish, whoever calls it)."""
    languages_of = getattr(services.dialog, "languages", None)  # engines without several languages: no detection
    if not services.settings.languages.detect or languages_of is None or info.language_fixed:
        return None
    languages = tuple(languages_of(info.flow_id))
    if len(languages) < 2 or info.language not in languages:
        return None
    lang = services.settings.languages
    return Detect(languages, lang.detect_min_probability, lang.switch_sure_probability, lang.switch_min_confidence)


async def _preferred_language(info: CallInfo, services: CallServices) -> CallInfo:
    """A returning caller is greeted in the language of their last call (their profile's) unless the line
    chose the language; their first words may still switch it (language_detection)."""
    preferred = getattr(services.dialog, "preferred_language", None)  # engines without profiles: as is
    language = await preferred(info) if preferred is not None else ""
    if not language or language == info.language:
        return info
    log.info("call %s: returning caller: greeted in %s (their last call's language)", info.call_id, language)
    return dataclasses.replace(info, language=language)


async def _start_recording(media: CallMedia, info: CallInfo, services: CallServices) -> CallRecorder | None:
    """The call's recorder when recording is on and its file opens; else None (and the caller is not told
    the call is recorded). Never raises: a recording that cannot start must not cost the call."""
    if services.recordings is None or not services.settings.privacy.record_audio:
        return None
    settings = services.settings
    try:
        return await CallRecorder.start(settings.path(settings.privacy.recordings_dir), info.call_id,
                                        media.sample_rate, services.recordings)
    except Exception:
        log.exception("call %s: the recording could not start; the call goes on unrecorded", info.call_id)
        return None


async def run_call(media: CallMedia, info: CallInfo, services: CallServices, *,
                   on_turn: TurnTimingsHook | None = None) -> CallSession:
    """Run one call until the caller hangs up or the bot transfers / hangs up; return its session.

    `on_turn` (optional, e.g. for benchmarks) gets each caller turn's timings once the bot's first audio of
    the answer reached the line (ms after the caller's last voiced audio; `first_audio_ms` = voice-to-voice).
    """
    models, settings = services.models, services.settings
    info = await _preferred_language(info, services)
    recorder = await _start_recording(media, info, services)
    if recorder is not None:
        media = RecordedMedia(media, recorder)
    info = dataclasses.replace(info, recorded=recorder is not None)
    session = CallSession(info, services.dialog.new_session(info), services.store, services.write_handoff,
                          services.callbacks, new_dialog=services.dialog.new_session, router=services.router)
    call_start = TurnClock.now()
    end = _CallEnd()
    turn_timings: list[dict[str, float]] = []
    load = models.calls
    admitted = load.admit()  # else: "all lines are busy" and a person, not slow answers for every caller

    def turn_answered(clock: TurnClock) -> None:
        timings = clock.timings()
        turn_timings.append(timings)
        if "first_audio_ms" in timings:
            load.turn_answered(timings["first_audio_ms"])
        log.info("call %s turn timings (ms after caller stopped; ended by %s): %s", info.call_id,
                 clock.end_reason or "-", timings)
        models.record_turn(timings)
        if on_turn is not None:
            on_turn(timings)

    def line_closed(reply: BotReply, detail: str) -> None:
        end.close(f"bot {reply.action} ({reply.reason or '-'}): {detail}")

    detect = language_detection(services, info)
    processors = [
        MediaSource(media, lambda why: end.close(f"caller gone: {why}")),
        DtmfCollector(),
        TurnDetector(models.new_vad(RATE), models.new_turn_analyzer(RATE) if settings.turn.smart_turn else None,
                     input_rate=media.sample_rate,
                     max_silence_s=settings.turn.max_silence_secs, call_start=call_start,
                     speculative=settings.asr.speculative,
                     finished_words_silence_s=settings.turn.finished_words_silence_secs,
                     min_silence_s=settings.turn.smart_turn_min_silence_secs,
                     languages=detect.languages if detect is not None else (info.language,)),
        Transcriber(models.asr, info.language, settings.turn, detect,
                    digits_second_look=settings.asr.digits_second_look),
        DialogResponder(session, no_input_s=settings.dialog.no_input_secs, busy=not admitted),
        Speaker(models.tts, media.sample_rate),
        MediaSink(media, turn_answered, line_closed, goodbye_listen_s=settings.turn.goodbye_listen_secs),
    ]
    worker = PipelineWorker(
        Pipeline(processors),
        params=PipelineParams(audio_in_sample_rate=media.sample_rate, audio_out_sample_rate=media.sample_rate),
        idle_timeout_secs=None, enable_rtvi=False, enable_turn_tracking=False, check_dangling_tasks=False,
        name=f"call-{info.call_id}",
    )

    faulted = False

    @worker.event_handler("on_pipeline_error")
    async def _on_error(_worker: PipelineWorker, frame: ErrorFrame) -> None:
        # Any processor failing unexpectedly (VAD, a bug): the caller goes to a human, once.
        nonlocal faulted
        log.error("call %s: pipeline error: %s", info.call_id, frame.error)
        if not faulted:
            faulted = True
            await worker.queue_frame(SystemFaultFrame("pipeline", str(frame.error)))

    async def hand_over_on_drain(hand_over: asyncio.Event) -> None:
        # The worker is shutting down and this call outlived the drain timeout: to a human, with context.
        await hand_over.wait()
        await worker.queue_frame(MaintenanceFrame())

    runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
    await runner.add_workers(worker)
    drain = services.drain
    load.call_started(admitted)
    running = asyncio.create_task(runner.run(), name=f"call-{info.call_id}")
    ended = asyncio.create_task(end.done.wait())
    watcher = asyncio.create_task(hand_over_on_drain(drain.hand_over)) if drain is not None else None
    if drain is not None:
        drain.call_started()
    try:
        await asyncio.wait({running, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
        if watcher is not None:
            watcher.cancel()
        if not running.done():
            await worker.cancel(reason=end.reason or "call ended")
            with contextlib.suppress(asyncio.CancelledError):
                await running
        load.call_ended(admitted)
        log.info("call %s ended: %s", info.call_id, end.reason or "pipeline stopped")
        try:
            if recorder is not None:
                await recorder.close()
            if services.store is not None and turn_timings:
                await services.store.update_call(info.call_id, turn_timings=turn_timings)
            await session.finish()
        finally:
            if drain is not None:  # only now: a draining worker stops once every call's record is written
                drain.call_ended()
    # What the call freed goes back to the system: else the allocator keeps it and RSS only ever climbs
    # (malloc_trim, about 15 ms on a loaded server; voicebot/native_memory.py).
    await asyncio.to_thread(release_freed)
    return session
