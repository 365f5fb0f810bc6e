"""Caller turns -> caller words: whisper in the shared ASR thread, started early during short pauses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.dialog.types import CallerSaid
from voicebot.pipeline import prosody
from voicebot.pipeline.asr import SpeechRecognizer, Transcript
from voicebot.pipeline.frames import CallerEventFrame, CallerTurnFrame, SpeechPausedFrame, SystemFaultFrame, TurnClock
from voicebot.pipeline.turns import RATE

log = logging.getLogger(__name__)


@dataclass
class _Speculation:
    voiced_chunks: int
    task: asyncio.Task[Transcript]


def _consume_result(task: asyncio.Task[Transcript]) -> None:
    if not task.cancelled():
        task.exception()


class Transcriber(FrameProcessor):
    def __init__(self, asr: SpeechRecognizer, language: str) -> None:
        super().__init__(name="stt")
        self._asr = asr
        self._language = language
        self._speculation: _Speculation | None = None
        self._last: asyncio.Task[None] | None = None  # turns are delivered in order

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, SpeechPausedFrame):
            self._drop_speculation()
            if not self._asr.idle:
                return  # under load, speculation would only push other callers' final turns back
            # A plain asyncio task, not self.create_task: pipecat's task wrapper swallows exceptions, and a
            # failing recognizer must surface when the turn awaits this result.
            task = asyncio.create_task(self._asr.transcribe(frame.audio, self._language), name="asr-speculative")
            task.add_done_callback(_consume_result)  # a dropped speculation's error is not worth a warning
            self._speculation = _Speculation(frame.voiced_chunks, task)
        elif isinstance(frame, CallerTurnFrame):
            speculation, self._speculation = self._speculation, None
            if speculation and speculation.voiced_chunks != frame.voiced_chunks:
                speculation.task.cancel()  # the caller spoke again after that pause: its text is incomplete
                speculation = None
            self._last = self.create_task(self._deliver(frame, speculation, self._last), name="asr-turn")
        else:
            await self.push_frame(frame, direction)

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.task.cancel()  # a queued job never runs; a running one finishes unused
            self._speculation = None

    async def _deliver(self, frame: CallerTurnFrame, speculation: _Speculation | None,
                       previous: asyncio.Task[None] | None) -> None:
        clock = frame.clock
        try:
            if speculation is not None:
                result = await speculation.task
                clock.speculative_hit = True
            else:
                result = await self._asr.transcribe(frame.audio, self._language)
        except Exception as exc:  # the caller must reach a human, not silence
            log.exception("speech recognition failed")
            if previous is not None:
                await previous
            await self.push_frame(SystemFaultFrame("asr", f"{type(exc).__name__}: {exc}"))
            return
        clock.asr_done = TurnClock.now()
        clock.asr_compute_ms = result.compute_ms
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        if not result.text.strip():
            log.info("turn of %.1fs had no words (noise?), ignored", result.duration_s)
            return
        said = CallerSaid(
            text=result.text, language=result.language, asr_confidence=round(result.confidence, 3),
            prosody=prosody.measure(frame.voiced, RATE, len(result.text.split()), frame.speech_s),
            barge_in=frame.barge_in,
        )
        await self.push_frame(CallerEventFrame(said, clock))

    async def cleanup(self) -> None:
        self._drop_speculation()
        await super().cleanup()
