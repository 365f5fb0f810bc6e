"""One Twilio Media Streams call as a `CallMedia`.

Twilio plays what we send at its own real-time pace and tells us where it is with marks: after each
`play()` we send a mark, and Twilio echoes it when the audio before it has been heard (or dropped by a
`clear`). `wait_played()` waits for the last mark — bounded by the audio's duration plus a grace
period, so a peer that never echoes marks cannot stall the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from telephony import codecs
from telephony import twilio_messages as tm
from telephony.twilio_rest import TwilioRest
from voicebot.lines.leg_outcome import LegOutcome, LegOutcomes
from voicebot.pipeline.media import AudioIn, DtmfIn, HangupIn, MediaEvent, TransferResult, events_until_hangup

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
CHUNK_BYTES = 160 * 2  # 20 ms of s16le per media message, like Twilio's own
MARK_GRACE_SECS = 2.0


class TwilioLine:
    sample_rate = SAMPLE_RATE

    def __init__(
        self, ws: web.WebSocketResponse, start: tm.Start, outcomes: LegOutcomes, rest: TwilioRest | None
    ) -> None:
        self.ws = ws
        self.start = start
        self._outcomes = outcomes
        self._rest = rest
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._pending_marks: set[str] = set()
        self._marks_done = asyncio.Event()
        self._marks_done.set()
        self._mark_seq = 0
        self._play_end = 0.0  # loop time when Twilio should finish playing what we sent
        self._ended = False
        self.transferred: TransferResult | None = None

    @property
    def call_sid(self) -> str:
        return self.start.call_sid

    # -- inbound, fed by the websocket handler ------------------------------------------------------
    def on_message(self, msg: tm.TwilioMessage) -> None:
        if isinstance(msg, tm.Media):
            if msg.track in ("inbound", "inbound_track") and msg.ulaw:
                self._events.put_nowait(AudioIn(codecs.decode(msg.ulaw, "PCMU")))
        elif isinstance(msg, tm.Dtmf):
            self._events.put_nowait(DtmfIn(msg.digit))
        elif isinstance(msg, tm.Mark):
            self._pending_marks.discard(msg.name)
            if not self._pending_marks:
                self._marks_done.set()
        elif isinstance(msg, tm.Stop):
            self.on_closed("Twilio stopped the stream")

    def on_closed(self, reason: str) -> None:
        if not self._ended:
            self._ended = True
            self._events.put_nowait(HangupIn(reason))
        self._pending_marks.clear()
        self._marks_done.set()

    # -- CallMedia ------------------------------------------------------------------------------------
    def events(self) -> AsyncIterator[MediaEvent]:
        return events_until_hangup(self._events)

    async def next_event(self, timeout: float) -> MediaEvent | None:
        """Before the pipeline runs (answering-machine screening of a callback): the next audio or key press;
        a hang-up is returned and left queued for the pipeline; None after `timeout` seconds of nothing."""
        try:
            ev = await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(ev, HangupIn):
            self._events.put_nowait(ev)
        return ev

    async def play(self, pcm: bytes) -> None:
        if self._ended or self.ws.closed or not pcm:
            return
        if len(pcm) % 2:
            pcm = pcm[:-1]
        sid = self.start.stream_sid
        with contextlib.suppress(ConnectionError, RuntimeError):
            for i in range(0, len(pcm), CHUNK_BYTES):
                await self.ws.send_str(tm.media_message(sid, codecs.encode(pcm[i:i + CHUNK_BYTES], "PCMU")))
            self._mark_seq += 1
            name = f"vb-{self._mark_seq}"
            self._pending_marks.add(name)
            self._marks_done.clear()
            await self.ws.send_str(tm.mark_message(sid, name))
        now = asyncio.get_running_loop().time()
        self._play_end = max(self._play_end, now) + len(pcm) / (2 * SAMPLE_RATE)

    async def clear(self) -> None:
        # Twilio drops its buffer and echoes the marks still pending, which releases wait_played().
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(tm.clear_message(self.start.stream_sid))
        self._play_end = asyncio.get_running_loop().time()

    async def wait_played(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._marks_done.is_set():
            limit = self._play_end + MARK_GRACE_SECS - loop.time()
            if limit <= 0:
                log.warning("twilio %s: marks %s never came back; going on", self.call_sid, self._pending_marks)
                self._pending_marks.clear()
                self._marks_done.set()
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._marks_done.wait(), limit)

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        # Stored first: the agent desktop / transfer TwiML can find the handoff id by call SID.
        await self._outcomes.record(self.call_sid, LegOutcome(
            "transfer", handoff_id=handoff_id, channel="twilio", detail=target or "human line"))
        if self._rest is None:
            result = TransferResult(False, "Twilio REST client not configured")
        else:
            rest = await self._rest.transfer(self.call_sid, handoff_id, target)
            result = TransferResult(rest.ok, rest.detail)
        self.transferred = result
        if result.ok:
            # Twilio now runs the <Dial>; our stream is over.
            await self.end_stream()
        return result

    async def hangup(self, detail: str = "bot ended") -> None:
        await self._outcomes.record(self.call_sid, LegOutcome("hangup", channel="twilio", detail=detail))
        if self._rest is not None and self._rest.has_credentials:
            await self._rest.hangup(self.call_sid)
        # Closing the websocket ends <Connect>; its action TwiML sees the "hangup" outcome and hangs up.
        await self.end_stream()

    async def end_stream(self) -> None:
        self.on_closed("bot closed the stream")
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close()
