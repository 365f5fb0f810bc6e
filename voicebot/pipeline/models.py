"""Speech models loaded ONCE per process and shared by every call: whisper, piper voices, VAD, smart-turn."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import onnxruntime as ort
from faster_whisper import WhisperModel
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.vad.vad_analyzer import VADParams
from prometheus_client import Histogram, Metric
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from voicebot.config import Settings
from voicebot.models import catalog
from voicebot.pipeline.analyzers import SharedSileroVAD, SharedSmartTurn, load_smart_turn_session, load_vad_session
from voicebot.pipeline.asr import SpeechRecognizer
from voicebot.pipeline.load import CallLoad
from voicebot.pipeline.tts import SpeechSynthesizer
from voicebot.pipeline.voices import EspeakVoice, PiperSentenceVoice, Voice, espeak_voice_name

log = logging.getLogger(__name__)
SHUTDOWN_WAIT_S = 10.0  # the longest a job still running at shutdown may take (a long turn under load)


@dataclass
class SharedModels:
    settings: Settings
    asr: SpeechRecognizer
    tts: SpeechSynthesizer
    vad_session: ort.InferenceSession
    smart_turn_session: ort.InferenceSession | None
    load_seconds: float = 0.0
    loaded_at: float = field(default_factory=time.time)
    calls: CallLoad = field(init=False)  # calls served now, slow turns, admission of new calls
    # Histograms of this process's calls for /metrics (not in a global registry: each SharedModels has its own).
    # Each turn's wait is voicebot_asr_turn_wait_seconds; voicebot_asr_queue_delay_seconds is the smoothed
    # gauge of those waits that admission control reads (CallLoad.prometheus_metrics).
    turn_latency: Histogram = field(default_factory=lambda: Histogram(
        "voicebot_turn_latency_seconds", "Voice-to-voice: the caller's last voiced audio to the bot's first audio.",
        buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0), registry=None))
    asr_turn_wait: Histogram = field(default_factory=lambda: Histogram(
        "voicebot_asr_turn_wait_seconds", "How long each finished caller turn waited for a free whisper worker "
        "(0 when its speculative transcription had already started; speculation itself not counted).",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=None))

    def __post_init__(self) -> None:
        self.calls = CallLoad(self.asr, self.settings.asr.admit_queue_delay_ms,
                              max_served=self.settings.asr.calls_per_core * cpu_cores())

    @classmethod
    def load(cls, settings: Settings) -> SharedModels:
        """Load everything; raise catalog.ModelMissing naming the missing model/voice (blocking: use a thread)."""
        started = time.perf_counter()
        models_dir = settings.path(settings.models.dir)
        whisper_path = catalog.whisper_dir(models_dir, settings.models.whisper)
        voices = _load_voices(settings)
        workers, threads = asr_workers(settings)
        # One model in memory; `num_workers` lets that many transcriptions run at once from our worker threads.
        whisper = WhisperModel(str(whisper_path), device="cpu", compute_type=settings.models.compute_type,
                               cpu_threads=threads, num_workers=workers)
        models = cls(
            settings=settings,
            asr=SpeechRecognizer(whisper, settings.asr.beam_size, workers=workers),
            tts=SpeechSynthesizer(voices, espeak_fallback=settings.tts.fallback == "espeak-ng",
                                  cache_bytes=settings.tts.cache_mb * 2**20),
            vad_session=load_vad_session(),
            smart_turn_session=load_smart_turn_session() if settings.turn.smart_turn else None,
        )
        models.load_seconds = time.perf_counter() - started
        log.info("speech models loaded in %.1fs: %s", models.load_seconds, models.describe())
        models.asr.observe_turn_wait(models.asr_turn_wait.observe)
        return models

    # -- per-call analyzers (cheap: they wrap the shared sessions) ------------------------------
    def new_vad(self, sample_rate: int) -> SharedSileroVAD:
        t = self.settings.turn
        params = VADParams(confidence=t.vad_confidence, start_secs=t.vad_start_secs, stop_secs=t.vad_stop_secs)
        return SharedSileroVAD(self.vad_session, sample_rate=sample_rate, params=params)

    def new_turn_analyzer(self, sample_rate: int) -> SharedSmartTurn | None:
        if self.smart_turn_session is None:
            return None
        # smart-turn's stop_secs is the silence after which the turn ends whatever the model thinks.
        params = SmartTurnParams(stop_secs=self.settings.turn.max_silence_secs)
        return SharedSmartTurn(self.smart_turn_session, sample_rate=sample_rate, params=params,
                               min_probability=self.settings.turn.smart_turn_min_probability)

    # -- reporting ------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "whisper": self.settings.models.whisper,
            "compute_type": self.settings.models.compute_type,
            "beam_size": self.asr.beam_size,
            "asr_workers": self.asr.workers,
            "voices": {lang: v.name for lang, v in self.tts.voices.items()},
            "tts_fallback": self.settings.tts.fallback or None,
            "vad": "silero (pipecat bundled)",
            "smart_turn": "v3.2 (pipecat bundled)" if self.smart_turn_session is not None else "off",
            "load_seconds": round(self.load_seconds, 2),
            "transcriptions": self.asr.stats.transcriptions,
        }

    def record_turn(self, timings: dict[str, float]) -> None:
        """One answered caller turn's timings (ms, voicebot.pipeline.call): into the turn latency histogram."""
        if "first_audio_ms" in timings:
            self.turn_latency.observe(timings["first_audio_ms"] / 1000)

    def metric_families(self) -> list[Metric]:
        """What /metrics shows about the models (the names predate prometheus_client and stay the same)."""
        a, t = self.asr.stats, self.tts.stats
        metrics = [
            ("voicebot_models_load_seconds", "gauge", "Time it took to load the speech models.", self.load_seconds),
            ("voicebot_asr_transcriptions_total", "counter", "Whisper transcriptions run.", a.transcriptions),
            ("voicebot_asr_audio_seconds_total", "counter", "Caller audio transcribed.", a.audio_s),
            ("voicebot_asr_compute_seconds_total", "counter", "Time spent in whisper.", a.compute_s),
            ("voicebot_asr_queued", "gauge", "Caller turns waiting for or in speech recognition.", self.asr.queued),
            ("voicebot_tts_sentences_total", "counter", "Sentences synthesized.", t.sentences),
            ("voicebot_tts_audio_seconds_total", "counter", "Bot audio synthesized.", t.audio_s),
            ("voicebot_tts_compute_seconds_total", "counter", "Time spent synthesizing.", t.compute_s),
            ("voicebot_tts_cache_hits_total", "counter", "Bot sentences served from the speech cache.",
             self.tts.cache.hits),
            *self.calls.prometheus_metrics(),
        ]
        families: list[Metric] = []
        for name, kind, help_text, value in metrics:
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            families.append(family(name, help_text, value=value))
        for histogram in (self.turn_latency, self.asr_turn_wait):
            families += histogram.collect()
        return families

    def close(self) -> None:
        """Stop the speech workers, waiting a moment for a transcription/synthesis still running to end."""
        self.asr.close(wait_s=SHUTDOWN_WAIT_S)
        self.tts.close(wait_s=SHUTDOWN_WAIT_S)


def cpu_cores() -> int:
    return os.cpu_count() or 1


def asr_workers(settings: Settings) -> tuple[int, int]:
    """(whisper workers, threads each): by default one single-threaded worker per core. Concurrent calls'
    turns then run side by side instead of queueing behind one transcription that cannot use both cores
    (whisper-base on short turns scales poorly past one thread)."""
    cores = cpu_cores()
    workers = settings.asr.workers or cores
    return workers, settings.models.cpu_threads or max(1, cores // workers)


def _load_voices(settings: Settings) -> dict[str, Voice]:
    models_dir = settings.path(settings.models.dir)
    espeak = settings.tts.fallback == "espeak-ng"
    voices: dict[str, Voice] = {}
    for language, name in settings.tts.voices.items():
        variant = espeak_voice_name(name)
        if variant is not None:
            voices[language] = EspeakVoice(language, variant)
            continue
        try:
            found = catalog.voice_for(models_dir, name)
        except catalog.ModelMissing:
            if not espeak:
                raise
            log.warning("piper voice %s for '%s' is missing: speaking %s with espeak-ng", name, language, language)
            voices[language] = EspeakVoice(language)
            continue
        voices[language] = PiperSentenceVoice(found.name, found.onnx, found.config)
    return voices

