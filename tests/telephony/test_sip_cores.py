"""The pure SIP/SDP/RTP cores: what they accept, what they build, and the clear errors on bad bytes."""

from __future__ import annotations

import pytest

from telephony.rtp.dtmf import DtmfDetector, event_packets
from telephony.rtp.jitter import JitterBuffer
from telephony.rtp.packet import RtpPacket, parse_rtp
from telephony.sdp import build_sdp, choose_codec, parse_sdp
from telephony.sip.digest import DigestChecker, authorization
from telephony.sip.message import make_response, parse_message
from telephony.sip.transfer import refer_to
from telephony.sip.uri import parse_name_addr, parse_uri

INVITE = (
    b"INVITE sip:bot@10.0.0.1 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK776asdhds, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKold\r\n"
    b"f: \"Jan Kowalski\" <sip:48600700800@10.0.0.2>;tag=1928301774\r\n"
    b"t: <sip:bot@10.0.0.1>\r\n"
    b"i: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"m: <sip:48600700800@10.0.0.2:5062>\r\n"
    b"Subject: folded\r\n line\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n\r\nv=0\r\nJUNK"
)


def test_parse_request_with_compact_headers_folding_and_body_limit() -> None:
    msg = parse_message(INVITE)
    assert (msg.method, msg.uri, msg.cseq) == ("INVITE", "sip:bot@10.0.0.1", (314159, "INVITE"))
    assert msg.call_id == "a84b4c76e66710"
    assert len(msg.get_all("Via")) == 2 and msg.branch == "z9hG4bK776asdhds"
    assert msg.get("subject") == "folded line"
    assert msg.body == b"v=0\r"  # Content-Length wins over trailing bytes
    na = parse_name_addr(msg.get("From"))
    assert (na.display, na.uri.user, na.params["tag"]) == ("Jan Kowalski", "48600700800", "1928301774")


def test_response_copies_transaction_headers_and_adds_to_tag() -> None:
    resp = make_response(parse_message(INVITE), 180, to_tag="abc")
    back = parse_message(resp.to_bytes())
    assert back.status == 180 and back.reason == "Ringing"
    assert back.get_all("Via") == parse_message(INVITE).get_all("Via")
    assert back.get("To").endswith(";tag=abc") and back.get("Content-Length") == "0"


@pytest.mark.parametrize(("data", "error"), [
    (b"", "empty"),
    (b"HELLO\r\n\r\n", "start line"),
    (b"INVITE sip:x SIP/3.0\r\n\r\n", "version"),
    (INVITE.replace(b"i: a84b4c76e66710\r\n", b""), "missing Call-ID"),
    (INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: x INVITE"), "CSeq"),
    (INVITE.replace(b"l: 4", b"l: 400"), "shorter than Content-Length"),
    (INVITE.replace(b"Subject: folded", b"Bad Header: x"), "bad header line"),
    (b"SIP/2.0 99 Odd\r\n\r\n", "status code"),
    (b"\xff\xfe\r\n\r\n", "UTF-8"),
])
def test_malformed_messages_raise_value_error(data: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_message(data)


def test_limits_on_size_and_header_count() -> None:
    with pytest.raises(ValueError, match="over the 100-byte limit"):
        parse_message(INVITE, max_bytes=100)
    many = INVITE.replace(b"CSeq:", b"X-A: 1\r\n" * 80 + b"CSeq:")
    with pytest.raises(ValueError, match="more than 64 headers"):
        parse_message(many, max_headers=64)


def test_uri_parsing_and_refer_to_carries_the_handoff_id() -> None:
    uri = parse_uri("sip:agents@[::1]:5070;transport=udp")
    assert (uri.host, uri.port, uri.params) == ("::1", 5070, {"transport": "udp"})
    with pytest.raises(ValueError):
        parse_uri("http://example.com")
    value = refer_to("sip:agents@127.0.0.1:5070", "h-42")
    assert value == "<sip:agents@127.0.0.1:5070;handoff=h-42?X-Voicebot-Handoff=h-42>"
    assert parse_name_addr(value).uri.params["handoff"] == "h-42"


OFFER = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\na=sendonly\r\n"
    "m=video 40002 RTP/AVP 31\r\nc=IN IP4 10.9.9.9\r\n"
)


def test_sdp_offer_answer() -> None:
    offer = parse_sdp(OFFER)
    assert (offer.address, offer.port, offer.payload_types) == ("10.0.0.2", 40000, [8, 0, 96])
    assert offer.telephone_event_pt == 96 and offer.on_hold
    assert choose_codec(offer, ("PCMU", "PCMA")) == ("PCMU", 0)  # our preference order wins
    assert choose_codec(offer, ("PCMA",)) == ("PCMA", 8)
    answer = parse_sdp(build_sdp("10.0.0.1", 20000, [("PCMU", 0)], dtmf_pt=96, direction="recvonly"))
    assert (answer.port, answer.codec_of(0), answer.telephone_event_pt, answer.direction) == \
        (20000, "PCMU", 96, "recvonly")


def test_sdp_errors() -> None:
    with pytest.raises(ValueError, match="no audio"):
        parse_sdp("v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 1 RTP/AVP 31\r\n")
    with pytest.raises(ValueError, match="no common codec: offered G722"):
        choose_codec(parse_sdp("c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"), ("PCMU",))


def test_rtp_round_trip_and_bad_packets() -> None:
    pkt = RtpPacket(0, 65535, 2**32 - 160, 0xDEADBEEF, b"\xff" * 160, marker=True)
    assert parse_rtp(pkt.to_bytes()) == pkt
    with pytest.raises(ValueError, match="shorter"):
        parse_rtp(b"\x80\x00")
    with pytest.raises(ValueError, match="version"):
        parse_rtp(b"\x40" + bytes(11))
    padded = bytearray(pkt.to_bytes() + b"\x00\x00\x03")
    padded[0] |= 0x20
    assert parse_rtp(bytes(padded)).payload == b"\xff" * 160


def test_dtmf_one_digit_per_key_press() -> None:
    det = DtmfDetector()
    digits = []
    for i, d in enumerate("5#"):
        for ev in event_packets(d):  # updates + end packet three times
            digits.append(det.feed(8000 * i, ev.to_bytes()))
    assert [d for d in digits if d] == ["5", "#"]
    with pytest.raises(ValueError):
        det.feed(0, b"\x01")


def frame(n: int) -> bytes:
    return bytes([n]) * 160


def test_jitter_buffer_reorders_conceals_and_drops_late() -> None:
    jb = JitterBuffer("PCMU", depth=3)
    for seq in (65534, 0, 65535):  # out of order, across the 16-bit wrap
        jb.push(seq, frame(seq % 256))
    assert [jb.pop() for _ in range(3)] == [frame(254), frame(255), frame(0)]
    jb.push(3, frame(3))  # seq 1 and 2 lost
    concealed = jb.pop()
    assert concealed != frame(0) and concealed != b"\xff" * 160  # a quieter copy of the last frame
    assert jb.pop() == b"\xff" * 160  # then silence
    assert jb.pop() == frame(3)
    jb.push(2, frame(2))  # arrived after its slot: dropped
    assert jb.stats.late == 1 and jb.stats.concealed == 2
    assert jb.pop() == b"\xff" * 160  # nothing queued -> silence, never an error


def test_digest_answer_is_accepted_by_checker_and_wrong_password_is_not() -> None:
    checker = DigestChecker("voicebot", "alice", "s3cret")
    challenge = checker.challenge()
    good = authorization(challenge, username="alice", password="s3cret", method="INVITE", uri="sip:bot@h")
    bad = authorization(challenge, username="alice", password="nope", method="INVITE", uri="sip:bot@h")
    assert checker.check(good, "INVITE")
    assert not checker.check(bad, "INVITE")
    assert not checker.check(good.replace(challenge.split('nonce="')[1].split('"')[0], "1.forged"), "INVITE")


def test_jitter_buffer_restarts_when_a_paused_sender_starts_over() -> None:
    jb = JitterBuffer("PCMU", depth=1)
    for seq in range(100, 103):
        jb.push(seq, frame(seq))
    assert [jb.pop() for _ in range(3)] == [frame(100), frame(101), frame(102)]
    for _ in range(10):  # 200 ms of nothing
        jb.pop()
    jb.push(100, frame(7))  # the same recording played again: an older sequence number
    assert jb.pop() == frame(7) and jb.stats.late == 0


def test_dtmf_same_timestamp_much_later_is_a_new_press() -> None:
    det = DtmfDetector(memory_s=1.0)
    end = event_packets("9")[-1].to_bytes()
    assert det.feed(800, end, now=10.0) == "9"
    assert det.feed(800, end, now=10.05) is None  # the repeated end packet
    assert det.feed(800, end, now=12.0) == "9"  # a sender that restarted its timestamps
