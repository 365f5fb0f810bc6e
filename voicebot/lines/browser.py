"""A browser as a phone line: microphone PCM16 over a websocket in, bot audio back (a CallMedia)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.pipeline.media import AudioIn, DtmfIn, HangupIn, MediaEvent, TransferResult, events_until_hangup

SAMPLE_RATE = 16000
CHUNK_BYTES = SAMPLE_RATE // 50 * 2  # 20 ms of s16le mono


class WebSocketMedia:
    """Caller audio arrives as binary frames (s16le mono, 16 kHz); the browser schedules bot audio itself,
    so `wait_played` is computed from how much audio was sent and when."""

    sample_rate = SAMPLE_RATE

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._pending = b""
        self._played_until = 0.0  # monotonic time the browser finishes what it was sent
        self.transfers: list[str] = []

    # -- fed by the websocket reader --------------------------------------------------------
    def audio(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= CHUNK_BYTES:
            self._events.put_nowait(AudioIn(self._pending[:CHUNK_BYTES]))
            self._pending = self._pending[CHUNK_BYTES:]

    def dtmf(self, digits: str) -> None:
        for d in digits:
            if d in "0123456789*#ABCD":
                self._events.put_nowait(DtmfIn(d))

    def hung_up(self, reason: str = "caller hung up") -> None:
        self._events.put_nowait(HangupIn(reason))

    # -- CallMedia ----------------------------------------------------------------------------
    def events(self) -> AsyncIterator[MediaEvent]:
        return events_until_hangup(self._events)

    async def play(self, pcm: bytes) -> None:
        if self.ws.closed or not pcm:
            return
        now = time.monotonic()
        self._played_until = max(self._played_until, now) + len(pcm) / 2 / self.sample_rate
        await self.ws.send_bytes(pcm)

    async def clear(self) -> None:
        self._played_until = time.monotonic()
        if not self.ws.closed:
            await self.ws.send_json({"type": "clear"})

    async def wait_played(self) -> None:
        delay = self._played_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        self.transfers.append(handoff_id)
        if not self.ws.closed:
            await self.ws.send_json({"type": "transfer", "handoff_id": handoff_id, "target": target or ""})
        return TransferResult(True, "browser softphone: the transfer is shown to the tester")

    async def hangup(self) -> None:
        if not self.ws.closed:
            await self.ws.send_json({"type": "hangup"})
