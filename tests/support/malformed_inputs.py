"""Deterministic generators of broken input for every way into the server: SIP, RTP, AudioSocket, Twilio.

Each generator yields `(name, bytes_or_text)` so a failure names the mutation that caused it.
Seeded `random.Random`: the same run every time, so a failure reproduces.
"""

from __future__ import annotations

import base64
import json
import random
import re
import struct
import uuid
from collections.abc import Iterator

CRLF = "\r\n"


def sip_request(method: str, host: str, port: int, call_id: str, body: str = "", cseq: int = 1,
                local_port: int = 5099, from_tag: str = "", to_tag: str = "") -> bytes:
    lines = [
        f"{method} sip:voicebot@{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport",
        "Max-Forwards: 70",
        f"From: \"Fuzzer\" <sip:+48600100200@127.0.0.1:{local_port}>;tag={from_tag or uuid.uuid4().hex[:8]}",
        f"To: <sip:voicebot@{host}:{port}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:fuzzer@127.0.0.1:{local_port}>",
        "User-Agent: malformed-input-test",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return (CRLF.join(lines) + CRLF + CRLF + body).encode()


def sdp_offer(rtp_port: int) -> str:
    return CRLF.join([
        "v=0", "o=fuzzer 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
        f"m=audio {rtp_port} RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendrecv",
    ]) + CRLF


def _replace_header(msg: bytes, name: str, new_lines: list[str]) -> bytes:
    head, sep, body = msg.partition(b"\r\n\r\n")
    kept = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(name.lower().encode() + b":")]
    return b"\r\n".join(kept + [ln.encode() for ln in new_lines]) + sep + body


def sip_mutations(seeds: list[bytes], count: int = 240, seed: int = 5) -> Iterator[tuple[str, bytes]]:
    """At least `count` broken variants of the seed messages: structure first, then random damage."""
    rng = random.Random(seed)
    fixed: list[tuple[str, bytes]] = []
    for i, msg in enumerate(seeds):
        head_len = msg.index(b"\r\n\r\n")
        fixed += [
            (f"seed{i}-empty-line", b"\r\n"),
            (f"seed{i}-no-content-length", _replace_header(msg, "Content-Length", [])),
            (f"seed{i}-dup-content-length", _replace_header(msg, "Content-Length", ["Content-Length: 0",
                                                                                   "Content-Length: 999"])),
            (f"seed{i}-content-length-too-big", _replace_header(msg, "Content-Length", ["Content-Length: 65000"])),
            (f"seed{i}-content-length-negative", _replace_header(msg, "Content-Length", ["Content-Length: -5"])),
            (f"seed{i}-content-length-nan", _replace_header(msg, "Content-Length", ["Content-Length: lots"])),
            (f"seed{i}-huge-header", _replace_header(msg, "User-Agent", ["User-Agent: " + "A" * 70_000])),
            (f"seed{i}-8k-header", _replace_header(msg, "User-Agent", ["User-Agent: " + "B" * 8_000])),
            (f"seed{i}-500-headers", _replace_header(msg, "User-Agent", [f"X-H{n}: v" for n in range(500)])),
            (f"seed{i}-no-call-id", _replace_header(msg, "Call-ID", [])),
            (f"seed{i}-no-via", _replace_header(msg, "Via", [])),
            (f"seed{i}-no-from", _replace_header(msg, "From", [])),
            (f"seed{i}-bad-cseq", _replace_header(msg, "CSeq", ["CSeq: abc INVITE"])),
            (f"seed{i}-cseq-overflow", _replace_header(msg, "CSeq", ["CSeq: 99999999999999999999 OPTIONS"])),
            (f"seed{i}-header-no-colon", _replace_header(msg, "User-Agent", ["User-Agent malformed"])),
            (f"seed{i}-nul-bytes", msg.replace(b"Max-Forwards", b"Max\x00Forwards")),
            (f"seed{i}-latin1", msg.replace(b"Fuzzer", "Żółw\xff".encode("latin-1", "replace"))),
            (f"seed{i}-bad-version", msg.replace(b"SIP/2.0\r\n", b"SIP/3.7\r\n", 1)),
            (f"seed{i}-no-request-uri", re.sub(rb"^(\w+) \S+ ", rb"\1  ", msg, count=1)),
            (f"seed{i}-lf-only", msg.replace(b"\r\n", b"\n")),
            (f"seed{i}-headers-only-no-blank-line", msg[:head_len]),
            (f"seed{i}-folded-header", msg.replace(b"\r\nMax-Forwards: 70", b"\r\nMax-Forwards:\r\n 70")),
            (f"seed{i}-bad-via-port", re.sub(rb"127\.0\.0\.1:\d+;branch", b"127.0.0.1:99999;branch", msg)),
            (f"seed{i}-status-line-garbage", b"SIP/2.0 abc Whatever\r\n" + msg.split(b"\r\n", 1)[1]),
        ]
        if b"m=audio" in msg:
            fixed += [
                (f"seed{i}-sdp-garbage", msg.replace(b"m=audio", b"m=audio\x00\xff\xfe")),
                (f"seed{i}-sdp-no-media", re.sub(rb"m=audio[^\r]*\r\n", b"", msg)),
                (f"seed{i}-sdp-port-huge", re.sub(rb"m=audio \d+", b"m=audio 999999", msg)),
                (f"seed{i}-sdp-no-codecs", re.sub(rb"RTP/AVP [0-9 ]+", b"RTP/AVP 97", msg)),
            ]
    yield from fixed
    made = len(fixed)
    kinds = ("truncate", "bitflip", "junk", "splice", "shuffle")
    while made < count:
        msg = rng.choice(seeds)
        kind = kinds[made % len(kinds)]
        if kind == "truncate":
            out = msg[: rng.randrange(1, len(msg))]
        elif kind == "bitflip":
            buf = bytearray(msg)
            for _ in range(rng.randint(1, 24)):
                pos = rng.randrange(len(buf))
                buf[pos] ^= 1 << rng.randrange(8)
            out = bytes(buf)
        elif kind == "junk":
            out = rng.randbytes(rng.randint(1, 1400))
        elif kind == "splice":
            other = rng.choice(seeds)
            out = msg[: rng.randrange(len(msg))] + other[rng.randrange(len(other)):]
        else:
            lines = msg.split(b"\r\n")
            head = lines[1:lines.index(b"")] if b"" in lines else lines[1:]
            rng.shuffle(head)
            out = b"\r\n".join([lines[0], *head[: rng.randint(0, len(head))]]) + b"\r\n\r\n"
        yield f"{kind}-{made}", out
        made += 1


def rtp_garbage(count: int = 60, seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """Packets an RTP socket must survive: junk, short headers, bad versions, lying CSRC/extension lengths."""
    rng = random.Random(seed)
    for n in range(count):
        kind = n % 6
        if kind == 0:
            yield "junk", rng.randbytes(rng.randint(1, 400))
        elif kind == 1:
            yield "short", rng.randbytes(rng.randint(0, 11))
        elif kind == 2:  # version 1
            yield "version1", struct.pack("!BBHII", 0x40, 0, n, n * 160, 1234) + rng.randbytes(160)
        elif kind == 3:  # 15 CSRCs claimed, none present
            yield "csrc-lie", struct.pack("!BBHII", 0x8F, 0, n, n * 160, 1234) + b"\x00" * 8
        elif kind == 4:  # extension header claiming 65535 words
            yield "ext-lie", struct.pack("!BBHIIHH", 0x90, 0, n, n * 160, 1234, 0xBEDE, 0xFFFF) + b"\x00" * 4
        else:  # padding bit set with a padding count larger than the packet
            yield "padding-lie", struct.pack("!BBHII", 0xA0, 0, n, n * 160, 1234) + b"\x00" * 20 + b"\xff"


def audiosocket_garbage() -> Iterator[tuple[str, bytes]]:
    """Whole connections' worth of bytes Asterisk never sends (each is sent on a fresh connection)."""
    def good_uuid() -> bytes:  # a fresh call per connection, as Asterisk would
        return b"\x01\x00\x10" + uuid.uuid4().bytes

    yield "junk-first", bytes(random.Random(3).randbytes(300))
    yield "audio-before-uuid", b"\x10\x01\x40" + bytes(320)
    yield "short-uuid", b"\x01\x00\x04abcd"
    yield "unknown-kind", good_uuid() + b"\x42\x00\x02hi"
    yield "odd-audio-length", good_uuid() + b"\x10\x00\x03abc"
    yield "dtmf-length-2", good_uuid() + b"\x03\x00\x02##"
    yield "dtmf-not-a-digit", good_uuid() + b"\x03\x00\x01Z"
    yield "hangup-with-payload", good_uuid() + b"\x00\x00\x04junk"
    yield "length-lies-then-eof", good_uuid() + b"\x10\x13\x88" + bytes(100)  # claims 5000 bytes, sends 100
    yield "huge-audio-claim", good_uuid() + b"\x10\xff\xfe" + bytes(64)
    yield "truncated-header", good_uuid() + b"\x10\x01"
    yield "nothing", b""


def twilio_garbage(stream_sid: str) -> Iterator[tuple[str, str | bytes]]:
    """Websocket messages Twilio never sends, including plausible-looking ones with bad fields."""
    def media(payload: object) -> str:
        return json.dumps({"event": "media", "streamSid": stream_sid,
                           "media": {"track": "inbound", "payload": payload}})

    yield "not-json", "{event: media"
    yield "json-array", "[1,2,3]"
    yield "json-string", '"start"'
    yield "no-event", json.dumps({"streamSid": stream_sid})
    yield "unknown-event", json.dumps({"event": "dance", "streamSid": stream_sid})
    yield "bad-base64", media("@@not base64@@")
    yield "base64-wrong-padding", media("AAA")
    yield "payload-number", media(12345)
    yield "payload-huge", media(base64.b64encode(bytes(200_000)).decode())
    yield "media-not-object", json.dumps({"event": "media", "media": [1]})
    yield "dtmf-bad-digit", json.dumps({"event": "dtmf", "dtmf": {"digit": "99"}})
    yield "dtmf-missing", json.dumps({"event": "dtmf"})
    yield "mark-no-name", json.dumps({"event": "mark", "mark": {}})
    yield "second-start-broken", json.dumps({"event": "start", "start": {"callSid": 5}})
    yield "binary-frame", b"\x00\x01\x02\xff"
    yield "utf8-garbage", "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace") * 10
    yield "deep-nesting", "[" * 5000 + "]" * 5000
