"""Pipecat's bundled Silero VAD and smart-turn v3 analyzers, built around ONNX sessions shared by all calls.

Pipecat's analyzers load their ONNX model in `__init__`, once per call. The models are stateless apart from
Silero's recurrent state (kept per call in `SileroOnnxModel`), and `InferenceSession.run` is thread-safe, so
we load each session once per process and give every call a cheap analyzer around it.

The sessions run without onnxruntime's CPU memory arena. With it, each run that overlaps another carves its
own buffers out of the arena, which then keeps them for good: smart-turn grew by ~17 MB per concurrent run
(6 at once: +80 MB; calls run their analyzers on the event loop's thread pool), and a rare new peak of
overlapping runs looked like a slow leak in long soaks. Without it a run's buffers are plain malloc, freed
when it ends and handed back by the per-call trim (voicebot/native_memory.py); these models are small, the
extra allocations cost microseconds per run.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

import numpy as np
import onnxruntime as ort
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn, SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams
from pipecat.metrics.metrics import MetricsData


def _bundled(package: str, name: str) -> str:
    return str(resources.files(package).joinpath(name))


def load_vad_session() -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.enable_cpu_mem_arena = False  # see the module docstring
    return ort.InferenceSession(_bundled("pipecat.audio.vad.data", "silero_vad.onnx"),
                                providers=["CPUExecutionProvider"], sess_options=opts)


def load_smart_turn_session() -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_cpu_mem_arena = False  # see the module docstring
    return ort.InferenceSession(_bundled("pipecat.audio.turn.smart_turn.data", "smart-turn-v3.2-cpu.onnx"),
                                providers=["CPUExecutionProvider"], sess_options=opts)


class SharedSileroVAD(SileroVADAnalyzer):
    """Silero VAD for one call; the ONNX session is the process's, the recurrent state is this call's."""

    def __init__(self, session: ort.InferenceSession, *, sample_rate: int, params: VADParams) -> None:
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)  # skip the per-call model load
        model = SileroOnnxModel.__new__(SileroOnnxModel)
        model.session = session
        model.sample_rates = [8000, 16000]
        model.reset_states()
        self._model = model
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
        self.set_sample_rate(sample_rate)

    def _get_smoothed_volume(self, audio: bytes) -> float:
        # Pipecat smooths the loudness of its rolling 400 ms window a second time (factor 0.2 per 32 ms window),
        # so the volume crosses `min_volume` ~150 ms after the first syllable. A one-word answer ("Yes.", "No.")
        # then had too few windows both voiced and loud to start a turn: on an 8 kHz line it was lost in 6 of
        # 10 alignments. The window itself is smooth enough; use it as it is.
        self._volume_tracker.update(audio, self.sample_rate)
        return self._volume_tracker.volume


class SharedSmartTurn(LocalSmartTurnAnalyzerV3):
    """smart-turn v3 end-of-turn model for one call around the process's ONNX session."""

    def __init__(self, session: ort.InferenceSession, *, sample_rate: int, params: SmartTurnParams,
                 min_probability: float = 0.5) -> None:
        BaseSmartTurn.__init__(self, sample_rate=sample_rate, params=params)  # skip the per-call model load
        self._log_data = False
        self._session = session
        self._min_probability = min_probability
        self._audio_s = 0.0  # audio received so far, in seconds: this analyzer's clock
        self.set_sample_rate(sample_rate)

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        # Pipecat stamps each chunk with the wall clock and picks the segment it scores (from `pre_speech_ms`
        # before the speech) by those stamps. Audio that arrives in a burst (a line catching up after a stall,
        # a busy machine, the file caller in fast mode) then has seconds of it inside one wall-clock half
        # second, and the model scores a different stretch of audio depending on how busy the machine was.
        # Here a chunk's stamp is the audio time at its end.
        chunk = np.frombuffer(buffer, dtype=np.int16)
        self._audio_s += len(chunk) / self.sample_rate
        self._audio_buffer.append((self._audio_s, chunk))
        if is_speech:
            self._silence_ms = 0
            self._speech_triggered = True
            if not self._speech_start_time:
                self._speech_start_time = self._audio_s
            return EndOfTurnState.INCOMPLETE
        if not self._speech_triggered:  # keep only what could be scored as the lead-in to speech
            keep_s = self._params.pre_speech_ms / 1000 + self._vad_start_secs + len(chunk) / self.sample_rate
            stale = 0
            while stale < len(self._audio_buffer) and self._audio_buffer[stale][0] < self._audio_s - keep_s:
                stale += 1
            del self._audio_buffer[:stale]
            return EndOfTurnState.INCOMPLETE
        self._silence_ms += 1000 * len(chunk) / self.sample_rate
        if self._silence_ms < self._stop_ms:
            return EndOfTurnState.INCOMPLETE
        self._clear(EndOfTurnState.COMPLETE)  # silence cap reached: over, whatever the model would say
        return EndOfTurnState.COMPLETE

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        # Pipecat forgets the turn's audio once the model says "complete". The TurnDetector may wait on after it
        # (turn.smart_turn_min_silence_secs: a comma pause) and clears this analyzer when the turn really ends; a
        # caller who goes on is then scored on the whole sentence, not only on the words after the pause.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._model_executor, self._process_speech_segment, self._audio_buffer)

    def _predict_endpoint(self, audio_array: np.ndarray) -> dict[str, Any]:
        # Pipecat calls a turn complete above 0.5, a coin toss; a borderline score at a pause should wait for more
        # speech or the silence cap (settings.turn.smart_turn_min_probability; not tuned on data yet).
        result = super()._predict_endpoint(audio_array)
        result["prediction"] = 1 if result["probability"] > self._min_probability else 0
        return result
