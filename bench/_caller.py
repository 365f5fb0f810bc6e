"""A scripted caller on a real-time clock, shared by both pipelines under test.

It streams 20 ms chunks paced by the monotonic clock (silence with a faint noise floor, and the
scripted sentences), waits for the bot to finish each reply before speaking again, and stamps:
- `speech_end`: when the chunk holding the caller's last voiced sample was handed to the pipeline;
- `first_audio`: when the first byte of the bot's reply was handed to the line for playing.
Both pipelines report bot audio through `on_bot_audio`, so both are measured by the same clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from bench._audio import CHUNK_MS, Utterance, add_noise, chunk_bytes


@dataclass
class TurnMeasure:
    call: str
    turn: int
    caller_text: str
    voiced_secs: float
    speech_end: float = 0.0  # monotonic seconds
    first_audio: float | None = None  # monotonic seconds; None = no reply within the timeout
    reply_audio_secs: float = 0.0  # duration of the bot audio of this reply
    parts: dict[str, float] = field(default_factory=dict)  # component timings in ms, where known
    talked_over: int = 0  # bot audio chunks played while the caller was still saying this sentence
    answer_identified: bool = False  # the pipeline told us when the answer to the whole sentence started
    answered_fragment: bool = False  # the pipeline told us its answer was to a part cut off mid-sentence
    reply_text: str = ""
    heard_text: str = ""  # what the ASR made of it, where known

    @property
    def cut_off(self) -> bool:
        """The bot answered a fragment (it cut the sentence at a pause) and we can't tell when an answer to the
        whole sentence started: such a turn has no meaningful voice-to-voice latency."""
        if self.answer_identified:
            return False
        return self.answered_fragment or self.talked_over > 0

    @property
    def latency_ms(self) -> float | None:
        if self.first_audio is None or self.cut_off:
            return None
        return (self.first_audio - self.speech_end) * 1000


@dataclass
class CallerTiming:
    # Pause after the bot's audio ran out before the caller speaks again: long enough that a reply whose
    # next sentence is still being synthesized (a busy CPU) is not mistaken for a finished one.
    gap_secs: float = 1.2
    reply_timeout_secs: float = 12.0  # no bot audio this long after the caller stopped: a missed turn
    greeting_timeout_secs: float = 10.0
    lead_in_secs: float = 1.0  # silence before the first turn when no greeting is expected


class ScriptedCaller:
    def __init__(self, call: str, utterances: list[Utterance], rng: np.random.Generator,
                 expect_greeting: bool, timing: CallerTiming | None = None) -> None:
        self.call = call
        self.utterances = utterances
        self.sample_rate = utterances[0].sample_rate
        self.rng = rng
        self.expect_greeting = expect_greeting
        self.timing = timing or CallerTiming()
        self.turns = [TurnMeasure(call, i, u.text, u.voiced_secs) for i, u in enumerate(utterances)]
        self._pacer: _Pacer | None = None
        self.overlaps = 0
        self.hung_up = asyncio.Event()
        self._playout_end = 0.0  # monotonic time the queued bot audio finishes playing
        self._last_bot_audio = 0.0
        self._listening_turn: TurnMeasure | None = None

    # --- bot side -------------------------------------------------------------------------------------

    def on_bot_audio(self, nbytes: int, sample_rate: int) -> None:
        """The pipeline handed `nbytes` of s16le bot audio to the line, now."""
        now = time.monotonic()
        secs = nbytes / 2 / sample_rate
        self._playout_end = max(now, self._playout_end) + secs
        self._last_bot_audio = now
        turn = self._listening_turn
        if turn is not None and not turn.speech_end:
            self.overlaps += 1  # the bot spoke while the caller was still talking (e.g. a VAD cut mid-sentence)
            turn.talked_over += 1
        elif turn is not None:
            if turn.first_audio is None:
                turn.first_audio = now
            turn.reply_audio_secs += secs

    @property
    def listening_turn(self) -> TurnMeasure | None:
        """The turn the caller is speaking or waiting for an answer to."""
        return self._listening_turn

    @property
    def late_chunks(self) -> int:
        """Chunks handed over more than a chunk late: the event loop was too busy to keep real time."""
        return self._pacer.late if self._pacer else 0

    def playout_end(self) -> float:
        return self._playout_end

    def drop_playout(self) -> None:
        """Barge-in: queued bot audio was dropped."""
        self._playout_end = min(self._playout_end, time.monotonic())

    def on_hangup(self) -> None:
        self.hung_up.set()

    # --- caller side ----------------------------------------------------------------------------------

    async def chunks(self) -> AsyncIterator[bytes]:
        """20 ms chunks of caller audio in real time until the script is done (or the bot hung up)."""
        clock = self._pacer = _Pacer()
        silence = bytes(chunk_bytes(self.sample_rate))
        t = self.timing

        async def idle_until(done) -> AsyncIterator[bytes]:
            while not done() and not self.hung_up.is_set():
                yield await clock.next(add_noise(silence, self.rng))

        if self.expect_greeting:
            deadline = time.monotonic() + t.greeting_timeout_secs
            async for c in idle_until(lambda: self._bot_done(t.gap_secs) or time.monotonic() > deadline):
                yield c
        else:
            deadline = time.monotonic() + t.lead_in_secs
            async for c in idle_until(lambda: time.monotonic() > deadline):
                yield c

        for utt, turn in zip(self.utterances, self.turns, strict=True):
            if self.hung_up.is_set():
                break
            self._listening_turn = turn
            for i, chunk in enumerate(utt.chunks):
                c = await clock.next(add_noise(chunk, self.rng))
                if i == utt.last_voiced_chunk:
                    turn.speech_end = clock.last_handover
                yield c
            deadline = turn.speech_end + t.reply_timeout_secs

            def replied(turn: TurnMeasure = turn, deadline: float = deadline) -> bool:
                if turn.first_audio is None:
                    return time.monotonic() > deadline
                return self._bot_done(t.gap_secs)

            async for c in idle_until(replied):
                yield c
            self._listening_turn = None

    def _bot_done(self, gap: float) -> bool:
        """The bot has played something and been quiet for `gap` seconds after its audio ended."""
        return self._last_bot_audio > 0 and time.monotonic() > self._playout_end + gap


class _Pacer:
    """Hands out chunk k at t0 + (k+1) * 20 ms: a chunk exists once its 20 ms have been captured."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.k = 0
        self.late = 0
        self.last_handover = self.t0

    async def next(self, chunk: bytes) -> bytes:
        self.k += 1
        due = self.t0 + self.k * CHUNK_MS / 1000
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -CHUNK_MS / 1000:
            self.late += 1
        self.last_handover = time.monotonic()
        return chunk
