"""One SIP call as the pipeline sees it: a `CallMedia` (voicebot/pipeline/media.py) over a SIP
dialog and its RTP session. Also used for the agent leg of a bridged transfer (`peer` set).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from telephony.rtp.session import RtpSession
from telephony.sip.dialog import Dialog
from telephony.sip.message import SipMessage, make_response
from telephony.sip.uri import parse_name_addr
from voicebot.pipeline.media import AudioIn, DtmfIn, HangupIn, MediaEvent, TransferResult

if TYPE_CHECKING:
    from telephony.sip.ua import SipUserAgent

log = logging.getLogger(__name__)

MAX_QUEUED_AUDIO = 500  # 10 s of 20 ms frames: a stalled consumer loses old audio, never memory
DTMF_INFO_SIGNALS = set("0123456789*#ABCD")


class SipCall:
    sample_rate = 8000

    def __init__(self, ua: SipUserAgent, dialog: Dialog, invite: SipMessage) -> None:
        self.ua = ua
        self.dialog = dialog
        self.invite = invite
        self.rtp: RtpSession | None = None
        self.acked = asyncio.Event()
        self.started = asyncio.Event()
        self.finished = asyncio.Event()
        self.ended = False
        self.end_reason = ""
        self.sdp_session = random.getrandbits(31)
        self.sdp_version = 0
        self.peer: SipCall | None = None  # the other leg while bridged to a human
        self.notifications: asyncio.Queue[int] = asyncio.Queue()  # sipfrag statuses of our REFER
        self.dtmf_received: list[str] = []
        self.transfers: list[TransferResult] = []  # outcome of each transfer attempt, for logs/metrics
        self._events: deque[MediaEvent] = deque()
        self._queued_audio = 0
        self._wake = asyncio.Event()
        try:
            self.caller_number = parse_name_addr(invite.get("From")).uri.user
        except ValueError:
            self.caller_number = ""

    # CallMedia -----------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[MediaEvent]:
        while True:
            while not self._events:
                self._wake.clear()
                await self._wake.wait()
            ev = self._events.popleft()
            if isinstance(ev, AudioIn):
                self._queued_audio -= 1
            yield ev
            if isinstance(ev, HangupIn):
                return

    async def play(self, pcm: bytes) -> None:
        if self.rtp is not None and not self.ended:
            self.rtp.play(pcm)

    async def clear(self) -> None:
        if self.rtp is not None:
            self.rtp.clear()

    async def wait_played(self) -> None:
        if self.rtp is not None and not self.ended:
            done = asyncio.ensure_future(self.rtp.wait_played())
            ended = asyncio.ensure_future(self.finished.wait())
            await asyncio.wait({done, ended}, return_when=asyncio.FIRST_COMPLETED)
            for f in (done, ended):
                f.cancel()

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        from telephony.sip.transfer import transfer_call

        result = await transfer_call(self, handoff_id, target)
        self.transfers.append(result)
        log.info("sip: call %s: transfer %s: %s", self.dialog.call_id, "ok" if result.ok else "FAILED", result.detail)
        return result

    async def hangup(self) -> None:
        """Send BYE. A call bridged to a human stays up: the bridge ends when either party leaves."""
        if self.ended or self.peer is not None:
            return
        await self.bye()

    # used by the UA and the transfer ------------------------------------------------------------
    async def bye(self) -> None:
        if self.ended:
            return
        self._end("bot hung up")
        req = self.dialog.request("BYE", self.ua.address, self.ua.port)
        resp = await self.ua.request(req, self.dialog.destination(), self.dialog.transport, timeout=8)
        if resp.status >= 300 and resp.status != 481:
            log.info("sip: BYE for %s answered %s", self.dialog.call_id, resp.status)

    def on_audio(self, pcm: bytes) -> None:
        if self.ended:
            return
        if self._queued_audio >= MAX_QUEUED_AUDIO:
            for i, ev in enumerate(self._events):
                if isinstance(ev, AudioIn):
                    del self._events[i]
                    self._queued_audio -= 1
                    break
        self._events.append(AudioIn(pcm))
        self._queued_audio += 1
        self._wake.set()

    def on_dtmf(self, digit: str) -> None:
        if not self.ended:
            self.dtmf_received.append(digit)
            self.push_event(DtmfIn(digit))

    def on_ack(self, req: SipMessage) -> None:
        self.acked.set()

    def on_remote_bye(self) -> None:
        self._end("caller hung up")
        if self.peer is not None and not self.peer.ended:
            self.ua.spawn(self.peer.bye())

    def on_cancel(self) -> None:
        if not self.started.is_set():
            # The INVITE is still being set up: finish it with 487 (RFC 3261 section 9.2).
            resp = make_response(self.invite, 487, to_tag=self.dialog.local_tag)
            self.ua.respond(self.invite, resp, self.dialog.peer, self.dialog.transport)
            self._end("caller cancelled")

    def on_notify(self, req: SipMessage) -> None:
        """REFER progress (RFC 3515): the body is a sipfrag status line, e.g. `SIP/2.0 200 OK`."""
        if "refer" not in req.get("Event").lower():
            return
        first = req.body.decode("utf-8", "replace").strip().split("\r\n")[0].split("\n")[0].split()
        if len(first) >= 2 and first[0] == "SIP/2.0" and first[1].isdigit():
            self.notifications.put_nowait(int(first[1]))

    def on_info(self, req: SipMessage) -> None:
        """SIP INFO DTMF (application/dtmf-relay), sent by some PBXes instead of RFC 4733."""
        if "dtmf" not in req.get("Content-Type").lower():
            return
        for line in req.body.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal" and value.strip() in DTMF_INFO_SIGNALS:
                self.on_dtmf(value.strip())

    def push_event(self, ev: MediaEvent) -> None:
        self._events.append(ev)
        self._wake.set()

    def _end(self, reason: str) -> None:
        if self.ended:
            return
        self.ended, self.end_reason = True, reason
        if self.rtp is not None:
            self.rtp.close()
        self.ua.forget(self)
        self.push_event(HangupIn(reason))
        self.finished.set()

    async def wait_ended(self, timeout: float | None = None) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), timeout)
        return self.ended
