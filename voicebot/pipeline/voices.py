"""Voices that turn one reply into audio, one sentence at a time: piper, or the espeak-ng binary as fallback.

Each `sentences()` is a plain generator so the caller can advance it on a worker thread and play sentence 1
while sentence 2 is still being synthesized.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Callable, Iterator
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
READ_BACK_MIN_DIGITS = 3  # single digits in a row: a number read back digit by digit, not "from 8 to 20"
_DIGIT = re.compile(r"\d[,.;:?!]?")
FIRST_PIECE_MIN_WORDS = 3  # a first piece cut before a phrase opener keeps at least this many words
# Words that open a phrase (English and Polish prepositions and conjunctions): a long first clause without a
# comma is cut before the first of them, where a speaker may pause anyway ("are available | from Monday ...").
_PHRASE_OPENERS = frozenset((
    "and", "but", "or", "from", "with", "for", "at", "on", "in", "until", "between", "because", "which", "that",
    "i", "oraz", "ale", "lub", "albo", "od", "do", "w", "we", "na", "z", "ze", "dla", "po", "przez", "że", "bo",
    "gdy", "kiedy", "który", "która", "które"))


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def speech_pieces(text: str) -> list[str]:
    """Sentences, with a long first sentence cut after its first few words: at its first clause break (comma,
    colon...), else before a phrase-opening word.

    The caller waits in silence for the first piece only, and piper's time grows with the piece's length (about
    0.1 s of one core per second of speech), so it should be short; later pieces are synthesized while the
    first one plays. A cut at a comma sounds like the pause the comma already asks for.
    """
    sentences = split_sentences(text)
    if not sentences:
        return sentences
    return [*_first_phrase(sentences[0]), *sentences[1:]]


def _first_phrase(sentence: str) -> list[str]:
    words = sentence.split()
    number = _read_back_at(words)
    if number is not None:
        # "Your order | 4 8 1 5 2, | the coffee grinder, ...": the words before a number read back digit by digit
        # are the flow's fixed text (piper's quickest piece, and one the speech cache holds), the number is
        # synthesized while they play, and a speaker pauses before a number anyway.
        rest = " ".join(words[number:])
        clause = _CLAUSE_END.split(rest, maxsplit=1)  # the number's own clause next, while the prefix plays
        return [" ".join(words[:number]), *(clause if len(clause[0].split()) <= FIRST_PIECE_MAX_WORDS else [rest])]
    if len(words) <= FIRST_PIECE_MAX_WORDS:
        return [sentence]
    clause = _CLAUSE_END.split(sentence, maxsplit=1)
    if len(clause) == 2 and 2 <= len(clause[0].split()) <= FIRST_PIECE_MAX_WORDS:
        return clause
    opener = next((i for i in range(FIRST_PIECE_MIN_WORDS, FIRST_PIECE_MAX_WORDS)
                   if words[i].lower() in _PHRASE_OPENERS), None)
    if opener is not None:
        return [" ".join(words[:opener]), " ".join(words[opener:])]
    if len(clause) == 2 and len(clause[0].split()) >= 2:
        return clause  # a comma later on still shortens the wait
    return [sentence]


def _read_back_at(words: list[str]) -> int | None:
    """Where a number said digit by digit ("4 8 1 5 2": an order number, a phone number) starts, if some words come
    before it within the first piece's length."""
    for i in range(1, min(len(words), FIRST_PIECE_MAX_WORDS + 1)):
        run = words[i:i + READ_BACK_MIN_DIGITS]
        if len(run) == READ_BACK_MIN_DIGITS and all(map(_DIGIT.fullmatch, run)) and not _DIGIT.fullmatch(words[i - 1]):
            return i
    return None


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
        voice.phonemize = _one_at_a_time(voice.phonemize)  # type: ignore[method-assign]
        self.voice = voice
        self.sample_rate = int(self.voice.config.sample_rate)

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        for piece in speech_pieces(text):
            for chunk in self.voice.synthesize(piece):  # one AudioChunk per sentence piper finds
                yield chunk.audio_int16_array


# piper phonemizes with one espeak-ng copy for all its voices, whose global state is not thread-safe; the synthesis
# threads (tts.py) take turns for that step only (milliseconds), the ONNX run after it needs no lock.
_PHONEMIZER_LOCK = threading.Lock()


def _one_at_a_time(phonemize: Callable[[str], list[list[str]]]) -> Callable[[str], list[list[str]]]:
    def locked(text: str) -> list[list[str]]:
        with _PHONEMIZER_LOCK:
            return phonemize(text)

    return locked


def _quiet_session(onnx: Path) -> ort.InferenceSession:
    """piper's model with threads that sleep, not spin, between pieces of work.

    onnxruntime's default thread pool spins while it waits; with several calls busy on two cores those
    spinning threads take the CPU whisper needs for another caller's turn. And one thread only: whisper's
    workers (one per core) must never wait behind speech synthesis for a core, however many calls are
    being answered at once. No CPU memory arena: it would keep the largest sentence's buffers for good
    (voicebot/pipeline/analyzers.py says why that matters).
    """
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
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
