"""RFC 4475 torture messages: the strict parser on bytes, then the running user agent over UDP.

What a SIP peer notices: every request gets the RFC 3261 answer (a valid one is processed, an
invalid one gets 400 naming the fault or the specific 4xx/505), responses are never answered,
and the user agent still answers OPTIONS afterwards. No speech models: the few calls answered
here are ended by the test's own BYE.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from telephony.sip.call import SipCall
from telephony.sip.message import SipSyntaxError, parse_message
from telephony.sip.transaction import server_key
from telephony.sip.ua import SipUserAgent
from telephony.sip.uri import parse_name_addr
from tests.support.rfc4475 import CASES, DBLREQ, INTMETH, INV2543, LONGREQ, WSINV, Case
from tests.support.sip_helpers import RawPeer, RtpCapture, run_sipp, ulaw_to_pcm, voiced_seconds
from tests.support.sip_helpers import sip_request as request
from voicebot.config import Settings
from voicebot.store.calls import CallStore

_STATUS = re.compile(rb"^SIP/2\.0 (\d{3}) ")


def test_the_corpus_is_the_rfcs_list() -> None:
    assert len(CASES) == 49 and len({c.name for c in CASES}) == 49
    assert [c.section for c in CASES if c.section.startswith("3.1.1.")] == [f"3.1.1.{n}" for n in range(1, 14)]
    assert [c.section for c in CASES if c.section.startswith("3.1.2.")] == [f"3.1.2.{n}" for n in range(1, 20)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rfc4475_message_parses_or_names_its_fault(case: Case) -> None:
    if case.parses:
        msg = parse_message(case.data)
        assert msg.is_request == (case.status is not None)
        return
    with pytest.raises(SipSyntaxError) as err:
        parse_message(case.data)
    if case.status is not None:
        assert err.value.status == case.status, str(err.value)
    assert str(err.value)


@pytest.mark.parametrize(("name", "fault"), [
    ("badinv01", "empty parameter in Via"), ("clerr", "shorter than Content-Length"), ("ncl", "Content-Length"),
    ("scalar02", "CSeq number"), ("quotbal", "unterminated quoted string in To"), ("ltgtruri", "Request-URI"),
    ("lwsruri", "space inside the Request-URI"), ("lwsstart", "more than one space"),
    ("trws", "spaces after the SIP version"), ("escruri", "Request-URI carries headers"), ("baddate", "Date"),
    ("regbadct", "must be enclosed in <> in Contact"), ("badaspec", "spaces inside <...> in To"),
    ("baddn", "must be quoted in From"), ("badvers", "SIP/7.0"), ("mismatch01", "CSeq method 'INVITE'"),
    ("mismatch02", "CSeq method 'INVITE'"), ("insuf", "missing From, To, Call-ID headers"),
    ("multi01", "headers where one is allowed"), ("mcl01", "2 Content-Length headers"),
])
def test_the_error_names_the_fault(name: str, fault: str) -> None:
    case = next(c for c in CASES if c.name == name)
    with pytest.raises(SipSyntaxError, match=re.escape(fault)):
        parse_message(case.data)


def test_valid_torture_messages_keep_their_meaning() -> None:
    wsinv = parse_message(WSINV)
    assert wsinv.cseq == (9, "INVITE") and wsinv.get("Max-Forwards") == "0068"
    assert len(wsinv.get_all("Via")) == 3 and wsinv.branch == "390skdjuw"
    assert wsinv.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert wsinv.get("Subject") == "" and len(wsinv.body) == 150
    caller = parse_name_addr(wsinv.get("From"))  # quoted-pairs: an escaped backslash, then an escaped quote
    assert (caller.display, caller.params["tag"]) == ('J Rosenberg \\"', "98asjd8")
    assert parse_name_addr(str(caller)).display == caller.display  # written back escaped, e.g. in our BYE
    assert wsinv.get_all("Contact") == ['"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam = '
                                        'newvalue ; secondparam ; q = 0.33']
    intmeth = parse_message(INTMETH)
    assert intmeth.method == "!interesting-Method0123456789_*+`.%indeed'~"  # methods are case-sensitive tokens
    assert intmeth.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"
    longreq = parse_message(LONGREQ)
    assert len(longreq.get_all("Via")) == 34 and longreq.call_id == "longreq.one" + "really" * 20 + "longcallid"
    assert parse_message(DBLREQ).body == b""  # Content-Length 0: the INVITE after it is not a body
    inv2543 = parse_message(INV2543)
    assert inv2543.body.endswith(b"m=audio 49217 RTP/AVP 0\r\n")  # no Content-Length: the rest of the datagram


def test_everyday_values_other_stacks_send_stay_valid() -> None:
    """Strict is not fussy: GRUU/instance Contact parameters, a bare IPv6 received=, quoted UTF-8 names."""
    ok = (
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP [2001:db8::5]:5060;branch=z9hG4bK776;received=2001:db8::9;rport=5062\r\n"
        'From: "Łukasz Żółw" <sip:48600700800@pbx.example.pl>;tag=a1\r\n'
        "To: <sip:voicebot@pbx.example.pl>;tag=b2\r\n"
        "Call-ID: 7f3c@pbx\r\nCSeq: 2 REGISTER\r\n"
        'Contact: <sip:voicebot@10.0.0.5:5060;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6;ob>;expires=600;'
        '+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>", <sip:voicebot@[::1]>;q=0.5\r\n'
        "Supported: \r\nDate: Wed, 02 Dec 2026 01:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    msg = parse_message(ok)
    assert msg.status == 200 and len(msg.get_all("Contact")) == 2
    assert parse_name_addr(msg.get("From")).display == "Łukasz Żółw"
    unquoted = parse_message(ok.replace('"Łukasz Żółw"'.encode(), "Łukasz Żółw".encode()))
    assert parse_name_addr(unquoted.get("From")).display == "Łukasz Żółw"


def test_requests_without_an_rfc3261_branch_are_told_apart() -> None:
    """RFC 2543 peers send no branch: two different requests must not look like one retransmission."""
    a, b = parse_message(INV2543), parse_message(LONGREQ)
    assert a.branch == b.branch == ""
    assert server_key(a) != server_key(b)
    assert server_key(a) == server_key(parse_message(INV2543))


@pytest.fixture
async def ua(settings: Settings) -> AsyncIterator[SipUserAgent]:
    calls: list[SipCall] = []
    agent = SipUserAgent(settings.sip, calls.append)
    await agent.start()
    yield agent
    await agent.stop()


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    transport, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        RawPeer, local_addr=("127.0.0.1", 0))
    yield proto
    transport.close()


async def final_answer(peer: RawPeer, data: bytes, dest: tuple[str, int], timeout: float) -> bytes | None:
    """Send one message; the first final response to it (matched by Call-ID or Via), or None."""
    assert peer.transport is not None
    while not peer.inbox.empty():
        peer.inbox.get_nowait()
    key = re.search(rb"(?i)\r\n(?:Call-ID|i)[ \t]*:\s*(\S+)", data) or re.search(rb"branch=(\S+)", data)
    peer.transport.sendto(data, dest)
    try:
        while True:
            reply = await asyncio.wait_for(peer.inbox.get(), timeout)
            status = _STATUS.match(reply)
            if status and int(status.group(1)) >= 200 and (key is None or key.group(1) in reply):
                return reply
    except TimeoutError:
        return None


async def end_call(peer: RawPeer, ok_bytes: bytes, dest: tuple[str, int]) -> int | None:
    """ACK the bot's 200 OK and hang up; the status of the BYE."""
    ok = parse_message(ok_bytes)
    number = ok.cseq[0]
    common = (f"From: {ok.get('From')}\r\nTo: {ok.get('To')}\r\nCall-ID: {ok.call_id}\r\n"
              "Max-Forwards: 70\r\nContent-Length: 0\r\n")
    for method, cseq in (("ACK", number), ("BYE", number + 1)):
        data = (f"{method} sip:voicebot@127.0.0.1:{dest[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
                f"CSeq: {cseq} {method}\r\n{common}\r\n").encode()
        if method == "ACK":
            assert peer.transport is not None
            peer.transport.sendto(data, dest)
            continue
        reply = await final_answer(peer, data, dest, timeout=3.0)
        return int(reply[8:11]) if reply else None
    return None


async def test_every_rfc4475_message_gets_the_rfc_answer_over_udp(ua: SipUserAgent, peer: RawPeer) -> None:
    dest = ("127.0.0.1", ua.port)
    answers: dict[str, int | None] = {}
    for case in CASES:
        reply = await final_answer(peer, case.data, dest, timeout=3.0 if case.status else 0.5)
        answers[case.name] = int(reply[8:11]) if reply else None
        if reply is None:
            continue
        if case.is_invite_call and answers[case.name] == 200:
            assert await end_call(peer, reply, dest) == 200, f"{case.name}: the call could not be ended"
        head = reply.partition(b"\r\n\r\n")[0]
        if case.name == "bext01":  # 420 lists the option tags we do not support
            assert b"Unsupported: nothingSupportsThis, nothingSupportsThisEither\r\n" in head
        if case.name == "invut":
            assert b"Accept: application/sdp\r\n" in head
        if answers[case.name] == 400:
            assert re.match(rb"SIP/2\.0 400 Bad Request \(.+\)\r\n", head), head[:120]
    assert answers == {c.name: c.status for c in CASES}

    # The user agent is still fine: a plain OPTIONS is answered, and no call is left behind.
    resp = await peer.ask(request("OPTIONS", peer.port), dest)
    assert resp is not None and resp.status == 200
    assert not ua.calls


async def tcp_answer(port: int, data: bytes, *, then_closed: bool = True) -> tuple[bytes, bool]:
    """Send `data` on a fresh TCP connection: (what came back, whether the server then closed it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(4096), 3)
        closed = then_closed and await asyncio.wait_for(reader.read(1), 3) == b""
        return reply, closed
    finally:
        writer.close()


async def test_limits_hit_over_tcp_are_answered_before_the_stream_closes(settings: Settings) -> None:
    sip = settings.sip.model_copy(update={"transport": "tcp", "max_message_bytes": 2000})
    agent = SipUserAgent(sip, lambda call: None)
    port = await agent.start()
    try:
        big = request("OPTIONS", 5099, extra="X-Pad: " + "a" * 3000 + "\r\n")
        reply, closed = await tcp_answer(port, big)
        assert reply.startswith(b"SIP/2.0 513 Message Too Large") and closed
        huge_body = request("OPTIONS", 5099).replace(b"Content-Length: 0", b"Content-Length: 60000")
        reply, closed = await tcp_answer(port, huge_body)
        assert reply.startswith(b"SIP/2.0 513 ") and closed  # the body is never read into memory
        negative = request("OPTIONS", 5099).replace(b"Content-Length: 0", b"Content-Length: -5")
        reply, closed = await tcp_answer(port, negative)
        assert reply.startswith(b"SIP/2.0 400 Bad Request (bad Content-Length '-5')") and closed
        reply, _ = await tcp_answer(port, request("OPTIONS", 5099), then_closed=False)
        assert reply.startswith(b"SIP/2.0 200 OK")
    finally:
        await agent.stop()


@pytest.mark.models
@pytest.mark.slow
async def test_sipp_caller_with_long_header_values_hears_the_bot(sip_line: Any, call_store: CallStore,
                                                                 tmp_path: Path) -> None:
    """RFC 4475 "Long Values in Header Fields" from a real SIP peer: 100, 180, 200, then the greeting."""
    capture = await RtpCapture.open()
    call_id = "longreq.one" + "really" * 20 + "longcallid"
    try:
        result = await run_sipp("caller_long_headers", sip_line.port, tmp_path, {
            "capture_port": str(capture.port), "greeting_ms": "8000"}, timeout=40,
            extra=["-cid_str", call_id + "-%u-%p@%s"])
    finally:
        capture.close()
    assert result.returncode == 0, result.stdout + result.log  # sipp required 100, 180 and 200, in order
    assert "SIP/2.0 100 Trying" in result.messages and "SIP/2.0 180 Ringing" in result.messages
    assert voiced_seconds(ulaw_to_pcm(b"".join(p.payload for p in capture.packets))) > 2.0, "no greeting heard"

    deadline = time.monotonic() + 15
    while not sip_line.finished:  # the pipeline writes the call's end after the BYE
        assert time.monotonic() < deadline, "the call never finished on the bot's side"
        await asyncio.sleep(0.1)
    record = await call_store.get_call(sip_line.finished[0][0].call_id)
    assert record is not None and record["caller_number"] == "amazinglylongcallername" * 5
