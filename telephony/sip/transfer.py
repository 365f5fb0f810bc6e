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

from telephony.sip.call import SipCall
from telephony.sip.outbound import dial
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
            # The transferor leaves once the transfer succeeded (RFC 5589). The BYE's own transaction runs on
            # its own: the outcome is known now, and hanging up ends the bot's pipeline, which must not cancel
            # this coroutine before the outcome is reported.
            ua.spawn(call.bye(), name=f"sip-bye-{call.dialog.call_id[:12]}")
            return TransferResult(True, f"REFER accepted ({resp.status}), NOTIFY {status}")
        return TransferResult(False, f"human line answered {status}")


async def bridge(call: SipCall, handoff_id: str, target: str) -> TransferResult:
    """Call the human line ourselves and relay RTP between the two legs."""
    ua = call.ua
    if call.rtp is None:
        return TransferResult(False, "no media on the call")
    # Only the caller's codec is offered, so packets are relayed as they are: no transcoding.
    try:
        dialled = await dial(ua, target, from_user=call.caller_number or "voicebot",
                             codecs=[(call.rtp.codec, call.rtp.payload_type)], dtmf_pt=call.rtp.dtmf_pt,
                             ring_timeout=ua.settings.transfer_timeout_secs,
                             headers=[(HANDOFF_HEADER, handoff_id)] if handoff_id else [], factory=SipCall)
    except OSError as exc:
        return TransferResult(False, f"bridge: {exc}")
    leg = dialled.call
    if leg is None or leg.rtp is None:
        what = "sent a bad answer" if dialled.status == 488 else "did not answer"
        return TransferResult(False, f"human line {what} ({dialled.status} {dialled.reason})")
    leg.rtp.relay, call.rtp.relay = call.rtp, leg.rtp
    leg.peer, call.peer = call, leg
    call.rtp.clear()
    return TransferResult(True, f"bridged to the human line ({dialled.status})")
