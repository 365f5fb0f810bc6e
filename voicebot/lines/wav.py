"""An in-process caller: plays WAV files as the caller's side of a call and records what the bot did.

Used by `voicebot call`, the tests and benchmarks, and a small model of what a phone line must do. The caller
takes turns like a polite human: it waits for the bot's greeting/reply to finish before the next file,
unless a turn is scripted to barge in. Real time by default; `fast=True` sends audio as fast as the
pipeline takes it (turn order still holds: the pipeline reports the end of each reply via `wait_played`).
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicebot.pipeline.media import AudioIn, DtmfIn, HangupIn, MediaEvent, TransferResult
from voicebot.pipeline.pcm import resample, to_float

CHUNK_S = 0.02
SPEECH_FLOOR_DBFS = -45.0  # 20 ms frames louder than this count as the caller speaking


class BadAudio(ValueError):
    """A caller WAV cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class CallerTurn:
    pcm: bytes = b""  # s16le mono at the media's sample rate
    barge_in_after_s: float | None = None  # start this long into the bot's reply instead of after it
    label: str = ""
    dtmf: str = ""  # keys pressed instead of speaking, e.g. "1" or "12345#"


def read_wav(path: Path | str, sample_rate: int) -> bytes:
    """16-bit PCM WAV (any rate, mono or stereo) -> s16le mono at `sample_rate`."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise BadAudio(f"{path}: no such file") from exc
    except (wave.Error, EOFError) as exc:
        raise BadAudio(f"{path}: not a PCM WAV file ({exc})") from exc
    if width != 2:
        raise BadAudio(f"{path}: {8 * width}-bit samples; only 16-bit PCM is supported (try: sox IN -b 16 OUT)")
    audio = np.frombuffer(frames, dtype=np.int16)
    if channels > 1:
        audio = audio.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if audio.size == 0:
        raise BadAudio(f"{path}: contains no audio")
    return resample(audio, rate, sample_rate)


def write_wav(path: Path | str, pcm: bytes, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)


def speech_end_offset(pcm: bytes, sample_rate: int) -> int:
    """Byte offset just after the last 20 ms frame louder than SPEECH_FLOOR_DBFS (0 if all quiet)."""
    n = int(sample_rate * CHUNK_S)
    audio = to_float(pcm)
    frames = len(audio) // n
    if frames == 0:
        return 0
    rms = np.sqrt(np.mean(np.square(audio[: frames * n].reshape(frames, n)), axis=1)) + 1e-12
    loud = np.nonzero(20 * np.log10(rms) > SPEECH_FLOOR_DBFS)[0]
    return 0 if loud.size == 0 else int((loud[-1] + 1) * n * 2)


@dataclass
class FileMediaRecord:
    """What the caller experienced."""

    bot_audio: bytearray = field(default_factory=bytearray)  # everything actually played to the caller
    transfers: list[str] = field(default_factory=list)  # handoff ids
    refused_transfers: list[str] = field(default_factory=list)  # handoff ids the human line did not take
    hung_up: bool = False
    latencies_ms: list[float] = field(default_factory=list)  # caller's speech end -> bot's first audio
    cut_at: list[int] = field(default_factory=list)  # len(bot_audio) each time queued bot audio was dropped


class FileMedia:
    sample_rate: int

    def __init__(self, turns: Sequence[bytes | CallerTurn], sample_rate: int = 8000, *, fast: bool = False,
                 tail_silence_s: float = 1.5, reply_timeout_s: float = 30.0, linger_s: float = 1.0,
                 transfer_fails: str = "") -> None:
        self.sample_rate = sample_rate
        self.turns = [t if isinstance(t, CallerTurn) else CallerTurn(t) for t in turns]
        self.fast = fast
        self.tail_silence_s = tail_silence_s
        self.reply_timeout_s = reply_timeout_s
        self.linger_s = linger_s  # how long the caller stays on after the last answer before hanging up
        # Non-empty: the human line does not take transfers (rehearse a failed transfer); the detail it reports.
        self.transfer_fails = transfer_fails
        self.record = FileMediaRecord()
        self._queue = bytearray()  # bot audio not yet "played" (real-time mode)
        self._drained = asyncio.Event()
        self._drained.set()
        self._reply_done = asyncio.Event()  # the answer to the caller's last turn (or the greeting) has played
        self._bot_started = asyncio.Event()  # bot audio arrived since the caller's last turn
        self._bot_started_at = 0.0  # when it did (monotonic): a barge-in is timed from the reply's start
        self._closed = asyncio.Event()
        # When the caller's last words went out (None once the bot answered); the call starts "answered-to"
        # so the greeting counts as the answer to picking up.
        self._awaiting_first_audio_since: float | None = None
        self._answered = True
        self._player: asyncio.Task[None] | None = None

    @classmethod
    def from_wavs(cls, paths: Sequence[Path | str], sample_rate: int = 8000, **kwargs: object) -> FileMedia:
        return cls([CallerTurn(read_wav(p, sample_rate), label=str(p)) for p in paths], sample_rate, **kwargs)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # -- caller side ---------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[MediaEvent]:
        chunk = int(self.sample_rate * CHUNK_S) * 2
        silence = bytes(chunk)
        clock = _Pacer(self.fast)
        for turn in self.turns:
            if turn.barge_in_after_s is not None:
                # Barge-in needs real time: in fast mode the bot's audio "plays" instantly.
                await self._wait(self._bot_started)
                # Into the reply, not after our own trailing silence (the reply may have begun during it).
                await clock.idle(max(0.0, turn.barge_in_after_s - (time.monotonic() - self._bot_started_at)))
            else:  # a polite caller: let the bot finish its greeting / previous reply
                async for event in self._wait_events(self._reply_done, clock, silence):
                    yield event
            if self.closed:
                return
            self._reply_done.clear()
            self._bot_started.clear()
            self._answered = False
            if turn.dtmf:
                self._awaiting_first_audio_since = time.monotonic()
                for digit in turn.dtmf:
                    yield DtmfIn(digit)
                continue
            speech_end = speech_end_offset(turn.pcm, self.sample_rate)
            for i in range(0, len(turn.pcm), chunk):
                if self.closed:
                    return
                await clock.tick()
                yield AudioIn(turn.pcm[i:i + chunk].ljust(chunk, b"\0"))
                if i < speech_end <= i + chunk or (speech_end == 0 and i == 0):
                    self._awaiting_first_audio_since = time.monotonic()
            for _ in range(int(self.tail_silence_s / CHUNK_S)):
                if self.closed:
                    return
                await clock.tick()
                yield AudioIn(silence)
        async for event in self._wait_events(self._reply_done, clock, silence):  # the answer to the last turn
            yield event
        async for event in self._linger(clock, silence):
            yield event
        if not self.closed:
            yield HangupIn("caller finished the script")

    async def _linger(self, clock: _Pacer, silence: bytes) -> AsyncIterator[MediaEvent]:
        """Stay on the line a moment after the last answer, as people do: a bot that speaks again (a callback
        offer after a failed transfer) is heard out before the caller hangs up."""
        while not self.closed:
            self._bot_started.clear()
            self._reply_done.clear()
            async for event in self._wait_events(self._bot_started, clock, silence, self.linger_s):
                yield event
            if not self._bot_started.is_set():
                return
            async for event in self._wait_events(self._reply_done, clock, silence):
                yield event

    async def _wait_events(self, event: asyncio.Event, clock: _Pacer, silence: bytes,
                           timeout_s: float | None = None) -> AsyncIterator[MediaEvent]:
        """Wait for `event`; in real time, keep the line alive with silence like a phone does."""
        deadline = time.monotonic() + (self.reply_timeout_s if timeout_s is None else timeout_s)
        while not event.is_set() and not self.closed and time.monotonic() < deadline:
            if self.fast:
                await _first(event, self._closed, timeout=deadline - time.monotonic())
            else:
                await clock.tick()
                yield AudioIn(silence)

    async def _wait(self, event: asyncio.Event) -> None:
        # No silence is sent meanwhile (greeting, barge-in lead-in): VAD would ignore it anyway.
        await _first(event, self._closed, timeout=self.reply_timeout_s)

    # -- bot side (CallMedia) ------------------------------------------------------------------
    async def play(self, pcm: bytes) -> None:
        if self.closed:
            return
        if self._awaiting_first_audio_since is not None:
            self._answered = True
            self.record.latencies_ms.append(round((time.monotonic() - self._awaiting_first_audio_since) * 1000, 1))
            self._awaiting_first_audio_since = None
        if not self._bot_started.is_set():
            self._bot_started_at = time.monotonic()
            self._bot_started.set()
        if self.fast:
            self.record.bot_audio += pcm
            return
        self._queue += pcm
        self._drained.clear()
        if self._player is None or self._player.done():
            self._player = asyncio.create_task(self._play_out())

    async def _play_out(self) -> None:
        chunk = int(self.sample_rate * CHUNK_S) * 2
        pacer = _Pacer(fast=False)
        while self._queue:
            await pacer.tick()
            piece = bytes(self._queue[:chunk])
            del self._queue[:chunk]
            self.record.bot_audio += piece
        self._drained.set()

    async def clear(self) -> None:
        if self._queue:
            self.record.cut_at.append(len(self.record.bot_audio))
        self._queue.clear()
        self._drained.set()

    async def wait_played(self) -> None:
        await self._drained.wait()
        if self._answered:  # the pipeline waits for every reply to play out: that is our cue to speak again
            self._reply_done.set()

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        if self.transfer_fails:  # the caller stays on the line, as with a REFER the switch refused
            self.record.refused_transfers.append(handoff_id)
            return TransferResult(ok=False, detail=self.transfer_fails)
        self.record.transfers.append(handoff_id)
        self._closed.set()
        return TransferResult(ok=True, detail=f"file caller: transferred with handoff {handoff_id or '-'}")

    async def hangup(self) -> None:
        self.record.hung_up = True
        self._closed.set()


class _Pacer:
    """Yields every CHUNK_S of real time (drift-free), or never waits in fast mode."""

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.next_at = time.monotonic()

    async def tick(self) -> None:
        if self.fast:
            await asyncio.sleep(0)  # let the pipeline run between chunks
            return
        self.next_at = max(self.next_at + CHUNK_S, time.monotonic() - 0.2)
        await asyncio.sleep(max(0.0, self.next_at - time.monotonic()))

    async def idle(self, seconds: float) -> None:
        if not self.fast:
            await asyncio.sleep(seconds)
            self.next_at = time.monotonic()


async def _first(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
