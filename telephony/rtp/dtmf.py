"""RFC 4733 telephone-events: parse/build the 4-byte payload and turn a packet stream into digits.

A sender repeats each event's packets (and the end packet three times); one key press must become
one digit, so events are keyed by their RTP timestamp, which stays the same for the whole press.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EVENT_DIGITS = "0123456789*#ABCD"


@dataclass(frozen=True)
class TelephoneEvent:
    event: int  # 0-15 = 0-9 * # A-D
    end: bool
    volume: int  # dBm0 below 0, 0-63
    duration: int  # timestamp units (8 kHz)

    @property
    def digit(self) -> str:
        return EVENT_DIGITS[self.event] if self.event < len(EVENT_DIGITS) else ""

    def to_bytes(self) -> bytes:
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration)


def parse_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < 4:
        raise ValueError(f"telephone-event payload of {len(payload)} bytes, need 4")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


def digit_event(digit: str) -> int:
    idx = EVENT_DIGITS.find(digit.upper())
    if idx < 0 or len(digit) != 1:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return idx


@dataclass
class DtmfDetector:
    """Feeds telephone-event packets; returns a digit once per key press (on its first end packet).

    The end packet is repeated (up to ~60 ms apart); a press is known by its RTP timestamp, remembered
    for `memory_s` so a sender that restarts its timestamps later is still heard.
    """

    memory_s: float = 1.0
    _done: dict[int, float] = field(default_factory=dict)  # timestamp of a reported press -> when

    def feed(self, timestamp: int, payload: bytes, now: float = 0.0) -> str | None:
        ev = parse_event(payload)
        if not ev.end or not ev.digit:
            return None
        seen = self._done.get(timestamp)
        if seen is not None and now - seen <= self.memory_s:
            return None
        self._done = {ts: t for ts, t in self._done.items() if now - t <= self.memory_s}
        self._done[timestamp] = now
        return ev.digit


def event_packets(digit: str, *, duration_ms: int = 100, step_ms: int = 20) -> list[TelephoneEvent]:
    """The payloads one key press is sent as: growing durations, then the end packet three times."""
    code = digit_event(digit)
    out = [TelephoneEvent(code, False, 10, t * 8) for t in range(step_ms, duration_ms, step_ms)]
    return out + [TelephoneEvent(code, True, 10, duration_ms * 8)] * 3
