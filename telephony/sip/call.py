"""One SIP call on the wire: its dialog and RTP session. Also used for the agent leg of a bridged transfer.

What the caller sends reaches the application through the `deliver_*` hooks, which do nothing here: the
application's subclass (voicebot/lines/sip.py, made by the UA's `call_factory`) turns them into its media events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

from telephony.rtp.session import RtpSession
from telephony.sip.dialog import Dialog
from telephony.sip.message import SipMessage, make_response
from telephony.sip.uri import parse_name_addr, parse_uri

if TYPE_CHECKING:
    from telephony.sip.ua import SipUserAgent

log = logging.getLogger(__name__)

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
        try:
            self.caller_number = parse_name_addr(invite.get("From")).uri.user
        except ValueError:
            self.caller_number = ""
        try:  # the number the caller dialled (the Request-URI's user part): it may pick the call's language
            self.dialled_number = parse_uri(invite.uri).user
        except ValueError:
            self.dialled_number = ""

    # what the caller sends, for the application (no-ops on a plain wire call) ------------------
    def deliver_audio(self, pcm: bytes) -> None:
        """20 ms of caller audio, decoded to s16le at 8 kHz."""

    def deliver_dtmf(self, digit: str) -> None:
        """A DTMF digit (RFC 4733 or SIP INFO)."""

    def deliver_end(self, reason: str) -> None:
        """The caller is gone for the bot: hung up, cancelled, transferred or bridged to a human."""

    # media out -------------------------------------------------------------------------------
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
        if not self.ended:
            self.deliver_audio(pcm)

    def on_dtmf(self, digit: str) -> None:
        if not self.ended:
            self.dtmf_received.append(digit)
            self.deliver_dtmf(digit)

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

    def _end(self, reason: str) -> None:
        if self.ended:
            return
        self.ended, self.end_reason = True, reason
        if self.rtp is not None:
            self.rtp.close()
        self.ua.forget(self)
        self.deliver_end(reason)
        self.finished.set()

    async def wait_ended(self, timeout: float | None = None) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), timeout)
        return self.ended
