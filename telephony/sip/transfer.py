"""Transfer to the human line: REFER first (RFC 3515), and if the caller's side refuses it,
bridge the call ourselves (B2BUA) so the caller is never lost.

REFER carries `X-Voicebot-Handoff: <id>` and the id as a Refer-To URI parameter (and as a URI
header, so the transferee's INVITE to the agents carries it too); the agent desktop uses it to
fetch the handoff package from Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from telephony.rtp.session import open_rtp
from telephony.sdp import build_sdp, parse_sdp
from telephony.sip.call import SipCall
from telephony.sip.dialog import Dialog, new_branch, new_tag
from telephony.sip.message import SipMessage
from telephony.sip.uri import parse_uri

log = logging.getLogger(__name__)

HANDOFF_HEADER = "X-Voicebot-Handoff"
REFER_ANSWER_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class TransferResult:
    """ok=False: the caller is still on this call (nobody answered, REFER and the bridge both failed)."""

    ok: bool
    detail: str = ""  # e.g. "REFER accepted (202), NOTIFY 200", "human line busy"


async def transfer_call(call: SipCall, handoff_id: str, target: str | None = None) -> TransferResult:
    if call.ended:
        return TransferResult(False, "call already ended")
    if not call.acked.is_set():
        # In-dialog requests wait for the dialog to be confirmed (RFC 3261 section 13.3.1.4).
        try:
            await asyncio.wait_for(call.acked.wait(), 32)
        except TimeoutError:
            return TransferResult(False, "the caller never confirmed the call (no ACK)")
    target = target or call.ua.settings.human_line_uri
    try:
        parse_uri(target)
    except ValueError as exc:
        return TransferResult(False, f"bad human line URI: {exc}")
    result = await refer(call, handoff_id, target)
    if result is None:
        result = await bridge(call, handoff_id, target)
    if result.ok:
        call.deliver_end("transferred to a human")  # the bot's part of the call is over
    return result


def refer_to(target: str, handoff_id: str) -> str:
    uri = parse_uri(target)
    if handoff_id:
        uri.params["handoff"] = handoff_id
        return f"<{uri}?{HANDOFF_HEADER}={handoff_id}>"
    return f"<{uri}>"


async def refer(call: SipCall, handoff_id: str, target: str) -> TransferResult | None:
    """None when the caller's side refused REFER (try bridging), else the transfer's outcome."""
    ua = call.ua
    headers = [("Refer-To", refer_to(target, handoff_id)), ("Referred-By", ua.contact()),
               ("Contact", ua.contact(call.dialog.transport))]
    if handoff_id:
        headers.append((HANDOFF_HEADER, handoff_id))
    while not call.notifications.empty():
        call.notifications.get_nowait()
    req = call.dialog.request("REFER", ua.address, ua.port, headers=headers)
    resp = await ua.request(req, call.dialog.destination(), call.dialog.transport, timeout=REFER_ANSWER_TIMEOUT_S)
    if resp.status >= 300:
        log.info("sip: REFER for %s refused (%s %s); bridging instead", call.dialog.call_id, resp.status, resp.reason)
        return None
    deadline = time.monotonic() + ua.settings.transfer_timeout_secs
    while True:
        left = deadline - time.monotonic()
        if call.ended:
            # The caller's phone left us mid-transfer: it is talking to the human line now.
            return TransferResult(True, f"REFER accepted ({resp.status}); caller left the bot")
        if left <= 0:
            return TransferResult(False, f"REFER accepted ({resp.status}) but no outcome in time")
        getter = asyncio.ensure_future(call.notifications.get())
        ended = asyncio.ensure_future(call.finished.wait())
        done, _ = await asyncio.wait({getter, ended}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        if getter not in done:
            getter.cancel()
            continue
        status = getter.result()
        if status < 200:
            continue
        if status < 300:
            await call.bye()  # the transferor leaves once the transfer succeeded (RFC 5589)
            return TransferResult(True, f"REFER accepted ({resp.status}), NOTIFY {status}")
        return TransferResult(False, f"human line answered {status}")


async def bridge(call: SipCall, handoff_id: str, target: str) -> TransferResult:
    """Call the human line ourselves and relay RTP between the two legs."""
    ua = call.ua
    if call.rtp is None:
        return TransferResult(False, "no media on the call")
    codec, pt, dtmf_pt = call.rtp.codec, call.rtp.payload_type, call.rtp.dtmf_pt
    try:
        leg_rtp = await open_rtp(ua.settings.host, ua.rtp_ports, lambda _pcm: None, lambda _d: None)
    except OSError as exc:
        return TransferResult(False, f"bridge: {exc}")
    target_uri = parse_uri(target)
    # Only the caller's codec is offered, so packets are relayed as they are: no transcoding.
    invite = SipMessage(method="INVITE", uri=str(target_uri), headers=(
        ("Via", f"SIP/2.0/UDP {ua.address}:{ua.port};branch={new_branch()};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:{call.caller_number or 'voicebot'}@{ua.address}>;tag={new_tag()}"),
        ("To", f"<{target_uri}>"),
        ("Call-ID", f"{new_tag()}{new_tag()}@{ua.address}"),
        ("CSeq", "1 INVITE"),
        ("Contact", ua.contact()),
        *([(HANDOFF_HEADER, handoff_id)] if handoff_id else []),
        ("Content-Type", "application/sdp"),
    ), body=build_sdp(ua.address, leg_rtp.local_port, [(codec, pt)], dtmf_pt=dtmf_pt))
    resp = await ua.request(invite, target_uri.address, "udp", timeout=ua.settings.transfer_timeout_secs)
    if resp.status >= 300 or resp.status < 200:
        leg_rtp.close()
        if resp.status == 408:
            ua.send(_cancel_for(invite), target_uri.address, "udp")
        else:
            ua.send(_ack_for(invite, resp, None), target_uri.address, "udp")
        return TransferResult(False, f"human line did not answer ({resp.status} {resp.reason})")
    dialog = Dialog.from_response(invite, resp, target_uri.address, "udp")
    ua.send(_ack_for(invite, resp, dialog), dialog.destination(), "udp")
    try:
        answer = parse_sdp(resp.body)
    except ValueError as exc:
        leg = SipCall(ua, dialog, invite)
        leg.rtp = leg_rtp
        await leg.bye()
        return TransferResult(False, f"human line sent bad SDP: {exc}")
    leg = SipCall(ua, dialog, invite)
    leg.rtp = leg_rtp
    leg.acked.set()
    ua.calls[dialog.call_id] = leg
    leg_rtp.start((answer.address, answer.port), codec, pt, dtmf_pt)
    leg_rtp.relay, call.rtp.relay = call.rtp, leg_rtp
    leg.peer, call.peer = call, leg
    call.rtp.clear()
    return TransferResult(True, f"bridged to the human line ({resp.status})")


def _ack_for(invite: SipMessage, resp: SipMessage, dialog: Dialog | None) -> SipMessage:
    """ACK: for a 2xx a new in-dialog request; for an error the same branch (RFC 3261 17.1.1.3)."""
    if dialog is not None:
        return dialog.request("ACK", *_via_of(invite), cseq=invite.cseq[0])
    copied = tuple((name, invite.get(name)) for name in ("Via", "Max-Forwards", "From", "Call-ID"))
    return SipMessage(method="ACK", uri=invite.uri,
                      headers=(*copied, ("To", resp.get("To")), ("CSeq", f"{invite.cseq[0]} ACK")))


def _cancel_for(invite: SipMessage) -> SipMessage:
    copied = tuple((name, invite.get(name)) for name in ("Via", "Max-Forwards", "From", "To", "Call-ID"))
    return SipMessage(method="CANCEL", uri=invite.uri, headers=(*copied, ("CSeq", f"{invite.cseq[0]} CANCEL")))


def _via_of(msg: SipMessage) -> tuple[str, int]:
    sent_by = msg.get("Via").split()[1].split(";")[0]
    host, _, port = sent_by.rpartition(":")
    return host, int(port)
