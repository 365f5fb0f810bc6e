"""The baseline: pipecat's stock pipeline exactly as it ships, fed the same caller audio.

    CallerSource -> VADProcessor(SileroVADAnalyzer()) -> WhisperSTTService(models/whisper-base)
      -> ScriptedReplies (same reply texts as our dialog) -> PiperTTSService(models/piper voice) -> LineSink

Nothing is added between the stock services and the line: piper's audio reaches the line as the stock
service streams it (sentence by sentence), exactly as a pipecat app would play it.

It runs under pipecat's `PipelineWorker`/`WorkerRunner`. Models are loaded once and the one pipeline
serves every scripted call in turn (calls are separated by the caller script, not by restarting), so
calls can alternate with our pipeline's: both meet the same (shared, noisy) machine load.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.workers.runner import WorkerRunner

from bench._caller import ScriptedCaller, TurnMeasure

# The first line every bench prints about the baseline, so nobody reads it as something it is not.
STOCK_NOTE = ("baseline: pipecat's stock pipeline exactly as shipped (VADProcessor(SileroVADAnalyzer()) defaults,"
              " WhisperSTTService, PiperTTSService streaming its audio as it synthesizes; nothing added, no cache)")
IN_RATE = 16000  # faster-whisper reads raw PCM as 16 kHz, so the stock STT needs 16 kHz input


@dataclass
class _Stamps:
    """Per-turn times (monotonic) seen inside the baseline pipeline."""

    vad_stop: float | None = None
    transcript: float | None = None
    reply: float | None = None


class _Calls:
    """The calls waiting for the line and the one on it now; shared by the source and the reply step."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[ScriptedCaller, asyncio.Future[None]]] = asyncio.Queue()
        self.current: ScriptedCaller | None = None
        self.stamps: dict[tuple[str, int], _Stamps] = {}
        self.unanswered = 0  # transcripts of sentence fragments, not answered

    def listening(self) -> TurnMeasure | None:
        return self.current.listening_turn if self.current else None

    def stamp(self, turn: TurnMeasure) -> _Stamps:
        return self.stamps.setdefault((turn.call, turn.turn), _Stamps())


class CallerSource(FrameProcessor):
    """Plays each queued call's audio into the pipeline as InputAudioRawFrames, paced in real time.

    Between calls nothing is sent, so the idle pipeline costs no CPU while our pipeline is measured.
    """

    def __init__(self, calls: _Calls) -> None:
        super().__init__(name="caller-source")
        self._calls = calls
        self._task: asyncio.Task | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self._task = self.create_task(self._feed())
        elif isinstance(frame, (EndFrame, CancelFrame)) and self._task:
            await self.cancel_task(self._task)
            self._task = None

    async def _feed(self) -> None:
        while True:
            caller, done = await self._calls.queue.get()
            self._calls.current = caller
            try:
                async for chunk in caller.chunks():
                    await self.push_frame(InputAudioRawFrame(audio=chunk, sample_rate=caller.sample_rate,
                                                             num_channels=1))
            finally:
                self._calls.current = None
                if not done.done():
                    done.set_result(None)


class ScriptedReplies(FrameProcessor):
    """The 'dialog' of the baseline: answers each caller turn with the reply text our dialog gave."""

    def __init__(self, calls: _Calls, reply_for: Callable[[TurnMeasure], str]) -> None:
        super().__init__(name="scripted-replies")
        self._calls = calls
        self._reply_for = reply_for
        # One entry per VAD segment, in order: (its turn, whether it ends the caller's sentence). The STT
        # transcribes segments in that order, so each transcript belongs to the oldest open segment.
        self._segments: deque[tuple[TurnMeasure, bool]] = deque()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        turn = self._calls.listening()
        if isinstance(frame, VADUserStoppedSpeakingFrame) and turn:
            final = bool(turn.speech_end)  # else the VAD cut the sentence at a pause: a fragment
            self._segments.append((turn, final))
            st = self._calls.stamp(turn)
            if final and st.vad_stop is None:
                st.vad_stop = time.monotonic()
        if isinstance(frame, TranscriptionFrame) and direction == FrameDirection.DOWNSTREAM:
            await self._answer(frame)
            return
        await self.push_frame(frame, direction)

    async def _answer(self, frame: TranscriptionFrame) -> None:
        now = time.monotonic()
        if not self._segments:
            self._calls.unanswered += 1
            return
        turn, final = self._segments.popleft()
        st = self._calls.stamp(turn)
        # Generous to the baseline: fragments the VAD cut off mid-sentence are not answered, only the
        # segment that ends with the caller's sentence is.
        if not final or st.transcript is not None:
            self._calls.unanswered += 1
            return
        st.transcript = now
        turn.heard_text = frame.text.strip()
        turn.reply_text = self._reply_for(turn)
        st.reply = time.monotonic()
        await self.push_frame(TTSSpeakFrame(turn.reply_text, append_to_context=False))


class LineSink(FrameProcessor):
    """The phone line: bot audio reaching it counts as played."""

    def __init__(self, calls: _Calls) -> None:
        super().__init__(name="line-sink")
        self._calls = calls

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, OutputAudioRawFrame) and self._calls.current:
            self._calls.current.on_bot_audio(len(frame.audio), frame.sample_rate)
            return
        await self.push_frame(frame, direction)


@dataclass
class BaselineModels:
    """The stock services, constructed (models loaded) once."""

    stt: WhisperSTTService
    tts: PiperTTSService
    load_secs: float


def load_baseline(whisper_dir: Path, piper_dir: Path, voice: str, compute_type: str) -> BaselineModels:
    # Both stock services download from a model hub when a model is missing: never at run time here.
    for needed in (whisper_dir / "model.bin", piper_dir / f"{voice}.onnx"):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing; run `voicebot models install`")
    t = time.perf_counter()
    stt = WhisperSTTService(settings=WhisperSTTService.Settings(model=str(whisper_dir)), device="cpu",
                            compute_type=compute_type)
    tts = PiperTTSService(settings=PiperTTSService.Settings(voice=voice), download_dir=piper_dir)
    return BaselineModels(stt=stt, tts=tts, load_secs=time.perf_counter() - t)


class BaselineHarness:
    """The stock pipeline, started once; scripted calls are put on its line one at a time."""

    def __init__(self, models: BaselineModels, reply_for: Callable[[TurnMeasure], str]) -> None:
        self._calls = _Calls()
        pipeline = Pipeline([
            CallerSource(self._calls),
            VADProcessor(vad_analyzer=SileroVADAnalyzer()),  # stock defaults, stop_secs included
            models.stt,
            ScriptedReplies(self._calls, reply_for),
            models.tts,
            LineSink(self._calls),
        ])
        out_rate = models.tts._voice.config.sample_rate  # the voice's own rate: no resampling for the baseline
        self._worker = PipelineWorker(pipeline, params=PipelineParams(audio_in_sample_rate=IN_RATE,
                                                                      audio_out_sample_rate=out_rate),
                                      enable_rtvi=False, cancel_on_idle_timeout=False, idle_timeout_secs=None,
                                      check_dangling_tasks=False)
        self._started = asyncio.Event()
        self._running: asyncio.Task | None = None

    async def start(self) -> None:
        @self._worker.event_handler("on_pipeline_started")
        async def _started(_worker: PipelineWorker, _frame: Frame) -> None:
            self._started.set()

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self._worker)
        self._running = asyncio.create_task(runner.run(), name="baseline-runner")
        await asyncio.wait_for(self._started.wait(), timeout=30)

    @property
    def unanswered(self) -> int:
        """Transcripts of sentence fragments (the VAD cut mid-sentence) that were not answered."""
        return self._calls.unanswered

    async def run_call(self, caller: ScriptedCaller) -> None:
        """Play one scripted call through the stock pipeline; fills the caller's TurnMeasures."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._calls.queue.put((caller, done))
        await done
        for turn in caller.turns:
            st = self._calls.stamps.get((turn.call, turn.turn))
            if st:
                turn.parts.update(_parts(turn, st))

    async def close(self) -> None:
        await self._worker.cancel(reason="benchmark finished")
        if self._running is not None:
            await self._running


def _parts(turn: TurnMeasure, st: _Stamps) -> dict[str, float]:
    ms = {}
    if st.vad_stop:
        ms["end_of_turn"] = (st.vad_stop - turn.speech_end) * 1000
    if st.vad_stop and st.transcript:
        ms["asr"] = (st.transcript - st.vad_stop) * 1000
    if st.transcript and st.reply:
        ms["dialog"] = (st.reply - st.transcript) * 1000
    if st.reply and turn.first_audio:
        ms["tts_first_audio"] = (turn.first_audio - st.reply) * 1000
    return ms
