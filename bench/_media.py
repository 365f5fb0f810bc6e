"""A `CallMedia` phone line driven by the scripted caller: how our pipeline is fed in the benchmark.

Caller audio arrives in real-time 20 ms chunks; bot audio handed to `play` counts as played at that
moment when the line is idle (it is queued behind earlier audio otherwise), like a real RTP line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from bench._caller import ScriptedCaller
from voicebot.pipeline.media import AudioIn, HangupIn, MediaEvent, TransferResult


class BenchLine:
    """Implements the `CallMedia` protocol for one scripted call."""

    def __init__(self, caller: ScriptedCaller) -> None:
        self.caller = caller
        self.sample_rate = caller.sample_rate
        self.transfers: list[str] = []
        self.cleared = 0

    async def events(self) -> AsyncIterator[MediaEvent]:
        async for chunk in self.caller.chunks():
            yield AudioIn(chunk)
        if not self.caller.hung_up.is_set():
            # The script is over: wait for the last reply to be heard, then hang up like a caller would.
            await self.wait_played()
            yield HangupIn("bench script finished")

    async def play(self, pcm: bytes) -> None:
        if pcm:
            self.caller.on_bot_audio(len(pcm), self.sample_rate)

    async def clear(self) -> None:
        self.cleared += 1
        self.caller.drop_playout()

    async def wait_played(self) -> None:
        delay = self.caller.playout_end() - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        self.transfers.append(handoff_id)
        self.caller.on_hangup()  # the caller leaves the bot; the rest of the script is not spoken
        return TransferResult(ok=True, detail="bench line: transfer accepted")

    async def hangup(self) -> None:
        self.caller.on_hangup()
