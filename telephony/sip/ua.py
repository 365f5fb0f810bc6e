"""The SIP user agent: receives requests/responses, answers calls, keeps them alive, ends them.

It is the dispatcher between the transport and the per-call `SipCall` objects; the message/dialog/
transaction logic lives in the pure modules next to it. A malformed or unexpected message gets an
error response or is dropped; nothing that arrives on the wire can stop the UA.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable

from telephony.rtp.session import PortRange, open_rtp
from telephony.sdp import answer_direction, build_sdp, choose_codec, parse_sdp
from telephony.sip.call import SipCall
from telephony.sip.dialog import Dialog
from telephony.sip.digest import DigestChecker
from telephony.sip.message import (
    REASONS,
    MessageTooLarge,
    SipMessage,
    SipSyntaxError,
    header_params,
    make_response,
    parse_message,
    reply_envelope,
)
from telephony.sip.options import UaOptions
from telephony.sip.transaction import ClientTransactions, ResponseCache, retransmit_until
from telephony.sip.transport import SipTransport
from telephony.sip.uas import ACCEPT, ALLOW, SUPPORTED, refusal

log = logging.getLogger(__name__)

USER_AGENT = "voicebot"


class SipUserAgent:
    def __init__(self, settings: UaOptions, on_call: Callable[[SipCall], None],
                 call_factory: Callable[[SipUserAgent, Dialog, SipMessage], SipCall] = SipCall) -> None:
        self.settings = settings
        self.on_call = on_call  # called once per answered call (after the 200 OK is sent)
        self.call_factory = call_factory  # what an answered call is (the application's media-carrying subclass)
        self.transport = SipTransport(self._on_data, settings.max_message_bytes, on_oversize=self._on_oversize)
        self.client = ClientTransactions(self.send)
        self.responses = ResponseCache(self.send)
        self.calls: dict[str, SipCall] = {}  # by SIP Call-ID
        self._answering: set[str] = set()  # INVITEs answered with 100, their calls still being set up
        self.rtp_ports = PortRange(settings.rtp_port_min, settings.rtp_port_max)
        self._peers = [ipaddress.ip_network(p, strict=False) for p in settings.allowed_peers]
        self._auth = DigestChecker(settings.realm, settings.username, settings.password) \
            if settings.username and settings.password else None
        self._tasks: set[asyncio.Task] = set()
        self.dropped = 0  # messages we could not answer: malformed responses, junk without a Via
        self.on_response: Callable[[SipMessage, tuple[str, int]], None] | None = None  # unmatched (registrar...)
        # Set by the application: True while it drains (shutting down, finishing its calls). OPTIONS and new
        # INVITEs then get 503 + Retry-After, so a SIP proxy takes this UA out of its set and tries the next one.
        self.draining: Callable[[], bool] = lambda: False

    @property
    def busy(self) -> bool:
        """A call is on this UA or being set up (an INVITE answered with 100): a draining worker waits for it."""
        return bool(self.calls or self._answering)

    @property
    def address(self) -> str:
        return self.settings.public_address or ("127.0.0.1" if self.settings.host in ("0.0.0.0", "") else
                                                self.settings.host)

    @property
    def port(self) -> int:
        return self.transport.port

    async def start(self) -> int:
        t = self.settings.transport
        return await self.transport.open(self.settings.host, self.settings.port,
                                         udp=t in ("udp", "both"), tcp=t in ("tcp", "both"))

    async def stop(self) -> None:
        for call in list(self.calls.values()):  # bridged legs too: nobody stays on a dead line
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.bye(), 2)
        for task in list(self._tasks):
            task.cancel()
        await self.transport.close()

    def spawn(self, coro, name: str = "") -> asyncio.Task:  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # I/O ---------------------------------------------------------------------------------
    def send(self, msg: SipMessage, addr: tuple[str, int], transport: str = "udp") -> None:
        self.transport.send(msg.to_bytes(), addr, transport)

    async def request(self, msg: SipMessage, addr: tuple[str, int], transport: str = "udp",
                      timeout: float = 32.0, on_provisional: Callable[[SipMessage], None] | None = None,
                      ) -> SipMessage:
        return await self.client.request(msg, addr, transport, timeout=timeout, on_provisional=on_provisional)

    def contact(self, transport: str = "udp") -> str:
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:voicebot@{self.address}:{self.port}{suffix}>"

    def _on_data(self, data: bytes, addr: tuple[str, int], transport: str) -> None:
        try:
            msg = parse_message(data, max_bytes=self.settings.max_message_bytes,
                                max_headers=self.settings.max_headers)
        except SipSyntaxError as exc:
            self._bad_message(data, addr, transport, exc)
            return
        try:
            if msg.is_request:
                self._on_request(msg, addr, transport)
            elif not self.client.on_response(msg) and self.on_response:
                self.on_response(msg, addr)
        except Exception:  # a bug in one handler must not stop the UA
            log.exception("sip: failed handling %s from %s", msg.method or msg.status, addr)
            if msg.is_request and msg.method != "ACK":
                self.send(make_response(msg, 500), addr, transport)

    def _bad_message(self, data: bytes, addr: tuple[str, int], transport: str, exc: SipSyntaxError) -> None:
        """Answer a malformed request with the error's status (400/505/513) and the fault in the
        reason phrase, so the peer stops retransmitting; drop what cannot be addressed (responses, junk)."""
        log.info("sip: bad message from %s:%s: %s", *addr, exc)
        req = reply_envelope(data)
        if req is None:
            self.dropped += 1
            return
        reason = f"{REASONS[exc.status]} ({exc})"[:160]
        self.send(make_response(req, exc.status, reason, headers=[("User-Agent", USER_AGENT)]), addr, transport)

    def _on_oversize(self, head: bytes, addr: tuple[str, int], transport: str) -> None:
        """A TCP message whose headers and body are over the size limit: 513, then the stream closes."""
        self._bad_message(head, addr, transport, MessageTooLarge(
            f"message over the {self.settings.max_message_bytes}-byte limit"))

    # requests ------------------------------------------------------------------------------
    def _on_request(self, req: SipMessage, addr: tuple[str, int], transport: str) -> None:
        if req.method != "ACK" and self.responses.replay(req):
            return  # a retransmission: same answer, no second run
        refused = refusal(req) if req.method != "ACK" else None
        if refused is not None:
            self.respond(req, refused, addr, transport)
            return
        call = self.calls.get(req.call_id)
        method = req.method
        if method in ("INVITE", "OPTIONS") and call is None and self.draining():
            self.respond(req, make_response(req, 503, "Service Unavailable (draining)",
                                            headers=[("Retry-After", "30")]), addr, transport)
        elif method == "INVITE" and call is None:
            # 100 at once, through the response cache: a retransmission arriving before the call
            # is set up is answered with it instead of starting a second call.
            self.respond(req, make_response(req, 100), addr, transport)
            self._answering.add(req.call_id)
            self.spawn(self._new_call(req, addr, transport), name=f"sip-invite-{req.call_id[:12]}")
        elif method == "ACK":
            if call:
                call.on_ack(req)
        elif method == "OPTIONS":
            self.respond(req, make_response(req, 200, headers=self._capabilities()), addr, transport)
        elif call is None:
            status = 481 if method in ("BYE", "CANCEL", "INVITE", "NOTIFY", "INFO", "REFER") else 405
            extra = [("Allow", ALLOW)] if status == 405 else []
            self.respond(req, make_response(req, status, headers=extra), addr, transport)
        elif method == "BYE":
            self.respond(req, make_response(req, 200), addr, transport)
            call.on_remote_bye()
        elif method == "CANCEL":
            self.respond(req, make_response(req, 200), addr, transport)
            call.on_cancel()
        elif method == "INVITE":
            self._reinvite(call, req, addr, transport)
        elif method == "NOTIFY":
            self.respond(req, make_response(req, 200), addr, transport)
            call.on_notify(req)
        elif method == "INFO":
            self.respond(req, make_response(req, 200), addr, transport)
            call.on_info(req)
        else:
            self.respond(req, make_response(req, 405, headers=[("Allow", ALLOW)]), addr, transport)

    def respond(self, req: SipMessage, resp: SipMessage, addr: tuple[str, int], transport: str) -> SipMessage:
        """Send `resp` (with our User-Agent) and keep it for retransmissions; returns what was sent."""
        sent = resp.with_headers(("User-Agent", USER_AGENT))
        self.responses.respond(req, sent, addr, transport)
        return sent

    def _capabilities(self) -> list[tuple[str, str]]:
        return [("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", SUPPORTED)]

    def _peer_allowed(self, req: SipMessage, addr: tuple[str, int]) -> int | None:
        """None if the caller may proceed, else the status to refuse with (401 challenge or 403)."""
        try:
            ip = ipaddress.ip_address(addr[0])
        except ValueError:
            ip = None
        if ip is not None and any(ip in net for net in self._peers):
            return None
        if self._auth is None:
            return 403
        return None if self._auth.check(req.get("Authorization"), req.method) else 401

    async def _new_call(self, req: SipMessage, addr: tuple[str, int], transport: str) -> None:
        try:
            await self._set_up_call(req, addr, transport)
        finally:
            self._answering.discard(req.call_id)

    async def _set_up_call(self, req: SipMessage, addr: tuple[str, int], transport: str) -> None:
        refusal = self._peer_allowed(req, addr)
        if refusal is not None:
            extra = [("WWW-Authenticate", self._auth.challenge())] if refusal == 401 and self._auth else []
            self.respond(req, make_response(req, refusal, headers=extra), addr, transport)
            return
        if len(self.calls) >= self.settings.max_calls:
            self.respond(req, make_response(req, 486, headers=[("Retry-After", "30")]), addr, transport)
            return
        if header_params(req.get("To")).get("tag"):
            self.respond(req, make_response(req, 481), addr, transport)  # re-INVITE for a dialog we don't know
            return
        try:
            offer = parse_sdp(req.body)
            codec, pt = choose_codec(offer, tuple(self.settings.codecs))
        except ValueError as exc:
            self.respond(req, make_response(req, 488, f"Not Acceptable Here ({exc})"[:120]), addr, transport)
            return
        try:
            dialog = Dialog.from_invite(req, addr, transport)
        except ValueError as exc:  # e.g. a Contact in a scheme we cannot send BYE to
            self.respond(req, make_response(req, 416, f"Unsupported URI Scheme ({exc})"[:120]), addr, transport)
            return
        call = self.call_factory(self, dialog, req)
        self.calls[req.call_id] = call
        self._answering.discard(req.call_id)  # from here on `calls` holds it
        try:
            call.rtp = await open_rtp(self.settings.host, self.rtp_ports, call.on_audio, call.on_dtmf)
        except OSError as exc:
            del self.calls[req.call_id]
            log.error("sip: %s", exc)
            self.respond(req, make_response(req, 503, headers=[("Retry-After", "5")]), addr, transport)
            return
        self.respond(req, make_response(req, 180, to_tag=dialog.local_tag), addr, transport)
        dtmf_pt = offer.telephone_event_pt
        call.rtp.start((offer.address, offer.port), codec, pt, dtmf_pt)
        call.rtp.hold = offer.on_hold
        ok = self._answer(call, req, addr, transport, [(codec, pt)], dtmf_pt, answer_direction(offer.direction))
        self.on_call(call)
        call.started.set()
        if transport == "udp" and not await retransmit_until(call.acked, lambda: self.send(ok, addr, transport)):
            log.warning("sip: call %s: no ACK for 200 OK, ending it", req.call_id)
            await call.hangup()

    def _answer(self, call: SipCall, req: SipMessage, addr: tuple[str, int], transport: str,
                codecs: list[tuple[str, int]], dtmf_pt: int | None, direction: str) -> SipMessage:
        assert call.rtp is not None
        call.sdp_version += 1
        body = build_sdp(self.address, call.rtp.local_port, codecs, dtmf_pt=dtmf_pt, direction=direction,
                         session_id=call.sdp_session, version=call.sdp_version)
        ok = make_response(req, 200, to_tag=call.dialog.local_tag, body=body,
                           headers=[("Contact", self.contact(transport)), ("Content-Type", "application/sdp"),
                                    *self._capabilities()])
        call.acked.clear()
        return self.respond(req, ok, addr, transport)

    def _reinvite(self, call: SipCall, req: SipMessage, addr: tuple[str, int], transport: str) -> None:
        """Hold/unhold or a media change: update the stream and answer with our SDP."""
        if call.rtp is None or call.ended:
            self.respond(req, make_response(req, 481), addr, transport)
            return
        try:
            offer = parse_sdp(req.body)
            codec, pt = choose_codec(offer, (call.rtp.codec, *self.settings.codecs))
        except ValueError as exc:
            self.respond(req, make_response(req, 488, f"Not Acceptable Here ({exc})"[:120]), addr, transport)
            return
        call.rtp.update_remote((offer.address, offer.port), codec, pt, offer.telephone_event_pt)
        call.rtp.hold = offer.on_hold
        ok = self._answer(call, req, addr, transport, [(codec, pt)], offer.telephone_event_pt,
                          answer_direction(offer.direction))
        if transport == "udp":
            self.spawn(retransmit_until(call.acked, lambda: self.send(ok, addr, transport)))

    def forget(self, call: SipCall) -> None:
        self.calls.pop(call.dialog.call_id, None)
