"""The SIP user agent on the wire, driven by a raw UDP socket: keep-alives, bad input, who may call.

No speech models are needed: the one call answered here never gets as far as the pipeline.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from telephony.sdp import parse_sdp
from telephony.sip.digest import parse_auth_header
from telephony.sip.message import SipMessage, parse_message
from tests.support.sip_helpers import RawPeer
from tests.support.sip_helpers import sip_request as request
from voicebot.config import Settings
from voicebot.drain import Drain
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


def _settings(settings: Settings, **sip: object) -> Settings:
    return settings.model_copy(update={"sip": settings.sip.model_copy(update=sip)})


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    yield proto
    transport.close()


def in_dialog(method: str, cseq: int, ok: SipMessage, line_port: int, peer_port: int) -> bytes:
    """The caller's ACK or BYE in the dialog the 200 OK `ok` set up."""
    return (f"{method} sip:voicebot@127.0.0.1:{line_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{peer_port};branch=z9hG4bK{method.lower()}{uuid.uuid4().hex[:8]}\r\n"
            f"From: {ok.get('From')}\r\nTo: {ok.get('To')}\r\nCall-ID: {ok.call_id}\r\nCSeq: {cseq} {method}\r\n"
            "Content-Length: 0\r\n\r\n").encode()


async def started_line(settings: Settings) -> SipLine:
    # No dialog engine or models: a call answered here fails over to the human line at once.
    line = SipLine(settings, CallServices(settings=settings, models=None, dialog=None))  # type: ignore[arg-type]
    await line.start()
    return line


async def test_options_keepalive_answers_200_with_capabilities(settings: Settings, peer: RawPeer) -> None:
    line = await started_line(settings)
    try:
        resp = await peer.ask(request("OPTIONS", peer.port), ("127.0.0.1", line.port))
        assert resp is not None and resp.status == 200
        assert "INVITE" in resp.get("Allow") and "REFER" in resp.get("Allow")
        assert resp.get("Accept") == "application/sdp"
    finally:
        await line.stop()


async def test_malformed_input_gets_400_or_513_or_is_dropped_and_the_ua_keeps_working(
        settings: Settings, peer: RawPeer) -> None:
    line = await started_line(_settings(settings, max_headers=20, max_message_bytes=2000))
    dest = ("127.0.0.1", line.port)
    try:
        # Garbage cannot be answered: dropped. A request over the size limit is told so (513), not ignored.
        assert await peer.ask(b"\x00\xffgarbage\r\n\r\n", dest, timeout=0.3) is None
        resp = await peer.ask(request("OPTIONS", peer.port, extra="X-Pad: " + "a" * 3000 + "\r\n"), dest)
        assert resp is not None and resp.status == 513 and "2000-byte limit" in resp.reason
        # Addressable but broken: 400 with the reason.
        too_many = request("OPTIONS", peer.port, extra="X-A: 1\r\n" * 30)
        resp = await peer.ask(too_many, dest)
        assert resp is not None and resp.status == 400 and "headers" in resp.reason
        short_body = request("INVITE", peer.port, body=SDP).replace(b"Content-Length: ", b"Content-Length: 9")
        resp = await peer.ask(short_body, dest)
        assert resp is not None and resp.status == 400 and "Content-Length" in resp.reason
        # An INVITE without usable SDP is refused, not answered with broken media.
        resp = await peer.ask(request("INVITE", peer.port, body="v=0\r\n"), dest)
        assert resp is not None and resp.status == 488
        resp = await peer.ask(request("BYE", peer.port), dest)
        assert resp is not None and resp.status == 481  # no such call
        resp = await peer.ask(request("SUBSCRIBE", peer.port), dest)
        assert resp is not None and resp.status == 405
        # ... and the UA is still fine.
        resp = await peer.ask(request("OPTIONS", peer.port), dest)
        assert resp is not None and resp.status == 200
        assert line.ua.dropped == 1 and not line.ua.calls
    finally:
        await line.stop()


async def test_calls_from_unknown_peers_are_refused(settings: Settings, peer: RawPeer) -> None:
    line = await started_line(_settings(settings, allowed_peers=("10.0.0.0/8",)))
    try:
        resp = await peer.ask(request("INVITE", peer.port, body=SDP), ("127.0.0.1", line.port))
        assert resp is not None and resp.status == 403
        assert not line.ua.calls
    finally:
        await line.stop()


async def test_unknown_peer_is_challenged_and_a_wrong_password_is_refused(settings: Settings, peer: RawPeer) -> None:
    from telephony.sip.digest import authorization

    line = await started_line(_settings(settings, allowed_peers=(), username="pbx", password="s3cret"))
    dest = ("127.0.0.1", line.port)
    try:
        resp = await peer.ask(request("INVITE", peer.port, body=SDP), dest)
        assert resp is not None and resp.status == 401
        challenge = resp.get("WWW-Authenticate")
        assert parse_auth_header(challenge)["realm"] == "voicebot"
        wrong = authorization(challenge, username="pbx", password="guess", method="INVITE",
                              uri="sip:voicebot@127.0.0.1")
        resp = await peer.ask(request("INVITE", peer.port, body=SDP, extra=f"Authorization: {wrong}\r\n"), dest)
        assert resp is not None and resp.status == 401
        assert not line.ua.calls
    finally:
        await line.stop()


def test_sip_port_comes_from_env_and_zero_is_ephemeral(settings: Settings) -> None:
    assert settings.sip.port == 0  # conftest sets VOICEBOT_SIP_PORT=0

    async def bind() -> int:
        line = await started_line(settings)
        port = line.port
        await line.stop()
        return port

    port = asyncio.run(bind())
    assert port > 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))  # released on stop


async def test_200_ok_is_retransmitted_until_ack_and_a_repeated_invite_is_not_a_second_call(
        settings: Settings, peer: RawPeer) -> None:
    line = await started_line(settings)
    dest = ("127.0.0.1", line.port)
    invite = request("INVITE", peer.port, body=SDP)
    try:
        assert peer.transport is not None
        peer.transport.sendto(invite, dest)
        peer.transport.sendto(invite, dest)  # a retransmission (same branch): answered, not a new call
        seen = []
        while 200 not in [m.status for m in seen]:  # the first call of a process also loads the pipeline code
            seen.append(parse_message(await asyncio.wait_for(peer.inbox.get(), 15)))
        await asyncio.sleep(2.0)  # no ACK yet: Timer G resends the 200 at 0.5 s, 1.5 s, ...
        while not peer.inbox.empty():
            seen.append(parse_message(peer.inbox.get_nowait()))
        oks = [m for m in seen if m.status == 200]
        assert len(oks) >= 3 and len(line.ua.calls) == 1
        assert [m.status for m in seen].count(180) == 1, "the retransmitted INVITE started a second call"
        peer.transport.sendto(in_dialog("ACK", 1, oks[0], line.port, peer.port), dest)
        await asyncio.sleep(1.6)
        later = [parse_message(peer.inbox.get_nowait()) for _ in range(peer.inbox.qsize())]
        assert not [m for m in later if m.status == 200 and m.cseq[1] == "INVITE"]  # the ACK stopped them
    finally:
        await line.stop()


async def test_answer_picks_pcma_when_that_is_all_the_caller_has(settings: Settings, peer: RawPeer) -> None:
    line = await started_line(settings)
    offer = SDP.replace("RTP/AVP 0", "RTP/AVP 8 96") + "a=rtpmap:96 telephone-event/8000\r\n"
    try:
        resp = await peer.ask(request("INVITE", peer.port, body=offer), ("127.0.0.1", line.port))
        assert resp is not None and resp.status == 200
        answer = parse_sdp(resp.body)
        assert answer.payload_types == [8, 96]  # PCMA, and DTMF on the caller's payload type
        assert answer.codec_of(8) == "PCMA" and answer.telephone_event_pt == 96
        assert settings.sip.rtp_port_min <= answer.port <= settings.sip.rtp_port_max
        g722 = offer.replace("RTP/AVP 8 96", "RTP/AVP 9")
        resp = await peer.ask(request("INVITE", peer.port, body=g722), ("127.0.0.1", line.port))
        assert resp is not None and resp.status == 488 and "no common codec" in resp.reason
    finally:
        await line.stop()


async def test_a_call_arriving_as_the_worker_starts_to_drain_is_served_not_cut(
        settings: Settings, peer: RawPeer) -> None:
    """SIGTERM lands between the INVITE's 100 and its pipeline's start: the drain counts that call too, so
    the worker stays until it is over instead of stopping at once and hanging up right after the ACK."""
    drain = Drain("test-worker")
    line = SipLine(settings, CallServices(settings=settings, models=None, dialog=None, drain=drain))  # type: ignore[arg-type]
    await line.start()
    dest = ("127.0.0.1", line.port)
    assert peer.transport is not None
    try:
        peer.transport.sendto(request("INVITE", peer.port, body=SDP), dest)
        first = parse_message(await asyncio.wait_for(peer.inbox.get(), 5))
        assert first.status == 100
        draining = asyncio.create_task(drain.run(drain_timeout=20, handover_grace=5))
        seen = [first]
        while 200 not in [m.status for m in seen]:
            seen.append(parse_message(await asyncio.wait_for(peer.inbox.get(), 15)))
        assert 503 not in [m.status for m in seen]  # it came before the drain: answered, not refused
        await asyncio.sleep(0.5)
        assert not draining.done(), "the worker stopped with a call it had just answered"
        ok = seen[-1]
        for method, cseq in (("ACK", 1), ("BYE", 2)):
            peer.transport.sendto(in_dialog(method, cseq, ok, line.port, peer.port), dest)
        await asyncio.wait_for(draining, 10)  # the caller hung up: now the worker may stop
        assert not line.ua.calls
    finally:
        await line.stop()
