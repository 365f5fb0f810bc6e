"""One RTP session on real UDP sockets: reordered caller packets come out in order, a lost one is
concealed, DTMF arrives once per key press, junk is ignored, and the bot's audio goes out paced."""

from __future__ import annotations

import asyncio
import socket
import struct

import numpy as np

from telephony.rtp.session import PortRange, open_rtp
from tests.support.sip_helpers import RtpCapture, telephone_event_payloads


def rtp(seq: int, payload: bytes, pt: int = 0, ts: int | None = None) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160 if ts is None else ts, 0xCAFE) + payload


async def test_rtp_session_reorders_conceals_detects_dtmf_and_paces_output() -> None:
    frames: list[bytes] = []
    digits: list[str] = []
    capture = await RtpCapture.open()
    session = await open_rtp("127.0.0.1", PortRange(40000, 40100), frames.append, digits.append)
    session.start(("127.0.0.1", capture.port), "PCMU", 0, 101)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", session.local_port)
    try:
        # mu-law 0x80 = loud positive sample; every frame is loud so real and concealed audio are visible.
        order = [1, 3, 2, 4, 6, 7, 8]  # 3 before 2; 5 never arrives
        for seq in order:
            sender.sendto(rtp(seq, bytes([0x80 + seq]) * 160), dest)
        sender.sendto(b"\x00junk", dest)
        for payload in telephone_event_payloads("7"):
            sender.sendto(rtp(100, payload, pt=101, ts=5000), dest)
        session.play(np.full(8000, 4000, dtype="<i2").tobytes())  # 1 s of bot audio
        await asyncio.wait_for(session.wait_played(), 3)
        await asyncio.sleep(0.1)
    finally:
        sender.close()
        session.close()
        capture.close()

    assert digits == ["7"]  # repeated end packets: one digit
    assert session.bad_packets == 1
    caller = [f for f in frames if np.abs(np.frombuffer(f, dtype="<i2")).max() > 0]
    levels = [int(np.abs(np.frombuffer(f, dtype="<i2")).max()) for f in caller]
    assert len(caller) == 8  # 7 received + 1 concealed
    real = levels[:4] + levels[5:]
    assert real == sorted(real, reverse=True)  # in sequence order (louder codes first: 0x81 > 0x82 ...)
    assert levels[4] < levels[3] // 1.5  # the lost packet 5: the previous frame at lower level
    assert session.jitter.stats.concealed == 1

    sent = [p for p in capture.packets if p.payload_type == 0]
    loud = [p for p in sent if max(p.payload) < 0xF0]  # frames carrying the bot's 1 s of audio
    assert len(loud) == 50
    assert loud[0].marker and not any(p.marker for p in loud[1:])
    span = loud[-1].arrival - loud[0].arrival
    assert 0.9 < span < 1.1  # paced in real time, not burst out


def press(sock: socket.socket, digit: str, dest: tuple[str, int], ts: int) -> None:
    for payload in telephone_event_payloads(digit):
        sock.sendto(rtp(ts // 50, payload, pt=101, ts=ts), dest)


async def test_rtp_from_another_source_cannot_press_keys_or_talk_into_the_call() -> None:
    """An RFC 4733 "0" from another UDP port must not reach the dialog (it would transfer the call)."""
    frames: list[bytes] = []
    digits: list[str] = []
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    session = await open_rtp("127.0.0.1", PortRange(40000, 40100), frames.append, digits.append)
    session.start(phone.getsockname(), "PCMU", 0, 101)  # the SDP names the phone's address and port
    dest = ("127.0.0.1", session.local_port)
    try:
        for seq in range(1, 4):
            phone.sendto(rtp(seq, b"\xff" * 160), dest)
        press(intruder, "0", dest, ts=9000)
        for seq in range(4, 8):
            intruder.sendto(rtp(seq, b"\x80" * 160), dest)  # loud audio from the intruder
        await asyncio.sleep(0.1)
        press(phone, "5", dest, ts=5000)
        await asyncio.sleep(0.3)
    finally:
        phone.close()
        intruder.close()
        session.close()
    assert digits == ["5"]
    assert session.foreign_packets == 11
    assert all(np.abs(np.frombuffer(f, dtype="<i2")).max() < 1000 for f in frames)  # no intruder audio


async def test_a_phone_behind_nat_is_latched_by_its_first_packets() -> None:
    digits: list[str] = []
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # sends from another port than its SDP says
    intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    session = await open_rtp("127.0.0.1", PortRange(40000, 40100), lambda f: None, digits.append)
    session.start(("127.0.0.1", 9), "PCMU", 0, 101)
    try:
        phone.sendto(rtp(1, b"\xff" * 160), ("127.0.0.1", session.local_port))
        await asyncio.sleep(0.05)
        press(intruder, "0", ("127.0.0.1", session.local_port), ts=9000)
        press(phone, "3", ("127.0.0.1", session.local_port), ts=5000)
        await asyncio.sleep(0.2)
    finally:
        phone.close()
        intruder.close()
        session.close()
    assert digits == ["3"] and session.foreign_packets == 7
