"""The adaptive jitter buffer on simulated lines: a packet every 20 ms from the caller, each arriving when the
line delivers it, and the bot's clock pulling one frame every 20 ms. What the caller's audio sounds like to
the pipeline (order, gaps, concealment) and how long each packet waits before it plays."""

from __future__ import annotations

import random
from collections.abc import Callable

from telephony.rtp.jitter import CLEAN_TICKS, MIN_RESERVE, JitterBuffer

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
    their wrap.

    `stalled(tick)`: the bot's event loop is blocked at that tick (the bot speaking: synthesis, a transcript).
    The RTP clock thread still queues its ticks' pulls; when the loop runs again they run first, then the
    packets that came meanwhile are read (asyncio runs the callbacks already queued before it reads the
    sockets), stamped with the time they are read."""

    SEQ0, TS0 = 65530, 0xFFFFFFFF - 800

    def __init__(self, delay: Callable[[int], float | None], quiet: Callable[[int], bool] = lambda n: False,
                 phase: float = 0.010, stalled: Callable[[int], bool] = lambda tick: False,
                 min_depth: int = MIN_RESERVE) -> None:
        self.jb = JitterBuffer("PCMU", min_depth=min_depth)
        self.delay, self.quiet, self.phase, self.stalled = delay, quiet, phase, stalled
        self.sent = 0
        self.ts_offset = 0
        self.played_at: dict[int, int] = {}  # frame n -> tick it played at
        self.arrived: dict[int, float] = {}
        self.out: list[int | str] = []  # per tick: frame n, "s"ilence or "c"oncealment
        self._names: dict[bytes, int] = {}
        self._in_flight: list[tuple[float, int, int]] = []  # (arrival, n, timestamp)
        self._pulls: list[int] = []  # ticks whose pull waits for the event loop
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
            self._pulls.append(self.tick)
            now = sent_at + self.phase
            if not self.stalled(self.tick):
                stall = len(self._pulls) > 1
                if stall:  # the loop wakes up: the queued pulls first
                    self._pull_queued()
                self._in_flight.sort()
                while self._in_flight and self._in_flight[0][0] <= now:
                    at, n, ts = self._in_flight.pop(0)
                    payload = pause(n) if self.quiet(n) else speech(n)
                    self._names[payload] = n
                    self.arrived[n] = at
                    self.jb.push((self.SEQ0 + n) & 0xFFFF, payload, ts & 0xFFFFFFFF, now if stall else at)
                self._pull_queued()
            self.tick += 1
        return self.out[start:]

    def _pull_queued(self) -> None:
        for tick in self._pulls:
            frame = self.jb.pop()
            label = self._names.get(frame, "s" if frame == SILENCE else "c")
            if isinstance(label, int):
                self.played_at[label] = tick
            self.out.append(label)
        self._pulls.clear()

    def wait_ms(self, n: int) -> float:
        """How long frame n waited in the buffer: from its arrival to the tick that played it."""
        return (self.phase + self.played_at[n] * 0.020 - self.arrived[n]) * 1000


def played(labels: list[int | str]) -> list[int]:
    return [x for x in labels if isinstance(x, int)]


def test_clean_line_plays_each_packet_a_tick_after_the_first_tick_after_it_arrives() -> None:
    line = Line(lambda n: 0.001)
    assert played(line.run(200)) == list(range(line.sent - 1))  # in order, across the 16-bit wrap; one held
    assert max(line.wait_ms(n) for n in line.played_at) < 40  # a fixed 3-frame buffer waited 40-60 ms
    assert line.jb.stats.concealed == line.jb.stats.late == 0 and line.jb.target == MIN_RESERVE


def test_packets_swapped_within_a_tick_play_in_order() -> None:
    line = Line(lambda n: 0.006 if n % 7 == 3 else 0.001, phase=0.015)  # every 7th lands after the next one
    assert played(line.run(100)) == list(range(line.sent - 1))
    assert line.jb.stats.concealed == line.jb.stats.waited == 0


def test_a_packet_late_by_less_than_the_reserve_plays_on_time() -> None:
    line = Line(lambda n: 0.025 if n == 50 else 0.001)  # 15 ms after its tick: the reserve's frame covers it
    out = line.run(150)
    assert played(out) == list(range(len(played(out)))) and "s" not in out[1:]
    assert line.jb.stats.underruns == line.jb.stats.waited == 0 and line.jb.target == MIN_RESERVE


def test_a_late_stream_is_waited_for_and_the_buffer_keeps_a_frame_more() -> None:
    line = Line(lambda n: {50: 0.045, 51: 0.025}.get(n, 0.001))  # both held up, arriving together after 50's slot
    out = line.run(150)
    assert out[out.index(49) + 1:out.index(49) + 3] == ["s", 50]  # ran dry a tick, then it played
    assert played(out) == list(range(len(played(out))))  # nothing lost
    assert line.jb.stats.underruns == 1 and line.jb.target == 2
    assert 40 <= line.wait_ms(140) < 60  # a frame more of reserve from then on


def test_a_packet_overtaken_by_the_next_is_waited_for_a_tick() -> None:
    line = Line(lambda n: 0.045 if n == 50 else 0.001)  # 51 came first, 50 a tick after its slot
    out = line.run(150)
    assert out[out.index(49) + 1:out.index(49) + 3] == ["c", 50]  # a quieter copy of 49 while it waits
    assert played(out) == list(range(len(played(out))))  # nothing lost
    assert line.jb.stats.waited == 1 and line.jb.stats.late == line.jb.stats.concealed == 0
    assert line.jb.target == 2 and 40 <= line.wait_ms(140) < 60  # a frame more of reserve from then on


def test_a_packet_later_than_its_successor_is_concealed_and_dropped_then_the_buffer_grows() -> None:
    # Frame 50 arrives 70 ms late, long after frame 51; the pause from frame 60 on lets the buffer grow without
    # stretching a word.
    line = Line(lambda n: 0.070 if n == 50 else 0.001, quiet=lambda n: n >= 60)
    out = line.run(150)
    assert out[out.index(49) + 1:out.index(49) + 4] == ["c", "s", 51]  # waited a tick, then its slot concealed
    assert 50 not in out and line.jb.stats.late == line.jb.stats.waited == 1 and line.jb.target == 2
    assert played(out) == [n for n in range(line.sent) if n != 50][: len(played(out))]
    assert 40 <= line.wait_ms(140) < 60  # a frame more of reserve from then on


def test_lost_packet_is_concealed_once_then_silence() -> None:
    line = Line(lambda n: None if n in (20, 21) else 0.001)
    out = line.run(60)
    assert out[20:26] == [19, "s", "s", "c", "s", 22]  # ran dry; 22 came, a tick later a quieter 19, silence
    assert line.jb.stats.concealed == 2 and line.jb.stats.underruns == line.jb.stats.waited == 0  # lost, not late
    assert line.jb.target == MIN_RESERVE  # so no reserve for it

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


def test_jittery_line_loses_nothing_once_settled_and_the_reserve_comes_back_when_it_is_clean() -> None:
    rng = random.Random(13)
    jitter = {n: rng.uniform(0.0, 0.050) for n in range(3000)}
    clean_from = 1000
    line = Line(lambda n: 0.001 + (jitter[n] if n < clean_from else 0.0), quiet=lambda n: n % 75 >= 50)
    line.run(500)  # 1 s of speech, 0.5 s of pause, again and again
    lost_before = line.jb.stats.concealed + line.jb.stats.late
    assert 10 < line.jb.jitter_ms < 25  # uniform 0-50 ms: RFC 3550 J ~17 ms
    line.run(500)
    assert line.jb.stats.concealed + line.jb.stats.late == lost_before  # settled: no more gaps in the speech
    line.run(4 * CLEAN_TICKS)  # the line is clean now
    assert line.jb.target == MIN_RESERVE
    last = sorted(line.played_at)[-50:]
    assert max(line.wait_ms(n) for n in last) < 40  # back to a tick after the first tick after arrival
    assert played(line.out)[-50:] == last  # still in order


def test_silence_suppression_pause_is_not_counted_as_jitter() -> None:
    line = Line(lambda n: 0.001)
    line.run(100)
    line.run(50, sending=False)  # 1 s without packets
    out = line.run(100)
    assert played(out) == list(range(100, line.sent - 1))
    assert line.jb.stats.underruns == 0 and line.jb.target == MIN_RESERVE
    assert max(line.wait_ms(n) for n in range(100, line.sent - 1)) < 40


def test_a_key_press_is_not_counted_as_jitter() -> None:
    line = Line(lambda n: None if 50 <= n < 60 else 0.001)  # RFC 4733 events take sequence numbers 50-59
    out = line.run(100)
    assert out[51:62] == ["s"] * 10 + [60]  # the audio after the press plays on time
    assert line.jb.stats.underruns == line.jb.stats.concealed == 0 and line.jb.target == MIN_RESERVE


def test_jitter_buffer_restarts_when_a_paused_sender_starts_over() -> None:
    jb = JitterBuffer("PCMU")
    for seq in range(100, 103):
        jb.push(seq, speech(seq), seq * 160, seq * 0.02)
    assert [jb.pop() for _ in range(3)] == [speech(100), speech(101), speech(102)]
    for _ in range(10):  # 200 ms of nothing
        jb.pop()
    jb.push(100, speech(7), 0, 3.0)  # the same recording played again: an older sequence number
    jb.push(101, speech(8), 160, 3.02)
    assert jb.pop() == speech(7) and jb.stats.late == 0


def test_duplicate_packet_plays_once() -> None:
    jb = JitterBuffer("PCMU")
    for seq in (5, 5, 6):
        jb.push(seq, speech(seq), seq * 160, seq * 0.02)
    assert [jb.pop() for _ in range(3)] == [speech(5), speech(6), SILENCE]
    assert jb.stats.duplicates == 1


def talk_over(min_depth: int) -> Line:
    """A caller talking over the bot on a clean local line (the phone test's sipp): 6 s of speech with short
    quiet gaps between words; sipp sends some packets in pairs and, now and then, one overtaken by the next;
    the bot speaking stalls the event loop for a tick every 140 ms, and twice for 60 ms."""
    rng = random.Random(11)
    stalls = set(range(5, 300, 7)) | {100, 101, 102, 200, 201, 202}
    bursty = {n for n in range(300) if rng.random() < 0.15}  # held back until the next one is sent
    overtaken = {n for n in range(300) if rng.random() < 0.05}  # arrives 3 ms after the next one

    def delay(n: int) -> float:
        return 0.021 if n in bursty else 0.024 if n in overtaken else 0.001

    return Line(delay, quiet=lambda n: n % 25 in (12, 13), phase=0.019, stalled=stalls.__contains__,
                min_depth=min_depth)


def gaps(labels: list[int | str]) -> list[int]:
    """Lengths of the runs of silence/concealment between two frames of the caller's audio."""
    runs, run, started = [], 0, False
    for x in labels:
        if isinstance(x, int):
            if started and run:
                runs.append(run)
            run, started = 0, True
        else:
            run += 1
    return runs


def test_a_caller_talking_over_the_bot_is_heard_whole_and_in_order() -> None:
    line = talk_over(MIN_RESERVE)
    out = line.run(300)
    heard = played(out)
    assert heard == sorted(heard) and len(heard) >= 290  # in order
    left_out = set(range(heard[-1])) - set(heard)
    assert all(line.quiet(n) for n in left_out)  # every voiced frame played: only pause frames left out,
    assert len(left_out) == line.jb.stats.shrunk  # and only to bring the reserve back down
    assert line.jb.stats.late == line.jb.stats.concealed == line.jb.stats.duplicates == 0
    assert max(gaps(out)) == 1  # a stall or a burst costs a 20 ms hole at most, never one that ends a turn
    assert line.jb.target <= 3  # the reserve grew only as far as the stalls and bursts needed


def test_event_loop_stalls_cost_one_short_hole_then_the_reserve_covers_them() -> None:
    stalls = set(range(30, 300, 30))  # the bot's event loop busy for a tick now and then
    line = Line(lambda n: 0.001, phase=0.019, stalled=stalls.__contains__)
    out = line.run(300)
    assert played(out) == list(range(len(played(out))))
    assert gaps(out) == [1] and line.jb.target == MIN_RESERVE + 1  # 20 ms at the first stall, then none

    bare = Line(lambda n: 0.001, phase=0.019, stalled=stalls.__contains__, min_depth=0)
    assert gaps(bare.run(300)) == [2]  # the reverted buffer's reserve of none: a 40 ms hole
