"""Voices that turn one reply into audio, one sentence at a time: piper, or the espeak-ng binary as fallback.

Each `sentences()` is a plain generator so the caller can advance it on a worker thread and play sentence 1
while sentence 2 is still being synthesized.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort
from piper import PiperVoice

from voicebot.pipeline import espeak

# Split after . ! ? … followed by whitespace; keeps abbreviations like "ul." mostly intact because they are
# rarely followed by a capital in our prompts, and a wrong split only costs a tiny pause.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
FIRST_PIECE_MAX_WORDS = 8


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def speech_pieces(text: str) -> list[str]:
    """Sentences, with a long first sentence cut at its first clause break (comma, colon...).

    The caller waits for the first piece only, so it should be short; later pieces are synthesized while the
    first one plays. A cut at a comma sounds like the pause the comma already asks for.
    """
    sentences = split_sentences(text)
    if not sentences or len(sentences[0].split()) <= FIRST_PIECE_MAX_WORDS:
        return sentences
    first = _CLAUSE_END.split(sentences[0], maxsplit=1)
    if len(first) == 2 and len(first[0].split()) >= 2:
        return [first[0], first[1], *sentences[1:]]
    return sentences


class Voice(Protocol):
    name: str
    sample_rate: int

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """int16 mono audio at `sample_rate`, one array per sentence."""
        ...


class PiperSentenceVoice:
    def __init__(self, name: str, onnx: Path, config: Path) -> None:
        self.name = name
        voice = PiperVoice.load(onnx, config_path=config)
        voice.session = _quiet_session(onnx)
        self.voice = voice
        self.sample_rate = int(self.voice.config.sample_rate)

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        for piece in speech_pieces(text):
            for chunk in self.voice.synthesize(piece):  # one AudioChunk per sentence piper finds
                yield chunk.audio_int16_array


def _quiet_session(onnx: Path) -> ort.InferenceSession:
    """piper's model with threads that sleep, not spin, between pieces of work.

    onnxruntime's default thread pool spins while it waits; with several calls busy on two cores those
    spinning threads take the CPU whisper needs for another caller's turn.
    """
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx), sess_options=opts, providers=["CPUExecutionProvider"])


ESPEAK = "espeak-ng"  # in tts.voices: speak this language with espeak-ng ("espeak-ng:pl+f3" picks a variant)


class EspeakVoice:
    """espeak-ng (robotic, but covers every language): the bundled library, else the Debian binary.

    `voice` is an espeak-ng voice name: the language ("pl") or a variant ("pl+f3", "en-us+m2").
    """

    def __init__(self, language: str, voice: str = "") -> None:
        self.language = language
        self.voice = voice or language
        self.name = f"{ESPEAK}:{self.voice}"
        try:
            self._library: espeak.EspeakLibrary | None = espeak.shared()
            self.sample_rate = self._library.sample_rate
            self.engine = "libespeak-ng (espeakng-loader)"
        except espeak.EspeakUnavailable as library_error:
            self._library = None
            binary = shutil.which(ESPEAK)
            if binary is None:
                raise FileNotFoundError(f"no espeak-ng for language '{language}': {library_error}, and the "
                                        "espeak-ng binary is not installed") from library_error
            self.binary = binary
            self.sample_rate = 22050
            self.engine = binary

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        for sentence in speech_pieces(text):
            if self._library is not None:
                yield self._library.synthesize(sentence, self.voice)
                continue
            proc = subprocess.run([self.binary, "-v", self.voice, "--stdout", sentence],
                                  capture_output=True, check=True, timeout=30)
            with wave.open(io.BytesIO(proc.stdout)) as wav:
                self.sample_rate = wav.getframerate()
                yield np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def espeak_voice_name(setting: str) -> str | None:
    """The espeak-ng voice a tts.voices value asks for ("espeak-ng" -> "", "espeak-ng:pl+f3" -> "pl+f3"),
    or None when the value names a piper voice."""
    if setting == ESPEAK:
        return ""
    if setting.startswith(ESPEAK + ":"):
        return setting.removeprefix(ESPEAK + ":")
    return None
