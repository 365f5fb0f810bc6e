"""Caller turns -> caller words: whisper in the shared ASR thread, started early during short pauses.

A turn whose words sound unfinished ("Hello," / "No thanks, and") is held instead of answered: if the caller
speaks again before `max_silence_secs` after their last word, the next turn's words are appended and the two
reach the dialog as ONE turn; otherwise the held turn is answered when that silence cap is reached. A turn whose
words sound whole is held too when the caller's voice has resumed by the time its text is ready: nothing was
answered yet, so the two are one sentence with a pause in it.
Part of the number the bot asked for ("my order number is 4 8 1" to a five-digit question) is held the same way,
up to `partial_answer_secs`: callers read numbers in groups, with longer breaths between them.
A finished turn at a digits question whose words give neither the number nor anything else the dialog understands
("Order time, time, time, near, or when?" for "five five five zero one" over 8 kHz) is read once more with
whisper allowed only digits (`asr.digits_second_look`); that reading counts only if it has the whole number.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pipecat.frames.frames import Frame, UserStartedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.config import TurnSettings
from voicebot.dialog.core import PREFILL_TYPES
from voicebot.dialog.schema import AskNode
from voicebot.dialog.slots import fills, partly_fills
from voicebot.dialog.types import CallerNoInput, CallerSaid
from voicebot.pipeline import prosody
from voicebot.pipeline.asr import Detect, SpeechRecognizer, Transcript, unrepeated
from voicebot.pipeline.frames import (
    CallerEventFrame,
    CallerTurnFrame,
    CallLanguageFrame,
    ListeningFrame,
    SpeechPausedFrame,
    SystemFaultFrame,
    TurnClock,
    VoiceOnsetFrame,
    WordsSoundFinishedFrame,
)
from voicebot.pipeline.turns import MAX_TURN_S, RATE
from voicebot.pipeline.unfinished import no_words, sounds_finished, sounds_unfinished
from voicebot.pipeline.worker import URGENT, Job

log = logging.getLogger(__name__)
RELEASE_STEP_S = 0.1  # a held turn's wait is counted in steps this long, a late step as at most 1.5 of them


@dataclass
class _Speculation:
    voiced_chunks: int
    task: asyncio.Task[Transcript]
    job: Job[Transcript]
    started: float = 0.0  # TurnClock stamps: submitted, and its text back on the event loop
    done: float = 0.0


def _consume_result(task: asyncio.Task[Transcript]) -> None:
    if not task.cancelled():
        task.exception()


def _stamp_done(speculation: _Speculation, _task: asyncio.Task[Transcript]) -> None:
    speculation.done = TurnClock.now()


@dataclass
class _Held:
    """A turn that sounded unfinished, waiting for the rest of the sentence."""

    frame: CallerTurnFrame
    result: Transcript
    # Answers the held turn alone once the silence cap is reached; None while the caller is speaking again.
    release: asyncio.Task[None] | None


class Transcriber(FrameProcessor):
    def __init__(self, asr: SpeechRecognizer, language: str, turn: TurnSettings | None = None,
                 detect: Detect | None = None, digits_second_look: bool = True) -> None:
        super().__init__(name="stt")
        self._digits_second_look = digits_second_look
        self._asr = asr
        self._language = language
        # Until the caller's first words: let whisper pick among the flows' languages (then the call keeps it).
        self._detect = detect
        self._turn = turn or TurnSettings()
        self._speculation: _Speculation | None = None
        self._last: asyncio.Task[None] | None = None  # turns are delivered in order
        self._held: _Held | None = None
        self._speaking = False  # the caller is inside a turn (between UserStartedSpeaking and its CallerTurn)
        self._onset = False  # voice began after the last turn, not yet a turn of its own (VoiceOnsetFrame)
        self._turns = 0  # caller turns received: a turn delivered after the next one ended is not answered alone
        self._expects: AskNode | None = None  # the question the caller is answering (from the dialog's reply)
        self._hints = ""  # the dialog's listening node vocabulary, whisper's context for the next turns
        self._understands: Callable[[str], bool] | None = None  # the dialog's: words that mean something else

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VoiceOnsetFrame):  # only this processor needs it
            self._onset = frame.started
            held = self._held
            if not frame.started and held is not None and held.release is None and not self._speaking \
                    and (self._last is None or self._last.done()):
                # A click or a cough, not the caller going on: the held turn is answered now.
                held.release = self.create_task(self._release(0.0), name="held-turn")
        elif isinstance(frame, ListeningFrame):  # from the dialog downstream; nothing upstream needs it
            self._hints, self._expects, self._understands = frame.hints, frame.expects, frame.understands
            if frame.language and frame.language != self._language:
                # The bot answers in another language (the caller chose it on the keypad, or the dialog could not
                # follow a detected switch): read the caller in the language they are spoken to, undetected.
                log.info("the bot speaks %s now: reading the caller in it, not %s", frame.language, self._language)
                self._language, self._detect = frame.language, None
                await self.push_frame(CallLanguageFrame(self._language), FrameDirection.UPSTREAM)
        elif isinstance(frame, SpeechPausedFrame):
            self._drop_speculation()
            # Even under load: the ASR thread runs every finished turn before any speculation, and without the
            # speculative text a turn whose words sound whole could not end before the silence cap.
            # A plain asyncio task, not self.create_task: pipecat's task wrapper swallows exceptions, and a
            # failing recognizer must surface when the turn awaits this result.
            job = self._asr.speculate(frame.audio, self._language, self._hints, self._detect)
            task = asyncio.create_task(job.result(), name="asr-speculative")
            task.add_done_callback(_consume_result)  # a dropped speculation's error is not worth a warning
            self._speculation = _Speculation(frame.voiced_chunks, task, job, started=TurnClock.now())
            task.add_done_callback(functools.partial(_stamp_done, self._speculation))
            if self._turn.finished_words_silence_secs > 0 or self._expects is not None \
                    or self._detect is not None:
                self.create_task(self._judge(self._speculation), name="asr-speculative-judge")
        elif isinstance(frame, CallerTurnFrame):
            self._speaking = False
            speculation, self._speculation = self._speculation, None
            if speculation and speculation.voiced_chunks != frame.voiced_chunks:
                speculation.task.cancel()  # the caller spoke again after that pause: its text is incomplete
                speculation.job.abandon()
                speculation = None
            elif speculation:
                speculation.job.promote(URGENT)  # the caller now waits for this text: no longer spare work
            self._turns += 1
            self._last = self.create_task(self._deliver(frame, speculation, self._last, self._turns),
                                          name="asr-turn")
        else:
            if isinstance(frame, UserStartedSpeakingFrame):
                self._speaking, self._onset = True, False
                if self._held is not None and self._held.release is not None:
                    # The caller goes on: the held turn now waits for this speech's turn, however long it is.
                    self._held.release.cancel()
                    self._held.release = None
            await self.push_frame(frame, direction)

    async def _judge(self, speculation: _Speculation) -> None:
        """Tell the TurnDetector when the words so far already sound whole: it may end the turn sooner."""
        await asyncio.wait([speculation.task])
        if speculation is not self._speculation or speculation.task.cancelled() or speculation.task.exception():
            return  # the caller went on (or the turn ended) meanwhile; a failure surfaces in _deliver
        result = speculation.task.result()
        text = result.text
        if self._detect is not None and not no_words(text, self._turn):
            # The caller's first words: the speculative reading already names the language this turn will be read
            # in (the same audio, the same detection), so the TurnDetector applies that language's pause rule at
            # this pause instead of the slowest candidate's (an English "Where is my order?" waited out Polish's
            # 0.6 s comma pause: ~250 ms). The turn's own reading confirms or corrects it (_deliver).
            await self.push_frame(CallLanguageFrame(result.language), FrameDirection.UPSTREAM)
        if self._fills_slot(result):
            await self.push_frame(WordsSoundFinishedFrame(speculation.voiced_chunks, fills_slot=True),
                                  FrameDirection.UPSTREAM)
        elif self._turn.finished_words_silence_secs > 0 and sounds_finished(text, self._turn) \
                and not self._sounds_unfinished(result):
            await self.push_frame(WordsSoundFinishedFrame(speculation.voiced_chunks), FrameDirection.UPSTREAM)

    def _sounds_unfinished(self, result: Transcript) -> bool:
        """Words cut off mid-sentence, or part of the number the bot asked for: the caller will likely go on."""
        if self._fills_slot(result):
            return False  # "No." to a yes/no question is a whole answer
        text = result.text
        return sounds_unfinished(text, self._turn) or (self._expects is not None and partly_fills(self._expects, text))

    def _hold_secs(self, result: Transcript) -> float:
        """How long after their last word an unfinished turn waits: longer for part of the asked-for number."""
        partial = self._expects is not None and partly_fills(self._expects, result.text)
        cap = self._turn.max_silence_secs
        return max(cap, self._turn.partial_answer_secs) if partial else cap

    def _fills_slot(self, result: Transcript) -> bool:
        return self._expects is not None and fills_slot(self._expects, result, self._language)

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.task.cancel()  # a queued job never runs; a running one finishes unused
            self._speculation.job.abandon()  # ... and stops holding the spare worker
            self._speculation = None

    async def _deliver(self, frame: CallerTurnFrame, speculation: _Speculation | None,
                       previous: asyncio.Task[None] | None, number: int) -> None:
        clock = frame.clock
        try:
            if speculation is not None:
                result = await speculation.task
                clock.speculative_hit = True
                clock.speculation_start, clock.speculation_done = speculation.started, speculation.done
            else:
                result = await self._asr.transcribe(frame.audio, self._language, self._hints, self._detect)
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
            if self._held is not None:
                await self._answer(self._take_held())  # the caller went on with noise only: answer what they said
                return
            await self._answer((frame, result))  # sound without words: "the line is noisy...", never silence
            return
        if self._detect is not None and not no_words(result.text, self._turn):
            # The first words decide the call's language; later turns are read in it without detection.
            self._detect = None
            if result.language != self._language:
                log.info("caller speaks %s (shares %s): switching from %s", result.language, result.language_shares,
                         self._language)
                self._language = result.language
            # The TurnDetector waited out pauses as long as the slowest candidate language needs: now this one's.
            await self.push_frame(CallLanguageFrame(self._language), FrameDirection.UPSTREAM)
        if self._held is not None:
            frame, result = _joined(self._take_held(), frame, result)
        goes_on = self._speaking or self._onset or number < self._turns  # (or the next turn has already ended)
        if self._turn.hold_unfinished and goes_on and frame.speech_s < MAX_TURN_S:
            # The caller went on before any answer: a pause inside one sentence, whatever whisper's punctuation of
            # the first part ("I have a question, where is my parcel?" ... "I have been waiting for a week."). The
            # turn now being spoken completes this one; answering the first part would talk over the rest. (Not past
            # MAX_TURN_S of speech: a caller before a talking TV is still answered.)
            log.info("turn %r: the caller already goes on, waiting for the rest", result.text)
            self._held = _Held(frame, result, None)
            return
        if self._turn.hold_unfinished and self._sounds_unfinished(result):
            # Wait for the rest, but never past the silence cap counted from the caller's last word.
            wait_s = self._hold_secs(result) - (TurnClock.now() - clock.speech_end)
            log.info("turn %r sounds unfinished: waiting up to %.2fs for more", result.text, wait_s)
            self._held = _Held(frame, result, self.create_task(self._release(wait_s), name="held-turn"))
            return
        await self._answer((frame, result))

    async def _second_look(self, frame: CallerTurnFrame, result: Transcript) -> Transcript:
        """The turn read again with whisper allowed only digits, where the dialog asked for a number and the words
        give neither the whole number (no transcript fits, not even a digit group a held turn completes) nor
        anything else it understands. A turn that already fits costs nothing; the reading counts only if it has
        the whole number, else the first words go on (the dialog's re-ask: "I heard 4 1 2, that's 3 digits")."""
        expects, understands = self._expects, self._understands
        if not self._digits_second_look or expects is None or expects.type != "digits" or self._fills_slot(result) \
                or (understands is not None and understands(result.text)):
            return result
        try:
            digits = await self._asr.transcribe_digits(frame.audio, self._language, self._hints)
        except Exception:  # the first words still reach the dialog: it re-asks
            log.exception("digits-only second look failed")
            return result
        frame.clock.asr_done = TurnClock.now()
        frame.clock.asr_compute_ms = result.compute_ms + digits.compute_ms
        if not fills(expects, digits.text, datetime.now(), self._language):
            log.info("turn %r read as digits: %r, not the whole number; kept", result.text, digits.text)
            return result
        log.info("turn %r read as digits: %r (%.0f ms)", result.text, digits.text, digits.compute_ms)
        return dataclasses.replace(digits, compute_ms=result.compute_ms + digits.compute_ms,
                                   language_shares=result.language_shares)

    def _take_held(self) -> tuple[CallerTurnFrame, Transcript]:
        held, self._held = self._held, None
        assert held is not None
        if held.release is not None:
            held.release.cancel()
        return held.frame, held.result

    async def _release(self, wait_s: float) -> None:
        # Only time the event loop was running counts: during a stall (a busy host) the caller's audio keeps
        # coming but is not heard yet, so a stall must not use up the caller's breath between digit groups.
        loop = asyncio.get_running_loop()
        waited = 0.0
        while waited < wait_s:
            step = min(RELEASE_STEP_S, wait_s - waited)
            start = loop.time()
            await asyncio.sleep(step)
            waited += min(loop.time() - start, step + RELEASE_STEP_S / 2)
        if self._held is not None and self._held.release is asyncio.current_task():
            held, self._held = self._held, None
            await self._answer((held.frame, held.result))

    async def _answer(self, turn: tuple[CallerTurnFrame, Transcript]) -> None:
        frame, result = turn
        if no_words(result.text, self._turn):
            log.info("turn %r has no words (noise?): a no-input turn", result.text)
            await self.push_frame(CallerEventFrame(CallerNoInput(noise=True), frame.clock))
            return
        # Here, not before a turn is held: "4 8 1" and a breath may be the first group of a number read slowly.
        result = await self._second_look(frame, result)
        said = CallerSaid(
            text=result.text, language=result.language, asr_confidence=round(result.confidence, 3),
            prosody=prosody.measure(frame.voiced, RATE, len(result.text.split()), frame.speech_s),
            barge_in=frame.barge_in, alternatives=result.alternatives,
        )
        await self.push_frame(CallerEventFrame(said, frame.clock))

    async def cleanup(self) -> None:
        self._drop_speculation()
        if self._held is not None and self._held.release is not None:
            self._held.release.cancel()
        await super().cleanup()


def fills_slot(expects: AskNode, result: Transcript, language: str) -> bool:
    """The words answer the question in full: the best transcript, or one of whisper's other hypotheses, as the
    dialog takes the first that fits (an 8 kHz "4 8 1 2" whose next hypothesis is "4 8 1 5 2")."""
    # Only where the dialog reads the other hypotheses too: a "yes" among them is not the caller's "yes".
    texts = (result.text, *result.alternatives) if expects.type in PREFILL_TYPES else (result.text,)
    now = datetime.now()
    return any(fills(expects, text, now, language) for text in texts)


def _joined(first: tuple[CallerTurnFrame, Transcript], frame: CallerTurnFrame,
            result: Transcript) -> tuple[CallerTurnFrame, Transcript]:
    """Two parts of one sentence as one turn: both texts, both audios, timed from the first word to the last."""
    held_frame, held = first
    clock = frame.clock
    clock.call_start, clock.speech_start = held_frame.clock.call_start, held_frame.clock.speech_start
    joined_frame = CallerTurnFrame(
        audio=np.concatenate([held_frame.audio, frame.audio]), voiced=np.concatenate([held_frame.voiced, frame.voiced]),
        voiced_chunks=held_frame.voiced_chunks + frame.voiced_chunks, clock=clock,
        barge_in=held_frame.barge_in or frame.barge_in, speech_s=held_frame.speech_s + frame.speech_s)
    joined = Transcript(
        text=unrepeated(f"{held.text.strip()} {result.text.strip()}"), language=result.language,
        confidence=min(held.confidence, result.confidence), duration_s=held.duration_s + result.duration_s,
        compute_ms=held.compute_ms + result.compute_ms,
        alternatives=tuple(unrepeated(f"{held.text.strip()} {alt.strip()}") for alt in result.alternatives))
    return joined_frame, joined
