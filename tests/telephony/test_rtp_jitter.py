"""The adaptive jitter buffer on simulated lines: a packet every 20 ms from the caller, each arriving when the
line delivers it, and the bot's clock pulling one frame every 20 ms. What the caller's audio sounds like to
the pipeline (order, gaps, concealment) and how long each packet waits before it plays."""

from __future__ import annotations

import random
from collections.abc import Callable

from telephony.rtp.jitter import CLEAN_TICKS, JitterBuffer

SILENCE = b"\xff" * 160  # mu-law zero: what the buffer plays when it has nothing


def speech(seq: int) -> bytes:
    """A loud frame that names its sequence number (mu-law 0x80 and 0x00 are near full scale)."""
    return b"\x80" + (seq & 0xFFFF).to_bytes(2, "big") + bytes(157)


def pause(seq: int) -> bytes:
    """Line silence that names its sequence number: mu-law 0xff and 0x7f both decode to 0."""
    return bytes(0xFF if seq >> i & 1 else 0x7F for i in range(16)) + SILENCE[:144]


class Line:
    """A caller sending frame n at a tick of its 20 ms clock, arriving `delay(n)` seconds later (None: lost),
    and the bot's clock ticking `phase` after the caller's. Sequence numbers and timestamps start just before
    their wrap."""

    SEQ0, TS0 = 65530, 0xFFFFFFFF - 800

    def __init__(self, delay: Callable[[int], float | None], quiet: Callable[[int], bool] = lambda n: False,
                 phase: float = 0.010) -> None:
        self.jb = JitterBuffer("PCMU")
        self.delay, self.quiet, self.phase = delay, quiet, phase
        self.sent = 0
        self.ts_offset = 0
        self.played_at: dict[int, int] = {}  # frame n -> tick it played at
        self.arrived: dict[int, float] = {}
        self.out: list[int | str] = []  # per tick: frame n, "s"ilence or "c"oncealment
        self._names: dict[bytes, int] = {}
        self._in_flight: list[tuple[float, int, int]] = []  # (arrival, n, timestamp)
        self.tick = 0

    def run(self, ticks: int, sending: bool = True) -> list[int | str]:
        """Advance `ticks` ticks; the caller sends a frame per tick while `sending`, else it is silent (a phone
        with silence suppression: its timestamps go on, its sequence numbers do not)."""
        start = len(self.out)
        for _ in range(ticks):
            sent_at = self.tick * 0.020
            if sending:
                n, self.sent = self.sent, self.sent + 1
                d = self.delay(n)
                if d is not None:
                    self._in_flight.append((sent_at + d, n, self.TS0 + 160 * (n + self.ts_offset)))
            else:
                self.ts_offset += 1
            self._in_flight.sort()
            while self._in_flight and self._in_flight[0][0] <= sent_at + self.phase:
                at, n, ts = self._in_flight.pop(0)
                payload = pause(n) if self.quiet(n) else speech(n)
                self._names[payload] = n
                self.arrived[n] = at
                self.jb.push((self.SEQ0 + n) & 0xFFFF, payload, ts & 0xFFFFFFFF, at)
            frame = self.jb.pop()
            label = self._names.get(frame, "s" if frame == SILENCE else "c")
            if isinstance(label, int):
                self.played_at[label] = self.tick
            self.out.append(label)
            self.tick += 1
        return self.out[start:]

    def wait_ms(self, n: int) -> float:
        """How long frame n waited in the buffer: from its arrival to the tick that played it."""
        return (self.phase + self.played_at[n] * 0.020 - self.arrived[n]) * 1000


def played(labels: list[int | str]) -> list[int]:
    return [x for x in labels if isinstance(x, int)]


def test_clean_line_plays_each_packet_at_the_first_tick_after_it_arrives() -> None:
    line = Line(lambda n: 0.001)
    assert played(line.run(200)) == list(range(line.sent))  # in order, across the 16-bit wrap
    assert max(line.wait_ms(n) for n in line.played_at) < 20  # a fixed 3-frame buffer waited 40-60 ms
    assert line.jb.stats.concealed == line.jb.stats.late == 0 and line.jb.target == 0


def test_packets_swapped_within_a_tick_play_in_order() -> None:
    line = Line(lambda n: 0.006 if n % 7 == 3 else 0.001, phase=0.015)  # every 7th lands after the next one
    assert played(line.run(100)) == list(range(line.sent))
    assert line.jb.stats.concealed == 0


def test_a_late_packet_is_waited_for_and_the_buffer_keeps_a_frame_more() -> None:
    line = Line(lambda n: 0.025 if n == 50 else 0.001)  # 15 ms after its tick
    out = line.run(150)
    assert out[out.index(49) + 1:out.index(49) + 3] == ["s", 50]  # ran dry a tick, then it played
    assert played(out) == list(range(len(played(out))))  # nothing lost
    assert line.jb.stats.underruns == 1 and line.jb.target == 1
    assert 20 <= line.wait_ms(140) < 40  # a frame of reserve from then on


def test_a_packet_later_than_its_successor_is_concealed_and_dropped_then_the_buffer_grows() -> None:
    # Frame 50 arrives 45 ms late, after frame 51; the pause from frame 60 on lets the buffer grow without
    # stretching a word.
    line = Line(lambda n: 0.045 if n == 50 else 0.001, quiet=lambda n: n >= 60)
    out = line.run(150)
    assert out[out.index(49) + 1:out.index(49) + 4] == ["s", "c", 51]  # dry, then its slot concealed
    assert 50 not in out and line.jb.stats.late == 1 and line.jb.target == 1
    assert played(out) == [n for n in range(line.sent) if n != 50][: len(played(out))]
    assert 20 <= line.wait_ms(140) < 40  # a frame of reserve from then on


def test_lost_packet_is_concealed_once_then_silence() -> None:
    line = Line(lambda n: None if n in (20, 21) else 0.001)
    out = line.run(60)
    assert out[20:25] == ["s", "s", "c", "s", 22]  # ran dry; once 22 came, a quieter copy of 19, then silence
    assert line.jb.stats.concealed == 2 and line.jb.stats.underruns == 0  # lost, not late: no reserve for it

    jb = JitterBuffer("PCMU")  # with packets queued behind the gap (they came in a burst), the gap is concealed
    for n in (0, 2, 1, 5):  # sequence numbers 65534, 0, 65535, 3: out of order, across the 16-bit wrap
        jb.push((65534 + n) & 0xFFFF, speech(n), 160 * n, 0.0)
    out = [jb.pop() for _ in range(6)]
    assert out[:3] == [speech(0), speech(1), speech(2)] and out[5] == speech(5)
    assert out[3] not in (speech(2), SILENCE) and out[4] == SILENCE  # a quieter copy of the last frame, once
    jb.push(1, speech(3), 160 * 3, 0.12)  # arrived after its slot: dropped
    assert jb.pop() == SILENCE and jb.stats.late == 1 and jb.stats.concealed == 2


def test_a_burst_held_up_by_the_network_plays_whole_and_the_buffer_grows() -> None:
    # Frames 30-34 are held 100 ms and arrive together (a Wi-Fi stall); nothing is dropped.
    line = Line(lambda n: 0.101 - 0.020 * (n - 30) if 30 <= n <= 34 else 0.001, quiet=lambda n: n >= 80)
    out = line.run(120)
    assert played(out)[:80] == list(range(80))  # every frame of speech, in order
    assert played(out) == sorted(played(out))
    assert line.jb.stats.late == line.jb.stats.concealed == 0
    assert line.jb.stats.underruns == 1 and line.jb.target >= 1


def test_jittery_line_grows_the_reserve_until_nothing_is_lost_then_shrinks_back_when_it_is_clean() -> None:
    rng = random.Random(13)
    jitter = {n: rng.uniform(0.0, 0.050) for n in range(3000)}
    clean_from = 1000
    line = Line(lambda n: 0.001 + (jitter[n] if n < clean_from else 0.0), quiet=lambda n: n % 75 >= 50)
    line.run(500)  # 1 s of speech, 0.5 s of pause, again and again
    lost_before = line.jb.stats.concealed + line.jb.stats.late
    assert line.jb.target >= 2 and 10 < line.jb.jitter_ms < 25  # uniform 0-50 ms: RFC 3550 J ~17 ms
    line.run(500)
    assert line.jb.stats.concealed + line.jb.stats.late == lost_before  # settled: no more gaps in the speech
    line.run(4 * CLEAN_TICKS)  # the line is clean now
    assert line.jb.target == 0
    last = sorted(line.played_at)[-50:]
    assert max(line.wait_ms(n) for n in last) < 20  # back to the first tick after arrival
    assert played(line.out)[-50:] == last  # still in order


def test_silence_suppression_pause_is_not_counted_as_jitter() -> None:
    line = Line(lambda n: 0.001)
    line.run(100)
    line.run(50, sending=False)  # 1 s without packets
    out = line.run(100)
    assert played(out) == list(range(100, line.sent))
    assert line.jb.stats.underruns == 0 and line.jb.target == 0
    assert max(line.wait_ms(n) for n in range(100, line.sent)) < 20


def test_a_key_press_is_not_counted_as_jitter() -> None:
    line = Line(lambda n: None if 50 <= n < 60 else 0.001)  # RFC 4733 events take sequence numbers 50-59
    out = line.run(100)
    assert out[50:61] == ["s"] * 10 + [60]  # the audio after the press plays on time
    assert line.jb.stats.underruns == line.jb.stats.concealed == 0 and line.jb.target == 0


def test_jitter_buffer_restarts_when_a_paused_sender_starts_over() -> None:
    jb = JitterBuffer("PCMU")
    for seq in range(100, 103):
        jb.push(seq, speech(seq), seq * 160, seq * 0.02)
    assert [jb.pop() for _ in range(3)] == [speech(100), speech(101), speech(102)]
    for _ in range(10):  # 200 ms of nothing
        jb.pop()
    jb.push(100, speech(7), 0, 3.0)  # the same recording played again: an older sequence number
    assert jb.pop() == speech(7) and jb.stats.late == 0


def test_duplicate_packet_plays_once() -> None:
    jb = JitterBuffer("PCMU")
    for seq in (5, 5, 6):
        jb.push(seq, speech(seq), seq * 160, seq * 0.02)
    assert [jb.pop() for _ in range(3)] == [speech(5), speech(6), SILENCE]
    assert jb.stats.duplicates == 1
