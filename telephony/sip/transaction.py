"""SIP transactions, the RFC 3261 section 17 parts a UA on UDP needs (timers A/E/F-lite and G/H-lite).

Client side: a request is retransmitted with T1 doubling (capped at T2, and stopped for INVITE once a
provisional response arrives) until a final response or timer F (32 s) gives a synthetic 408.
Server side: the last response per transaction is kept so a retransmitted request gets it again,
and a 2xx to INVITE is retransmitted until its ACK arrives.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.sip.message import SipMessage, header_params, make_response

T1 = 0.5
T2 = 4.0
TIMER_F = 32.0

Sender = Callable[[SipMessage, tuple[str, int], str], None]
Key = tuple[str, ...]  # (Via branch, CSeq method), or the RFC 2543 request identity
MAGIC_COOKIE = "z9hG4bK"


def server_key(req: SipMessage) -> Key:
    """The server transaction a request belongs to (RFC 3261 section 17.2.3).

    With an RFC 3261 branch: branch, sent-by and method. Without one (an RFC 2543 peer, or a
    bare magic cookie) the branch says nothing, so the request's own identity is the key:
    otherwise unrelated requests with no branch would be answered as retransmissions of each
    other. Call-ID and CSeq are in both: a retransmission repeats them, and a peer that reuses
    branch values across calls still gets each call answered.
    """
    vias = req.get_all("Via")
    top = vias[0] if vias else ""
    sent_by = re.search(r"/\s*[^/\s]+\s+([^;]*)", top)
    ident = (req.call_id, req.get("CSeq"), "".join(sent_by.group(1).split()) if sent_by else top)
    branch = req.branch
    if branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        return branch, req.cseq[1], *ident
    return req.uri, header_params(req.get("To")).get("tag", ""), header_params(req.get("From")).get("tag", ""), *ident


@dataclass
class _Pending:
    future: asyncio.Future[SipMessage]
    on_provisional: Callable[[SipMessage], None] | None
    provisional: bool = False


@dataclass
class ClientTransactions:
    send: Sender
    _pending: dict[Key, _Pending] = field(default_factory=dict)

    async def request(self, msg: SipMessage, addr: tuple[str, int], transport: str, *,
                      timeout: float = TIMER_F,
                      on_provisional: Callable[[SipMessage], None] | None = None) -> SipMessage:
        """Send `msg` and return its final response (a synthetic 408 when nobody answers in time)."""
        key = (msg.branch, msg.cseq[1])
        entry = _Pending(asyncio.get_running_loop().create_future(), on_provisional)
        self._pending[key] = entry
        deadline = time.monotonic() + timeout
        interval = T1
        try:
            self.send(msg, addr, transport)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return make_response(msg, 408, "Request Timeout (no response)")
                try:
                    return await asyncio.wait_for(asyncio.shield(entry.future), min(interval, left))
                except TimeoutError:
                    pass
                if transport == "udp" and not (msg.method == "INVITE" and entry.provisional):
                    self.send(msg, addr, transport)
                interval = T2 if entry.provisional else min(interval * 2, T2)
        finally:
            self._pending.pop(key, None)

    def on_response(self, resp: SipMessage) -> bool:
        """Route a response to its waiting request; False if it matches none (stray/retransmitted)."""
        try:
            entry = self._pending.get((resp.branch, resp.cseq[1]))
        except ValueError:
            return False
        if entry is None or entry.future.done():
            return False
        if resp.status < 200:
            entry.provisional = True
            if entry.on_provisional:
                entry.on_provisional(resp)
        else:
            entry.future.set_result(resp)
        return True


@dataclass
class _Sent:
    response: SipMessage
    addr: tuple[str, int]
    transport: str
    expires: float


@dataclass
class ResponseCache:
    """Last response per server transaction, so retransmitted requests are answered, not re-run."""

    send: Sender
    linger_s: float = TIMER_F
    _sent: dict[Key, _Sent] = field(default_factory=dict)

    def respond(self, req: SipMessage, resp: SipMessage, addr: tuple[str, int], transport: str) -> None:
        self._sent[server_key(req)] = _Sent(resp, addr, transport, time.monotonic() + self.linger_s)
        self.send(resp, addr, transport)

    def replay(self, req: SipMessage) -> bool:
        """Answer a retransmission with the same response; False if this request is new."""
        now = time.monotonic()
        if len(self._sent) > 256:
            self._sent = {k: v for k, v in self._sent.items() if v.expires > now}
        hit = self._sent.get(server_key(req))
        if hit is None or hit.expires < now:
            return False
        self.send(hit.response, hit.addr, hit.transport)
        return True


async def retransmit_until(acked: asyncio.Event, resend: Callable[[], None], timeout: float = TIMER_F) -> bool:
    """Timer G/H for a 2xx to INVITE over UDP: resend until `acked` is set; False if it never was."""
    deadline = time.monotonic() + timeout
    interval = T1
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(acked.wait(), min(interval, deadline - time.monotonic()))
            return True
        except TimeoutError:
            if acked.is_set():
                return True
            resend()
            interval = min(interval * 2, T2)
    return acked.is_set()
