"""An adaptive jitter buffer: reorders G.711 packets by sequence number, conceals loss, and holds only as
much of the caller's audio as the line's jitter needs, and never less than one frame.

The playout side pulls one 20 ms frame per tick. Every frame held in reserve is delay added to the end of
each caller turn, so on a clean line a packet plays one tick after the first tick after it arrives: a
reserve of MIN_RESERVE frame (the fixed buffer held 3, 40-60 ms). Not none: the ticks are pulled on the
event loop, and when the loop stalls (the bot speaking: speech synthesis, a speculative transcript) the
ticks queued meanwhile run before the packets that came meanwhile are read, so with no reserve every stall
put a gap in the caller's speech; one talked over the bot had its sentence split in two turns (issue 13).

The target reserve grows with the line's jitter: RFC 3550's interarrival jitter estimate (section 6.4.1;
the reserve covers about twice it), and one frame for each packet that came too late (dropped after its
slot was played, waited for while its successors were already here, or one the buffer ran dry waiting
for); each such frame is given back after CLEAN_TICKS without another. The buffer moves towards its target
only on quiet frames: it plays silence in place of one to grow (at most one frame per pause, so a short
pause between words never becomes a long one), and leaves one out to shrink, so changing it never
stretches or cuts a word. Running dry grows it at once: play resumes only when the reserve is back.

A missing packet whose successors are here is waited for one tick (a packet overtaken by the next one),
then replaced by the previous frame at lower level (once), then silence; a late packet (already played
past) is dropped. Pure: the caller passes each packet's arrival time; nothing here awaits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from telephony import codecs
from telephony.rtp.packet import seq_newer

FRAME_MS = 20
MIN_RESERVE = 1  # frames always held behind the one playing (see the module docstring)
IDLE_RESYNC_FRAMES = 10  # 200 ms without packets: an older sequence number starts a new stream
TALKSPURT_GAP_FRAMES = 3  # an empty buffer and a packet this far ahead: a new talkspurt, not a loss to conceal
JITTER_MULTIPLE = 2  # reserve ~2x the RFC 3550 jitter, late packets add more (simulated: 4x held more, lost no less)
CLEAN_TICKS = 500  # 10 s without a late packet gives back one frame of reserve
SHRINK_TICKS = 10  # more than the reserve held for 200 ms in a row: one quiet frame goes (a pause is shortened)
QUIET_PEAK = 328  # -40 dBFS: a frame whose peak is below this is line silence (bench/_sip_caller.py's threshold)
MAX_TRANSIT_STEP_S = 1.0  # a bigger jump in transit time is a new timestamp base, not jitter


@dataclass
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0
    late: int = 0  # dropped: arrived after its slot was played
    duplicates: int = 0
    underruns: int = 0  # the next packet of a running stream came after the buffer ran dry
    grown: int = 0  # quiet frames of silence inserted to build up the reserve
    waited: int = 0  # ticks waited for a missing packet whose successors were here
    shrunk: int = 0  # quiet frames left out to bring the reserve down


@dataclass
class JitterBuffer:
    codec: str
    frame_samples: int = 160
    min_depth: int = MIN_RESERVE
    max_depth: int = 10  # frames of reserve at most (200 ms), however bad the line
    max_frames: int = 50  # 1 s: beyond this the oldest frames go (the sender is far ahead)
    stats: JitterStats = field(default_factory=JitterStats)
    _frames: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # seq -> (payload, timestamp)
    _next: int | None = None
    _started: bool = False
    _last: bytes = b""
    _played: tuple[int, int] | None = None  # (seq, timestamp) of the last frame played
    _concealed_run: int = 0
    _idle: int = 0  # pops in a row with nothing queued
    _jitter: float = 0.0  # RFC 3550 J, in timestamp units
    _prev: tuple[int, int, float] | None = None  # (seq, timestamp, arrival s) of the last packet received
    _late_frames: int = 0  # reserve owed to late packets and underruns
    _clean: int = 0  # ticks since the last of them
    _over: int = 0  # ticks in a row with more than the reserve held
    _waited_for: int | None = None  # the missing packet waited for a tick (at most one tick each)
    _grew_in_pause: bool = False  # a frame was grown in the current pause (quiet run): at most one each

    @property
    def jitter_ms(self) -> float:
        return self._jitter * FRAME_MS / self.frame_samples

    @property
    def target(self) -> int:
        """Frames to hold in reserve behind the one playing."""
        from_jitter = int(JITTER_MULTIPLE * self._jitter / self.frame_samples)
        return min(self.max_depth, max(self.min_depth + self._late_frames, from_jitter))

    def push(self, seq: int, payload: bytes, timestamp: int, arrival: float) -> None:
        """One packet of the caller's audio: its RTP sequence number and timestamp, and when it arrived
        (seconds, any monotonic clock)."""
        self.stats.received += 1
        prev, self._prev = self._prev, (seq, timestamp, arrival)
        self._measure(prev, timestamp, arrival)
        if self._next is not None and self._started and not seq_newer(seq, (self._next - 1) & 0xFFFF):
            # Behind us: late, unless the sender restarted its sequence (far back, or after a pause:
            # a new stream or a replayed recording), then start over from it.
            if ((self._next - seq) & 0xFFFF) > 1000 or self._idle >= IDLE_RESYNC_FRAMES:
                self._resync(seq)
            else:
                self.stats.late += 1
                self._owe_frame()
                return
        if self._started and not self._frames and ((seq - self._next) & 0xFFFF) > TALKSPURT_GAP_FRAMES:
            self._next = seq  # new talkspurt after the sender paused: don't conceal the whole gap
        if seq in self._frames:
            self.stats.duplicates += 1
            return
        self._frames[seq] = (payload, timestamp)
        if self._next is None or (not self._started and seq_newer(self._next, seq)):
            self._next = seq
        while len(self._frames) > self.max_frames:
            self._drop_oldest()

    def pop(self) -> bytes:
        """The next frame of encoded audio (real, concealed or silence); call once per 20 ms."""
        if not self._started:
            if len(self._frames) <= self.target:
                return self._silence()
            self._started = True
        assert self._next is not None
        self._tick()
        entry = self._frames.get(self._next)
        if entry is None and not self._frames:
            self._idle, self._over = self._idle + 1, 0
            return self._silence()  # nothing queued: the caller is not sending (or we underran)
        if self._idle and len(self._frames) <= self.target:
            self._idle += 1  # ran dry (a pause, a key press, an underrun): play again once the reserve is back
            return self._silence()
        idle, self._idle = self._idle, 0
        span = ((self._newest() - self._next) & 0xFFFF) + 1  # frames from the one due to the newest held
        self._over = self._over + 1 if span > self.target + 1 else 0
        if entry is None:
            if self._overtaken(span):
                # Only its successors that the reserve holds are here: most likely it was overtaken on the
                # way (the sender's packets come in order otherwise). Wait a tick for it.
                self._waited_for = self._next
                self.stats.waited += 1
                return self._conceal()
            self.stats.concealed += 1
            self._waited_for = None
            self._advance()
            return self._conceal()
        frame, following = entry[0], self._frames.get((self._next + 1) & 0xFFFF)
        if idle and self._follows_played(entry[1]):
            self.stats.underruns += 1  # the stream went on, this packet was late: we ran dry waiting for it
            self._owe_frame()
        if self._waited_for == self._next:
            self._owe_frame()  # it came a tick late: the reserve was too small for this line
            self._waited_for = None
        quiet = self._quiet(frame)
        if not quiet:
            self._grew_in_pause = False
        elif span <= self.target and not self._grew_in_pause:
            self._grew_in_pause, self.stats.grown = True, self.stats.grown + 1
            return self._silence()  # in place of this quiet frame, which plays next tick
        if self._over >= SHRINK_TICKS and following is not None and quiet:
            self._over, self.stats.shrunk = 0, self.stats.shrunk + 1
            del self._frames[self._next]  # left out: the pause is a frame shorter
            self._advance()
            frame = following[0]
        self._played = (self._next, self._frames.pop(self._next)[1])
        self._advance()
        self.stats.played += 1
        self._last, self._concealed_run = frame, 0
        return frame

    def _measure(self, prev: tuple[int, int, float] | None, timestamp: int, arrival: float) -> None:
        """RFC 3550 §6.4.1: J += (|D| - J) / 16, D the change in transit time between two packets received
        one after the other (whatever their order), in timestamp units."""
        if prev is None:
            return
        rate = self.frame_samples * 1000 / FRAME_MS
        sent = ((timestamp - prev[1] + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        d = (arrival - prev[2]) * rate - sent
        if abs(d) <= MAX_TRANSIT_STEP_S * rate:
            self._jitter += (abs(d) - self._jitter) / 16

    def _follows_played(self, timestamp: int) -> bool:
        """The frame due is the very next of the stream: no sequence gap (lost packets, key presses) and no jump
        in time (a talkspurt after a silence-suppressed pause) since the last frame played."""
        assert self._next is not None
        return self._played is not None and self._next == (self._played[0] + 1) & 0xFFFF and \
            timestamp == (self._played[1] + self.frame_samples) & 0xFFFFFFFF

    def _overtaken(self, span: int) -> bool:
        """The frame due is missing, the one before it played, and no more of its successors are here than the
        reserve holds: not waited for yet, it is likely a packet overtaken by the next, not a lost one."""
        assert self._next is not None
        return self._waited_for != self._next and span <= self.target + 1 and self._played is not None and \
            self._next == (self._played[0] + 1) & 0xFFFF

    def _owe_frame(self) -> None:
        self._late_frames, self._clean = min(self._late_frames + 1, self.max_depth), 0

    def _tick(self) -> None:
        self._clean += 1
        if self._clean >= CLEAN_TICKS and self._late_frames:
            self._late_frames, self._clean = self._late_frames - 1, 0

    def _advance(self) -> None:
        assert self._next is not None
        self._next = (self._next + 1) & 0xFFFF

    def _newest(self) -> int:
        assert self._next is not None
        return max(self._frames, key=lambda s: (s - self._next) & 0xFFFF)

    def _quiet(self, frame: bytes) -> bool:
        return int(np.abs(np.frombuffer(codecs.decode(frame, self.codec), dtype="<i2")).max()) < QUIET_PEAK

    def _conceal(self) -> bytes:
        self._concealed_run += 1
        if self._concealed_run > 1 or not self._last:
            return self._silence()
        pcm = np.frombuffer(codecs.decode(self._last, self.codec), dtype="<i2") // 2
        return codecs.encode(pcm.astype("<i2").tobytes(), self.codec)

    def _silence(self) -> bytes:
        return codecs.silence(self.codec, self.frame_samples)

    def _drop_oldest(self) -> None:
        assert self._next is not None
        oldest = min(self._frames, key=lambda s: (s - self._next) & 0xFFFF)
        del self._frames[oldest]
        self._next = (oldest + 1) & 0xFFFF

    def _resync(self, seq: int) -> None:
        self._frames.clear()
        self._next, self._started, self._idle, self._waited_for = seq, False, 0, None

