"""Recording a call: both directions as the caller heard them, in one Ogg Opus file (caller left, bot right).

`RecordedMedia` wraps any `CallMedia` (SIP, AudioSocket, Twilio, the browser softphone, the file caller), so
every line kind is recorded the same way: caller audio as it arrives, bot audio as it is queued to the line,
and a barge-in's `clear()` cuts the bot's side where the line stopped playing it.

The two sides are laid on one timeline of samples since the call started. The bot's audio is placed by the
wall clock (the line plays it in real time, after what is already queued); the caller's audio follows its own
packets, and jumps ahead when the line went quiet (no packets) for longer than `RESYNC_S`. Samples older than
`FLUSH_LAG_S` can no longer change and go to the file once a second, encoded in a worker thread.

A recording that fails (disk full, a codec error) stops and says so in its index entry: the call goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import soundfile

from voicebot.pipeline.media import AudioIn, CallMedia, MediaEvent, TransferResult
from voicebot.store.recordings import FILE_SUFFIX, RecordingIndex

log = logging.getLogger(__name__)

CALLER, BOT = 0, 1  # channels
RESYNC_S = 0.25  # the caller's packets stopped this long: the next ones start at the wall clock again
FLUSH_LAG_S = 0.5  # audio this recent may still change (a late caller packet, a barge-in clearing the bot)
FLUSH_EVERY_S = 1.0


class Timeline:
    """Two channels of 16-bit samples on one clock; `take(upto)` hands out what can no longer change."""

    def __init__(self, resync: int) -> None:
        self._resync = resync  # samples: see RESYNC_S
        self.written = 0  # samples already taken
        self._pending = np.zeros((0, 2), np.int16)  # from `written` on
        self._filled = 0  # how much of _pending holds audio
        self.caller_end = 0
        self.bot_end = 0

    def caller(self, pcm: np.ndarray, now: int) -> None:
        if now - len(pcm) - self.caller_end > self._resync:
            self.caller_end = now - len(pcm)
        self._put(CALLER, self.caller_end, pcm)
        self.caller_end += len(pcm)

    def bot(self, pcm: np.ndarray, now: int) -> None:
        start = max(self.bot_end, now)
        self._put(BOT, start, pcm)
        self.bot_end = start + len(pcm)

    def clear_bot(self, now: int) -> None:
        """The line dropped the bot audio it had not played yet."""
        if self.bot_end > now:
            lo = max(now, self.written) - self.written
            self._pending[lo:self.bot_end - self.written, BOT] = 0
            self.bot_end = now

    def take(self, upto: int) -> np.ndarray:
        """Samples from `written` up to `upto` (silence where neither side had audio)."""
        n = upto - self.written
        if n <= 0:
            return np.zeros((0, 2), np.int16)
        out = np.zeros((n, 2), np.int16)
        have = min(n, self._filled)
        out[:have] = self._pending[:have]
        rest = self._pending[have:self._filled].copy()
        self._pending = np.zeros((max(len(rest), 1) * 2, 2), np.int16)
        self._pending[:len(rest)] = rest
        self._filled = len(rest)
        self.written = upto
        return out

    def _put(self, channel: int, pos: int, pcm: np.ndarray) -> None:
        if pos < self.written:  # already in the file: only the rest can still go in
            pcm, pos = pcm[self.written - pos:], self.written
        if not len(pcm):
            return
        lo, hi = pos - self.written, pos - self.written + len(pcm)
        if hi > len(self._pending):
            grown = np.zeros((max(hi, 2 * len(self._pending)), 2), np.int16)
            grown[:self._filled] = self._pending[:self._filled]
            self._pending = grown
        self._pending[lo:hi, channel] = pcm
        self._filled = max(self._filled, hi)


class CallRecorder:
    """One call's recording file, fed by `RecordedMedia`; `close()` writes the rest and the index entry."""

    def __init__(self, path: Path, rate: int, sound_file: soundfile.SoundFile, index: RecordingIndex,
                 call_id: str) -> None:
        self.path, self.rate, self.call_id = path, rate, call_id
        self._file: soundfile.SoundFile | None = sound_file
        self._index = index
        self._timeline = Timeline(int(RESYNC_S * rate))
        self._t0 = time.monotonic()
        self._lock = asyncio.Lock()  # one write at a time, in order
        self._flusher: asyncio.Task[None] | None = None
        # Stops the flusher between writes: cancelling it inside a write would leave the encoder thread
        # running while close() starts the next write on the same file.
        self._stop = asyncio.Event()
        self.error = ""

    @classmethod
    async def start(cls, directory: Path, call_id: str, rate: int, index: RecordingIndex) -> CallRecorder:
        """Open the file (in a thread: it touches the disk); raises OSError / soundfile's error if it cannot."""
        # The call id comes from outside on some lines (a Twilio callSid): only safe characters in a file name.
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:80]
        path = directory / f"{safe}-{uuid.uuid4().hex[:8]}{FILE_SUFFIX}"

        def open_file() -> soundfile.SoundFile:
            directory.mkdir(parents=True, exist_ok=True)
            return soundfile.SoundFile(path, "w", samplerate=rate, channels=2, format="OGG", subtype="OPUS")

        recorder = cls(path, rate, await asyncio.to_thread(open_file), index, call_id)
        recorder._flusher = asyncio.create_task(recorder._flush_forever(), name=f"record-{call_id}")
        return recorder

    @property
    def recording(self) -> bool:
        return self._file is not None

    def _now(self) -> int:
        return int((time.monotonic() - self._t0) * self.rate)

    def caller(self, pcm: bytes) -> None:
        if self._file is not None:
            self._timeline.caller(np.frombuffer(pcm, np.int16), self._now())

    def bot(self, pcm: bytes) -> None:
        if self._file is not None:
            self._timeline.bot(np.frombuffer(pcm, np.int16), self._now())

    def bot_cleared(self) -> None:
        if self._file is not None:
            self._timeline.clear_bot(self._now())

    async def _flush_forever(self) -> None:
        while self._file is not None and not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), FLUSH_EVERY_S)
            await self._write(self._now() - int(FLUSH_LAG_S * self.rate))

    async def _write(self, upto: int) -> None:
        async with self._lock:
            if self._file is None:
                return
            block = self._timeline.take(upto)
            if not len(block):
                return
            try:
                await asyncio.to_thread(self._file.write, block)
            except Exception as exc:  # the recording stops; the call must not
                log.exception("call %s: writing the recording %s failed", self.call_id, self.path)
                self.error = f"{type(exc).__name__}: {exc}"
                await self._close_file()

    async def _close_file(self) -> None:
        sound_file, self._file = self._file, None
        if sound_file is not None:
            try:
                await asyncio.to_thread(sound_file.close)
            except Exception as exc:
                log.exception("call %s: closing the recording %s failed", self.call_id, self.path)
                self.error = self.error or f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        """The call ended: the rest of the audio (bot audio never played is left out), then the index entry.
        Never raises: the call's own record is written after this."""
        self._stop.set()
        try:
            if self._flusher is not None:
                await self._flusher
            await self._write(max(self._timeline.caller_end, self._now()))
        except Exception as exc:
            log.exception("call %s: finishing the recording %s failed", self.call_id, self.path)
            self.error = self.error or f"{type(exc).__name__}: {exc}"
        await self._close_file()
        seconds = self._timeline.written / self.rate
        try:
            await self._index.add(self.call_id, self.path, seconds=seconds,
                                  state="failed" if self.error else "complete", error=self.error)
        except Exception:  # Redis refused the write for good: the file is still removed by age at retention
            log.exception("call %s: the recording's index entry was not written", self.call_id)


class RecordedMedia:
    """A `CallMedia` that records what passes through it (see the module docstring)."""

    def __init__(self, media: CallMedia, recorder: CallRecorder) -> None:
        self._media = media
        self._recorder = recorder
        self.sample_rate = media.sample_rate

    async def events(self) -> AsyncIterator[MediaEvent]:
        async for event in self._media.events():
            if isinstance(event, AudioIn):
                self._recorder.caller(event.pcm)
            yield event

    async def play(self, pcm: bytes) -> None:
        self._recorder.bot(pcm)
        await self._media.play(pcm)

    async def clear(self) -> None:
        await self._media.clear()
        self._recorder.bot_cleared()

    async def wait_played(self) -> None:
        await self._media.wait_played()

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        return await self._media.transfer(handoff_id, target)

    async def hangup(self) -> None:
        await self._media.hangup()
