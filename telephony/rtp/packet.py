"""RTP packets (RFC 3550) as a dataclass: parse from bytes, build to bytes. Never awaits."""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    seq: int  # 16-bit, wraps
    timestamp: int  # 32-bit, wraps; 8 kHz units for G.711
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        b0 = 0x80  # version 2, no padding/extension/CSRC
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        return _HEADER.pack(b0, b1, self.seq & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc) + self.payload


def parse_rtp(data: bytes) -> RtpPacket:
    """bytes -> RtpPacket; ValueError for anything that is not RTP version 2."""
    if len(data) < _HEADER.size:
        raise ValueError(f"RTP packet of {len(data)} bytes is shorter than the 12-byte header")
    b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
    if b0 >> 6 != 2:
        raise ValueError(f"RTP version {b0 >> 6}, expected 2")
    offset = _HEADER.size + 4 * (b0 & 0x0F)  # skip CSRCs
    if b0 & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise ValueError("truncated RTP header extension")
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if b0 & 0x20:  # padding: last byte says how much
        if end == 0 or data[-1] == 0 or data[-1] > end - offset:
            raise ValueError("bad RTP padding")
        end -= data[-1]
    if offset > end:
        raise ValueError("RTP header longer than the packet")
    return RtpPacket(payload_type=b1 & 0x7F, seq=seq, timestamp=ts, ssrc=ssrc,
                     payload=data[offset:end], marker=bool(b1 & 0x80))


def seq_newer(a: int, b: int) -> bool:
    """True if 16-bit sequence number `a` comes after `b` (wrap-aware, RFC 1982)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000
