"""Speech recognition: faster-whisper, run off the event loop on worker threads shared by all calls.

One model, several workers (one per core by default): concurrent calls' turns run side by side. Finished
turns go before speculative transcriptions in the workers' queue (see worker.py).

We wrap faster-whisper ourselves instead of using pipecat's WhisperSTTService because that service
forces English and hides the per-segment probabilities the escalation policy needs.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from voicebot.dialog.numbers import UNITS
from voicebot.dialog.text import fold
from voicebot.pipeline import language_id
from voicebot.pipeline.worker import SPARE, URGENT, Job, PriorityWorker

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # whisper's input rate
FRAMES_PER_S = 100  # mel frames per second
FULL_WINDOW_FRAMES = 3000  # whisper's 30 s window
# faster-whisper always pads a turn to the 30 s window, so a 2 s "yes, please" costs a 30 s encoder pass. We
# encode a short window instead: the turn + 1 s, at least 10 s. Measured on our test sentences (whisper-base,
# int8, 2 cores): same transcripts, about 4x less time; below 10 s the confidences of short words collapse.
MIN_WINDOW_FRAMES = 1000
WINDOW_MARGIN_FRAMES = 100
MAX_TOKENS = 224
NO_SPEECH_MAX = 0.6
LOGPROB_MIN = -1.0
COMPRESSION_MAX = 2.4  # faster-whisper's compression_ratio_threshold: above it a transcript repeats itself
MAX_LOOPING_CHARS = 60
# Audio this quiet throughout (RMS, full scale 1.0; -60 dBFS) holds no words: whisper is not asked, as on some CPUs
# it "hears" 2 s of digital silence as "Dzień dobry." / "you" with a no-speech probability just under its own rule.
SILENT_RMS = 1e-3
COPIED_PHRASES = 2  # a transcript made of this many of the prompt's phrases was copied from it
REPEAT_MIN_WORDS = 3  # a sentence this long said twice in a row in one turn is whisper repeating itself
LOOP_REPEATS = 5  # a short piece with a letter in it said this many times in a row is whisper looping (_LOOP)
# A turn that is one word (not a number) this many times over is whisper looping too: "Complete complete complete
# complete." for a caller's "Great, thanks" (phone_blind8 en-r7, then handed to complaints), "Rage, Rage, Rage...".
WORD_LOOP_REPEATS = 4
# ... and so is a clause of several words written that many times in a row at the end of a turn: "I dobra, mam
# uruchoną, ..., a rejniesz pętyń, a rejniesz pętyń, a rejniesz pętyń, a rejniesz pętyń." (phone_blind18 pl-r8,
# 8 kHz espeak-ng Polish; its compression ratio 2.2 is under faster-whisper's rule) was handed over as a payment
# problem. A number said again ("four eight, four eight, ...") is the caller's.
# The tokens a digits-only decode may write: one digit, with or without its leading space. Not "040", "-" or ".":
# with those allowed, 8 kHz "three seven zero four six" came out "3-7-040" (a wrong five-digit number) and
# Polish as "- - - -"; one digit a token read 12 of 21 English tuning numbers right instead of 3 (8 kHz espeak-ng).
DIGIT_TOKEN = re.compile(r" ?[0-9]")
# A digits-only decode stops here: two tokens a digit covers any number a caller reads out, and a decode looping
# on one digit ("3 8 8 9 9 9 ...", unclear audio) took 4.9 s at the full MAX_TOKENS.
DIGITS_MAX_TOKENS = 64
# A digits-only decode that loops is read once more on the turn's loud span only (blocks within SPAN_DB of the
# loudest, SPAN_PAD_S either side): the same espeak-ng "one six four seven zero" with ~1 s of line silence either
# side came out "1 6 4 7 7 8 8 8 ..." or "1 6 4 7 0 1 6 1 6 ..." in 2 of 6 cuts, 1 6 4 7 0 in all 6 once trimmed.
SPAN_BLOCK_S = 0.04
SPAN_DB = 25.0
SPAN_PAD_S = 0.3


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    confidence: float  # 0..1, from avg_logprob and no_speech_prob of the segments
    duration_s: float  # audio length
    compute_ms: float  # time spent in whisper
    # Whisper's other beam hypotheses, best first: on an 8 kHz line a digit the best one lost ("4 8 1 2") is
    # often in the next ones, and the dialog may take the first that fits its question (a 5-digit number).
    alternatives: tuple[str, ...] = ()
    # Language detection (first turn only): each candidate's share of whisper's probability among them.
    language_shares: dict[str, float] | None = None


@dataclass(frozen=True)
class Detect:
    """Ask a transcription to pick the language among `languages` first (see language_id)."""

    languages: tuple[str, ...]
    min_share: float
    # A switch to a language listed here at a share under its value is taken only when the turn, read in that
    # language, scores at least `min_confidence`; else the turn is read in the call's language (language_id).
    sure_share: Mapping[str, float] = field(default_factory=dict, compare=False)
    min_confidence: float = 0.0


@dataclass
class AsrStats:
    transcriptions: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0


def _prompt_tokens(tokenizer: Tokenizer, prompt: str) -> list[int]:
    """Whisper's "previous text" slot (as faster-whisper's initial_prompt): <|startofprev|> + the last tokens."""
    if not prompt.strip():
        return []
    return [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-(MAX_TOKENS // 2 - 1):]]


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


# "D.I.M.D.I.M.D.I.M.D.I.M.D.I.M.": whisper looping on unclear audio in a turn too short for the compression ratio
# to tell (1.7 for that one).
_LOOP = re.compile(r"((?=[^,.\s]*[^\W\d_]).{2,8}?)\1{" + str(LOOP_REPEATS - 1) + ",}")


def _loops(text: str) -> bool:
    """Whisper repeating itself: a high compression ratio, a short piece many times over, or the whole turn one
    word said again and again (a number's digit said so is a caller's: "one one one one one")."""
    words = _words(text)
    one_word = (len(words) >= WORD_LOOP_REPEATS and len(set(words)) == 1 and len(words[0]) >= 3
                and not words[0].isdigit() and fold(words[0]) not in UNITS)
    return (one_word or _clause_loop(text) or _compression_ratio(text) > COMPRESSION_MAX
            or _LOOP.search(text.lower()) is not None)


def _clause_loop(text: str) -> bool:
    """A clause of two or more words, not all number words, written WORD_LOOP_REPEATS times in a row."""
    clauses = [words for part in re.split(r"[,.;:!?]", text) if (words := _words(part))]
    run = 1
    for before, clause in itertools.pairwise(clauses):
        run = run + 1 if clause == before else 1
        if run >= WORD_LOOP_REPEATS and len(clause) >= 2 and not all(
                w.isdigit() or fold(w) in UNITS for w in clause):
            return True
    return False


def _copied(text: str, prompt: str) -> bool:
    """The transcript is the prompt's own list ("Order status, where is my order"): two or more of its
    comma-separated phrases, and no word that is not in the prompt. One phrase ("where is my order") is a caller."""
    said = " ".join(_words(text))
    phrases = [p for part in re.split(r"[,.;:]", prompt) if (p := " ".join(_words(part)))]
    inside = sum(f" {p} " in f" {said} " for p in phrases)
    return inside >= COPIED_PHRASES and set(_words(text)) <= set(_words(prompt))


def readable(text: str) -> str:
    """The text without U+FFFD: whisper base sometimes ends a Polish letter's bytes early on an 8 kHz line, and the
    tokenizer writes the broken letter as "\ufffd" ("m\ufffdniego", phone_blind20 pl-e2) - nothing a supervisor
    can read in the transcript, nor a word the dialog can use."""
    return re.sub(r"\s{2,}", " ", text.replace("\ufffd", "")).strip()


def unrepeated(text: str) -> str:
    """The text without a sentence said again right after itself: whisper on a short turn padded to its window
    sometimes writes the caller's one sentence twice ("Good morning, I'm ringing about my order. Good morning,
    I'm ringing about my order.", phone_blind3 and phone_blind6 en-c1). Sentences of fewer than REPEAT_MIN_WORDS
    words stay ("No. No." is a caller's own emphasis)."""
    kept: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        words = _words(sentence)
        if kept and len(words) >= REPEAT_MIN_WORDS and words == _words(kept[-1]):
            continue
        kept.append(sentence)
    return " ".join(kept)


def _digits_loop(text: str, confidence: float) -> bool:
    """A digits-only reading that loops: _decode_short's looping verdict (no confidence), or one that ran to
    DIGITS_MAX_TOKENS ("1 6 4 7 0 1 6 1 6 4 7 0 0 1 6 ...": too varied for the compression ratio to tell)."""
    return bool(text) and (not confidence or sum(c.isdigit() for c in text) >= DIGITS_MAX_TOKENS // 2)


def loud_span(audio: np.ndarray) -> np.ndarray:
    """`audio` from SPAN_PAD_S before its first loud block to SPAN_PAD_S after its last (SPAN_DB below the
    loudest): a line's silence around the words cut away. Line noise within SPAN_DB of the words is kept."""
    block = int(SPAN_BLOCK_S * SAMPLE_RATE)
    blocks = len(audio) // block
    if blocks == 0:
        return audio
    rms = np.sqrt(np.mean(np.square(audio[: blocks * block].reshape(blocks, block)), axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-SPAN_DB / 20))
    pad = int(SPAN_PAD_S * SAMPLE_RATE)
    return audio[max(0, loud[0] * block - pad): min(len(audio), (loud[-1] + 1) * block + pad)]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def segment_confidence(avg_logprob: float, no_speech_prob: float) -> float:
    """exp(mean token log-prob) is the geometric-mean token probability; discount it by the chance of no speech."""
    return max(0.0, min(1.0, math.exp(avg_logprob) * (1.0 - no_speech_prob)))


class SpeechRecognizer:
    """One whisper model, `workers` threads (the model's CTranslate2 workers): turns beyond that queue, most
    urgent first, instead of fighting for the cores.

    A queued (not yet started) transcription is dropped when its asyncio caller cancels it, which is how a
    stale speculative transcription gets out of the way.
    """

    def __init__(self, model: WhisperModel, beam_size: int, workers: int = 1) -> None:
        self.model = model
        self.beam_size = beam_size
        self.stats = AsrStats()
        self._worker = PriorityWorker("asr", threads=workers)
        self._stats_lock = threading.Lock()
        self._queued = 0  # submitted, not finished (guarded by _stats_lock: the worker thread finishes jobs)
        self._non_digits: list[int] | None = None  # every token a digits-only decode suppresses (built once)

    @property
    def queued(self) -> int:
        return self._queued

    @property
    def workers(self) -> int:
        return self._worker.threads

    def queue_delay_s(self) -> float:
        """How long a finished turn waits for a free worker now (see PriorityWorker.queue_delay_s)."""
        return self._worker.queue_delay_s()

    def observe_turn_wait(self, observe: Callable[[float], None]) -> None:
        """`observe(seconds)` for each caller turn whose transcription a caller waits for, as it starts: how long
        it waited for a free worker (0 when its speculative transcription had already started). A /metrics
        histogram; spare speculative work is not counted, as nobody waits for it."""
        self._worker.on_urgent_wait = observe

    async def transcribe(self, audio: np.ndarray, language: str, prompt: str = "",
                         detect: Detect | None = None) -> Transcript:
        """`audio`: float32 mono at 16 kHz, read in `language` unless `detect` finds another of its languages.

        `prompt`: words the caller is likely to say now (the dialog node's vocabulary), given to whisper as
        the text before this turn: it then spells digits and our words the way the dialog expects."""
        return await self._submit(URGENT, audio, language, prompt, detect).result()

    async def transcribe_digits(self, audio: np.ndarray, language: str, prompt: str = "") -> Transcript:
        """`audio` read once more, whisper allowed to write only digits (see transcribe_digits_sync)."""
        job = self._worker.submit(URGENT, self.transcribe_digits_sync, audio, language, prompt)
        with self._stats_lock:
            self._queued += 1
        job.future.add_done_callback(self._finished)
        return await job.result()

    def speculate(self, audio: np.ndarray, language: str, prompt: str = "",
                  detect: Detect | None = None) -> Job[Transcript]:
        """Transcribe a turn that may not be over: every finished turn waiting for the thread goes first.

        `promote(URGENT)` the job if the turn turns out to be over as it was: its caller now waits for it.
        """
        return self._submit(SPARE, audio, language, prompt, detect)

    def _submit(self, priority: int, audio: np.ndarray, language: str, prompt: str,
                detect: Detect | None) -> Job[Transcript]:
        job = self._worker.submit(priority, self.transcribe_sync, audio, language, prompt, detect)
        with self._stats_lock:
            self._queued += 1
        job.future.add_done_callback(self._finished)
        return job

    def _finished(self, _future: object) -> None:
        with self._stats_lock:
            self._queued -= 1

    def transcribe_sync(self, audio: np.ndarray, language: str, prompt: str = "",
                        detect: Detect | None = None) -> Transcript:
        started = time.perf_counter()
        if not audio.size or float(np.sqrt(np.mean(np.square(audio)))) < SILENT_RMS:
            return Transcript(text="", language=language, confidence=0.0, duration_s=len(audio) / SAMPLE_RATE,
                              compute_ms=(time.perf_counter() - started) * 1000)
        features = self.model.feature_extractor(audio)
        alternatives: tuple[str, ...] = ()
        shares = None
        short = features.shape[-1] + WINDOW_MARGIN_FRAMES <= FULL_WINDOW_FRAMES
        # The encoder is most of whisper's time on a short turn: one pass serves language detection, the decode
        # and the decode again without context (below), instead of one pass each.
        encoded = self._encode(features) if short or detect is not None else None
        if detect is not None and encoded is not None and len(detect.languages) > 1:
            shares = language_id.restricted(self._language_probabilities(encoded), detect.languages)
            chosen = language_id.choose(shares, language, detect.min_share)
            if chosen != language and not language_id.needs_reading(chosen, shares[chosen], detect.sure_share):
                prompt = ""  # the hints are the other language's words: they would pull the text back to it
                language = chosen
            elif chosen != language:
                # Read in the named language first, without the hints (same reason); a turn longer than one window
                # is not read twice and stays in the call's language.
                text, confidence, alternatives = self._decode_short(encoded, chosen, "") if short else ("", 0.0, ())
                if confidence >= detect.min_confidence:
                    return self._counted(audio, started, text=text, language=chosen, confidence=confidence,
                                         alternatives=alternatives, language_shares=shares)
                log.info("whisper names %s (share %.2f) but reads it badly (%r, %.2f): staying in %s",
                         chosen, shares[chosen], text, confidence, language)
        if short and encoded is not None:
            text, confidence, alternatives = self._decode_short(encoded, language, prompt)
            if prompt and _copied(text, prompt):
                # Unclear audio: whisper repeated its context ("Order status, where is my order") instead of
                # the caller's words. Heard again without context.
                text, confidence, alternatives = self._decode_short(encoded, language, "")
        else:  # a turn longer than one window: faster-whisper's own sliding windows
            text, confidence = self._decode_long(audio, language, prompt)
        return self._counted(audio, started, text=text, language=language, confidence=confidence,
                             alternatives=alternatives, language_shares=shares)

    def transcribe_digits_sync(self, audio: np.ndarray, language: str, prompt: str = "") -> Transcript:
        """The turn decoded with every token but single digits suppressed: at a question
        whose answer is a number, "five five five zero one" over 8 kHz comes out as digits, not as "time, time".

        Always writes digits when it writes anything, so only a caller who knows the turn answers a number
        question should trust it (see Transcriber). Empty for a turn longer than one window."""
        started = time.perf_counter()
        features = self.model.feature_extractor(audio)
        text, confidence = "", 0.0
        if audio.size and features.shape[-1] + WINDOW_MARGIN_FRAMES <= FULL_WINDOW_FRAMES:
            text, confidence = self._decode_digits(features, language, prompt)
            if _digits_loop(text, confidence) and (span := loud_span(audio)).size < audio.size:
                log.info("digits-only reading loops (%r): read again on the loud span", text)
                text, confidence = self._decode_digits(self.model.feature_extractor(span), language, prompt)
        return self._counted(audio, started, text=text, language=language, confidence=confidence)

    def _decode_digits(self, features: np.ndarray, language: str, prompt: str) -> tuple[str, float]:
        text, confidence, _others = self._decode_short(self._encode(features), language, prompt,
                                                       suppress=self._digits_only(), max_length=DIGITS_MAX_TOKENS)
        return text, confidence

    def _counted(self, audio: np.ndarray, started: float, *, text: str, language: str, confidence: float,
                 alternatives: tuple[str, ...] = (), language_shares: dict[str, float] | None = None) -> Transcript:
        """The transcript of `audio`, its compute time since `started` added to the process's ASR stats."""
        elapsed = time.perf_counter() - started
        duration = len(audio) / SAMPLE_RATE
        with self._stats_lock:
            self.stats.transcriptions += 1
            self.stats.audio_s += duration
            self.stats.compute_s += elapsed
        return Transcript(text=text, language=language, confidence=confidence, duration_s=duration,
                          compute_ms=elapsed * 1000, alternatives=alternatives, language_shares=language_shares)

    def _digits_only(self) -> list[int]:
        """Ids of every token except end-of-text and the single digits (DIGIT_TOKEN): ~51k ids, built once per
        process (~50 ms). CTranslate2 sets their logits to -inf at each decoding step: a digits-only decode takes
        no longer than a free one (bench/number_asr.py)."""
        if self._non_digits is None:
            hf = self.model.hf_tokenizer
            eot = hf.token_to_id("<|endoftext|>")
            keep = {i for i in range(eot) if DIGIT_TOKEN.fullmatch(hf.decode([i]))}
            self._non_digits = [i for i in range(hf.get_vocab_size()) if i not in keep and i != eot]
        return self._non_digits

    def language_probabilities(self, features: np.ndarray) -> dict[str, float]:
        """Whisper's probability of each language it knows ("pl" -> 0.4...) for these mel features.

        Scored on the same short window the decoder uses (a short window also scores the language better on
        phone turns than the 30 s one, measured on 8 kHz espeak-ng Polish).
        """
        return self._language_probabilities(self._encode(features))

    def _encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        """The encoder's output for the turn's first window: the turn + 1 s, at least 10 s, at most 30 s."""
        frames = min(FULL_WINDOW_FRAMES, max(MIN_WINDOW_FRAMES, features.shape[-1] + WINDOW_MARGIN_FRAMES))
        window = np.zeros((1, features.shape[0], frames), dtype=np.float32)
        used = min(frames, features.shape[-1])
        window[0, :, :used] = features[:, :used]
        return self.model.model.encode(ctranslate2.StorageView.from_array(window))

    def _language_probabilities(self, encoded: ctranslate2.StorageView) -> dict[str, float]:
        scored = self.model.model.detect_language(encoded)[0]
        return {token.strip("<|>"): prob for token, prob in scored}

    def _decode_short(self, encoded: ctranslate2.StorageView, language: str, prompt: str,
                      suppress: list[int] | None = None,
                      max_length: int = MAX_TOKENS) -> tuple[str, float, tuple[str, ...]]:
        tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                              language=language)
        result = self.model.model.generate(
            encoded,
            [[*_prompt_tokens(tokenizer, prompt), *tokenizer.sot_sequence, tokenizer.no_timestamps]],
            beam_size=self.beam_size, num_hypotheses=self.beam_size, max_length=max_length, return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=suppress if suppress is not None else list(get_suppressed_tokens(tokenizer, [-1]) or []),
        )[0]
        texts = [unrepeated(readable(tokenizer.decode(ids))) for ids in result.sequences_ids]
        # A looping hypothesis ("Janic Janic Janic ...", whisper on unclear audio) is not what anyone said:
        # faster-whisper's compression-ratio rule, and _LOOP for turns too short for it. The best hypothesis that
        # does not loop is taken instead.
        best = next((i for i, t in enumerate(texts) if not _loops(t)), None)
        if best is None:
            return texts[0][:MAX_LOOPING_CHARS], 0.0, ()  # words, but no confidence in them: a re-ask
        tokens, text = result.sequences_ids[best], texts[best]
        # ctranslate2's score is the length-normalized log-prob; faster-whisper's avg_logprob divides by len+1.
        avg_logprob = result.scores[best] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_MAX and avg_logprob < LOGPROB_MIN:
            return "", 0.0, ()  # whisper's own rule (as in faster-whisper): noise, not words
        others = dict.fromkeys(t for t in texts[best + 1:] if t != text and not _loops(t))
        return text, segment_confidence(avg_logprob, result.no_speech_prob) if text else 0.0, tuple(others)

    def _decode_long(self, audio: np.ndarray, language: str, prompt: str) -> tuple[str, float]:
        segments, _info = self.model.transcribe(
            audio, language=language, beam_size=self.beam_size, without_timestamps=True,
            initial_prompt=prompt or None,
            vad_filter=False, condition_on_previous_text=False, temperature=0.0,
        )
        # The generator is lazy: decoding happens while we iterate, so drain it here, in the worker thread.
        texts: list[str] = []
        weighted = weight = 0.0
        for seg in segments:
            text = readable(seg.text)
            if not text:
                continue
            texts.append(text)
            w = max(len(text), 1)
            weighted += segment_confidence(seg.avg_logprob, seg.no_speech_prob) * w
            weight += w
        return unrepeated(" ".join(texts)), (weighted / weight) if weight else 0.0

    def close(self, wait_s: float = 0.0) -> None:
        self._worker.close()
        self._worker.join(wait_s)
