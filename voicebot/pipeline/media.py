"""The seam between a phone line (telephony/) and the per-call audio pipeline.

Every way a caller reaches us — SIP/RTP, Asterisk AudioSocket, Twilio Media Streams, the in-process
file caller of `voicebot call`, a browser — is a `CallMedia`. The pipeline only sees this protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AudioIn:
    """Caller audio: signed 16-bit little-endian mono PCM at `CallMedia.sample_rate`."""

    pcm: bytes


@dataclass(frozen=True)
class DtmfIn:
    digit: str  # one of 0-9 * # A-D


@dataclass(frozen=True)
class HangupIn:
    reason: str = "caller hung up"


MediaEvent = AudioIn | DtmfIn | HangupIn


@dataclass(frozen=True)
class TransferResult:
    ok: bool
    detail: str = ""  # e.g. "REFER accepted (202), NOTIFY 200", "human line busy"


class CallMedia(Protocol):
    sample_rate: int  # 8000 on phone lines

    def events(self) -> AsyncIterator[MediaEvent]:
        """Caller audio in ~20 ms chunks, DTMF digits and hang-up, in arrival order."""
        ...

    async def play(self, pcm: bytes) -> None:
        """Queue bot audio (s16le mono at `sample_rate`); the line paces it in real time."""
        ...

    async def clear(self) -> None:
        """Drop queued bot audio now (barge-in)."""
        ...

    async def wait_played(self) -> None:
        """Return when all queued bot audio has been sent to the caller (or dropped by `clear`).

        The pipeline calls it after every reply (to know when the bot stopped talking) and before a transfer
        or hang-up, so the caller hears the last words.
        """
        ...

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        """Hand the caller to the human line, attaching the handoff id (SIP header, Twilio param...).

        `ok=False` means the caller is still on this line (nobody answered, the switch refused): the pipeline
        then books a callback, tells the caller (`play`, `wait_played`) and ends with `hangup`.
        """
        ...

    async def hangup(self) -> None: ...


async def events_until_hangup(queue: asyncio.Queue[MediaEvent]) -> AsyncIterator[MediaEvent]:
    """`CallMedia.events()` for a line that queues what it receives: every event, ending after the hang-up."""
    while True:
        event = await queue.get()
        yield event
        if isinstance(event, HangupIn):
            return
