"""Speech synthesis streamed sentence by sentence, off the event loop, at the phone line's sample rate.

The first sentence of an answer (a caller is waiting for it) goes before other calls' later sentences, which
have the first sentence's playing time to be ready (see worker.py). Pieces said before come from a cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from voicebot.pipeline.pcm import resample, trim_leading_silence
from voicebot.pipeline.speech_cache import SpeechCache
from voicebot.pipeline.voices import EspeakVoice, Voice, speech_pieces
from voicebot.pipeline.worker import SOON, URGENT, PriorityWorker

TTS_THREADS = 2  # one for later pieces, one more for first pieces (see SpeechSynthesizer)


class NoVoice(LookupError):
    """No voice for this language and no espeak-ng fallback configured."""


@dataclass
class TtsStats:
    sentences: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0


class SpeechSynthesizer:
    """Voices per language, two synthesis threads shared by all calls.

    Later pieces of answers (SOON) run on one thread at a time, so speech synthesis takes at most one core from
    whisper for them; the other thread is kept for first pieces (URGENT), which a caller waits for in silence. With
    one thread, a first piece waited for whatever piece was being synthesized (up to ~0.5 s at 8 calls: another
    caller's opening-hours sentence). Calls interleave at piece granularity. espeak-ng's global state (piper's
    phonemizer, the espeak-ng voice) is behind locks (voices.py, espeak.py); the ONNX runs are thread-safe.
    """

    def __init__(self, voices: dict[str, Voice], espeak_fallback: bool, cache_bytes: int = 0) -> None:
        self.voices = voices
        self.espeak_fallback = espeak_fallback
        self.stats = TtsStats()
        self.cache = SpeechCache(cache_bytes)
        self._worker = PriorityWorker("tts", threads=TTS_THREADS, limited_from=SOON)
        self._lock = threading.Lock()

    def voice(self, language: str) -> Voice:
        voice = self.voices.get(language)
        if voice is None and self.espeak_fallback:
            voice = self.voices[language] = EspeakVoice(language)
        if voice is None:
            raise NoVoice(f"no TTS voice for language '{language}' (configured: {', '.join(self.voices)}); "
                          'add one to tts.voices or set tts.fallback = "espeak-ng"')
        return voice

    async def stream(self, text: str, language: str, sample_rate: int) -> AsyncIterator[bytes]:
        """s16le mono PCM at `sample_rate`, one piece per sentence, each ready as soon as it is synthesized.

        A barge-in cancels this between pieces (a piece being synthesized finishes in the worker, unused).
        """
        voice = self.voice(language)
        priority = URGENT
        for piece in speech_pieces(text):
            pcm = self.cache.get(voice.name, piece, sample_rate)
            if pcm is None:
                pcm = await self._worker.run(priority, self._synthesize, voice, piece, sample_rate)
                self.cache.put(voice.name, piece, sample_rate, pcm)
            if pcm and priority == URGENT:
                # piper starts each piece with 30-60 ms of silence: the caller waiting for the answer does not
                # need to hear it (later pieces keep theirs, it is part of the pause between them).
                pcm = trim_leading_silence(pcm, sample_rate)
            if pcm:
                yield pcm
                priority = SOON

    def _synthesize(self, voice: Voice, piece: str, sample_rate: int) -> bytes:
        started = time.perf_counter()
        audio = [a for a in voice.sentences(piece) if len(a)]
        out = b"".join(resample(a, voice.sample_rate, sample_rate) for a in audio)
        with self._lock:
            self.stats.sentences += len(audio)
            self.stats.audio_s += sum(len(a) for a in audio) / voice.sample_rate
            self.stats.compute_s += time.perf_counter() - started
        return out

    async def synthesize(self, text: str, language: str, sample_rate: int) -> bytes:
        """The whole reply at once (tests, tools)."""
        return b"".join([pcm async for pcm in self.stream(text, language, sample_rate)])

    def close(self, wait_s: float = 0.0) -> None:
        self._worker.close()
        self._worker.join(wait_s)
