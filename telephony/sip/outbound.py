"""Placing a call (UAC INVITE): the callback to a customer, and the agent leg of a bridged transfer.

`dial` sends the INVITE (through an outbound proxy/trunk when given), lets it ring up to `ring_timeout` and
then CANCELs it, and on a 2xx returns an answered `SipCall` (the UA's `call_factory`, so the application's
media events work as on an incoming call). Any other outcome is a `DialResult` without a call: busy (486/600),
declined (603), no answer (our CANCEL, 480, 408), or what the far end said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.rtp.session import open_rtp
from telephony.sdp import build_sdp, choose_codec, parse_sdp
from telephony.sip.call import SipCall
from telephony.sip.dialog import Dialog, new_branch, new_tag
from telephony.sip.message import SipMessage
from telephony.sip.uri import parse_uri

if TYPE_CHECKING:
    from telephony.sip.ua import SipUserAgent

CANCEL_GRACE_S = 4.0  # after CANCEL, how long the phone has to end the INVITE (487)
BUSY = (486, 600)
NO_ANSWER = (408, 480, 487)


@dataclass(frozen=True)
class DialResult:
    call: SipCall | None  # answered (media running), else None
    status: int  # the final response (408 when it rang out and we cancelled)
    reason: str

    @property
    def outcome(self) -> str:
        """answered | busy | no_answer | failed (for retry policies and the worklist)."""
        if self.call is not None:
            return "answered"
        if self.status in BUSY:
            return "busy"
        return "no_answer" if self.status in NO_ANSWER else "failed"


async def dial(ua: SipUserAgent, target: str, *, proxy: str = "", from_user: str = "voicebot",
               codecs: Sequence[tuple[str, int]], dtmf_pt: int | None = 101, ring_timeout: float = 30.0,
               headers: Sequence[tuple[str, str]] = (),
               factory: Callable[[SipUserAgent, Dialog, SipMessage], SipCall] | None = None) -> DialResult:
    """Call `target` (a SIP URI); the INVITE goes to `proxy` (a SIP URI) when set, else to the target's host.
    `factory` makes the answered call (default: the UA's `call_factory`). Raises OSError without RTP ports."""
    target_uri = parse_uri(target)
    next_hop = parse_uri(proxy).address if proxy else target_uri.address
    holder: list[SipCall] = []  # the call exists only once answered; media that arrives before waits for it
    rtp = await open_rtp(ua.settings.host, ua.rtp_ports, lambda pcm: holder and holder[0].on_audio(pcm),
                         lambda digit: holder and holder[0].on_dtmf(digit))
    invite = SipMessage(method="INVITE", uri=str(target_uri), headers=(
        ("Via", f"SIP/2.0/UDP {ua.address}:{ua.port};branch={new_branch()};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:{from_user}@{ua.address}>;tag={new_tag()}"),
        ("To", f"<{target_uri}>"),
        ("Call-ID", f"{new_tag()}{new_tag()}@{ua.address}"),
        ("CSeq", "1 INVITE"),
        ("Contact", ua.contact()),
        *headers,
        ("Content-Type", "application/sdp"),
    ), body=build_sdp(ua.address, rtp.local_port, list(codecs), dtmf_pt=dtmf_pt))
    # The INVITE's transaction outlives the ring time: after our CANCEL the phone's 487 ends it and is ACKed.
    pending = asyncio.ensure_future(ua.request(invite, next_hop, "udp", timeout=ring_timeout + CANCEL_GRACE_S))
    done, _ = await asyncio.wait({pending}, timeout=ring_timeout)
    if not done:
        ua.send(cancel_for(invite), next_hop, "udp")  # rang out (RFC 3261 9.1)
    resp = await pending
    if not 200 <= resp.status < 300:
        rtp.close()
        if resp.status != 408:  # a real final response gets its ACK (17.1.1.3); a timeout has nobody to ACK
            ua.send(ack_for(invite, resp, None), next_hop, "udp")
        return DialResult(None, resp.status, resp.reason)
    dialog = Dialog.from_response(invite, resp, next_hop, "udp")
    ua.send(ack_for(invite, resp, dialog), dialog.destination(), "udp")
    call = (factory or ua.call_factory)(ua, dialog, invite)
    call.rtp = rtp
    call.acked.set()
    ua.calls[dialog.call_id] = call
    try:
        answer = parse_sdp(resp.body)
        codec, pt = choose_codec(answer, tuple(name for name, _ in codecs))
    except ValueError as exc:
        await call.bye()
        return DialResult(None, 488, f"bad SDP answer: {exc}")
    rtp.start((answer.address, answer.port), codec, pt, answer.telephone_event_pt)
    holder.append(call)
    call.started.set()
    return DialResult(call, resp.status, resp.reason)


def ack_for(invite: SipMessage, resp: SipMessage, dialog: Dialog | None) -> SipMessage:
    """ACK: for a 2xx a new in-dialog request; for an error the same branch (RFC 3261 17.1.1.3)."""
    if dialog is not None:
        return dialog.request("ACK", *_via_of(invite), cseq=invite.cseq[0])
    copied = tuple((name, invite.get(name)) for name in ("Via", "Max-Forwards", "From", "Call-ID"))
    return SipMessage(method="ACK", uri=invite.uri,
                      headers=(*copied, ("To", resp.get("To")), ("CSeq", f"{invite.cseq[0]} ACK")))


def cancel_for(invite: SipMessage) -> SipMessage:
    copied = tuple((name, invite.get(name)) for name in ("Via", "Max-Forwards", "From", "To", "Call-ID"))
    return SipMessage(method="CANCEL", uri=invite.uri, headers=(*copied, ("CSeq", f"{invite.cseq[0]} CANCEL")))


def _via_of(msg: SipMessage) -> tuple[str, int]:
    sent_by = msg.get("Via").split()[1].split(";")[0]
    host, _, port = sent_by.rpartition(":")
    return host, int(port)
