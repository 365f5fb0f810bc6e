"""Asterisk AudioSocket wire format: pure parse/build functions, no I/O.

Every frame is a 3-byte header — kind (1 byte), payload length (big-endian uint16) — then the payload:

    0x00 hangup   length 0
    0x01 UUID     16 raw bytes (the id given to AudioSocket() in the dialplan)
    0x03 DTMF     1 ASCII byte (0-9 * # A-D)
    0x10 audio    signed 16-bit little-endian PCM, 8 kHz mono (Asterisk sends 20 ms = 320 bytes)
    0xff error    optional 1-byte error code

Anything else is a protocol error (`ValueError`). TCP gives no way to find the next frame after a bad
header, so the server treats any `ValueError` here as the end of the stream (see audiosocket.py).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

HEADER = struct.Struct(">BH")
HEADER_SIZE = HEADER.size
DTMF_DIGITS = frozenset("0123456789*#ABCD")
# Asterisk never sends more than a few hundred ms of audio per frame; a frame longer than this is junk
# that would otherwise make us wait for (and buffer) up to 64 KiB of garbage.
MAX_AUDIO_PAYLOAD = 16_000  # 1 s of 8 kHz s16le


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


@dataclass(frozen=True)
class Frame:
    kind: Kind
    payload: bytes = b""

    @property
    def call_uuid(self) -> str:
        return str(uuid.UUID(bytes=self.payload))

    @property
    def digit(self) -> str:
        return self.payload.decode("ascii")


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"AudioSocket payload too long: {len(payload)} bytes (max 65535)")
    return HEADER.pack(int(kind), len(payload)) + payload


def audio_frame(pcm: bytes) -> bytes:
    return encode(Kind.AUDIO, pcm)


def hangup_frame() -> bytes:
    return encode(Kind.HANGUP)


def uuid_frame(call_uuid: str) -> bytes:
    return encode(Kind.UUID, uuid.UUID(call_uuid).bytes)


def dtmf_frame(digit: str) -> bytes:
    return encode(Kind.DTMF, digit.encode("ascii"))


def parse_header(header: bytes) -> tuple[Kind, int]:
    """Validate a 3-byte header before its payload is read; raise ValueError on anything Asterisk never sends."""
    if len(header) != HEADER_SIZE:
        raise ValueError(f"AudioSocket header must be {HEADER_SIZE} bytes, got {len(header)}")
    raw_kind, length = HEADER.unpack(header)
    try:
        kind = Kind(raw_kind)
    except ValueError:
        raise ValueError(f"unknown AudioSocket frame kind 0x{raw_kind:02x}") from None
    expected = {Kind.HANGUP: (0, 0), Kind.UUID: (16, 16), Kind.DTMF: (1, 1), Kind.ERROR: (0, 1)}
    if kind in expected:
        lo, hi = expected[kind]
        if not lo <= length <= hi:
            raise ValueError(f"AudioSocket {kind.name} frame with length {length} (allowed {lo}..{hi})")
    elif length % 2 or length > MAX_AUDIO_PAYLOAD:
        raise ValueError(f"AudioSocket audio frame with length {length} (even, at most {MAX_AUDIO_PAYLOAD})")
    return kind, length


def parse_frame(kind: Kind, payload: bytes) -> Frame:
    """Build a frame from a validated header's kind and its payload; checks the payload's content."""
    if kind is Kind.DTMF:
        digit = chr(payload[0]) if payload else ""
        if digit not in DTMF_DIGITS:
            raise ValueError(f"AudioSocket DTMF frame with invalid digit {payload!r}")
    return Frame(kind, bytes(payload))


class FrameDecoder:
    """Incremental decoder for a byte stream: feed what the socket gave, get the complete frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= HEADER_SIZE:
            kind, length = parse_header(bytes(self._buf[:HEADER_SIZE]))
            if len(self._buf) < HEADER_SIZE + length:
                break
            payload = bytes(self._buf[HEADER_SIZE:HEADER_SIZE + length])
            del self._buf[:HEADER_SIZE + length]
            frames.append(parse_frame(kind, payload))
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buf)
