"""Real-time factors of the speech models on the benchmark's own audio and reply texts.

Measured outside any pipeline (nothing else running), with the settings our pipeline uses
(compute type, threads, beam size), so the numbers say what the models cost, not what waiting costs.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from bench._audio import Utterance
from bench._report import ModelSpeed


def measure_speed(whisper_dir: Path, voice_path: Path, compute_type: str, cpu_threads: int, beam_size: int,
                  utterances: list[Utterance], replies: list[str]) -> ModelSpeed:
    from faster_whisper import WhisperModel
    from piper import PiperVoice

    model = WhisperModel(str(whisper_dir), device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)
    asr_secs = audio_secs = 0.0
    for u in utterances:
        if u.sample_rate != 16000:
            raise ValueError("RTF is measured on the 16 kHz copy of the caller audio")
        audio = np.frombuffer(u.pcm, dtype="<i2").astype(np.float32) / 32768
        t = time.perf_counter()
        segments, _ = model.transcribe(audio, language="en", beam_size=beam_size)
        list(segments)  # transcription is lazy: consume it inside the timing
        asr_secs += time.perf_counter() - t
        audio_secs += len(audio) / 16000

    voice = PiperVoice.load(voice_path)
    tts_secs = tts_audio = 0.0
    firsts: list[float] = []
    for text in replies or ["Thank you for calling."]:
        t = time.perf_counter()
        first = None
        for chunk in voice.synthesize(text):
            first = first or time.perf_counter() - t
            tts_audio += len(chunk.audio_int16_bytes) / 2 / chunk.sample_rate
        tts_secs += time.perf_counter() - t
        firsts.append((first or 0.0) * 1000)
    return ModelSpeed(asr_rtf=asr_secs / max(audio_secs, 1e-9), tts_rtf=tts_secs / max(tts_audio, 1e-9),
                      tts_first_chunk_ms=statistics.median(firsts))
