"""A small jitter buffer: reorders G.711 packets by sequence number and conceals loss.

The playout side pulls one 20 ms frame per tick. A missing packet is replaced by the previous
frame at lower level (once), then silence; a late packet (already played past) is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from telephony import codecs
from telephony.rtp.packet import seq_newer

IDLE_RESYNC_FRAMES = 10  # 200 ms without packets: an older sequence number starts a new stream


@dataclass
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0
    late: int = 0
    duplicates: int = 0


@dataclass
class JitterBuffer:
    codec: str
    depth: int = 3  # frames held before playout starts: absorbs up to ~60 ms of jitter
    frame_samples: int = 160
    max_frames: int = 50  # 1 s: beyond this the oldest frames go (the sender is far ahead)
    stats: JitterStats = field(default_factory=JitterStats)
    _frames: dict[int, bytes] = field(default_factory=dict)
    _next: int | None = None
    _started: bool = False
    _last: bytes = b""
    _concealed_run: int = 0
    _idle: int = 0  # pops in a row with nothing queued

    def push(self, seq: int, payload: bytes) -> None:
        self.stats.received += 1
        if self._next is not None and self._started and not seq_newer(seq, (self._next - 1) & 0xFFFF):
            # Behind us: late, unless the sender restarted its sequence (far back, or after a pause:
            # a new stream or a replayed recording), then start over from it.
            if ((self._next - seq) & 0xFFFF) > 1000 or self._idle >= IDLE_RESYNC_FRAMES:
                self._resync(seq)
            else:
                self.stats.late += 1
                return
        if self._started and not self._frames and ((seq - self._next) & 0xFFFF) > self.depth:
            self._next = seq  # new talkspurt after the sender paused: don't conceal the whole gap
        if seq in self._frames:
            self.stats.duplicates += 1
            return
        self._frames[seq] = payload
        if self._next is None or (not self._started and seq_newer(self._next, seq)):
            self._next = seq
        while len(self._frames) > self.max_frames:
            self._drop_oldest()

    def pop(self) -> bytes:
        """The next frame of encoded audio (real, concealed or silence); call once per 20 ms."""
        if not self._started:
            if len(self._frames) < self.depth:
                return self._silence()
            self._started = True
        assert self._next is not None
        frame = self._frames.pop(self._next, None)
        if frame is None and not self._frames:
            self._idle += 1
            return self._silence()  # nothing queued: the caller is not sending (or we underran)
        self._idle = 0
        self._next = (self._next + 1) & 0xFFFF
        if frame is None:
            self.stats.concealed += 1
            return self._conceal()
        self.stats.played += 1
        self._last, self._concealed_run = frame, 0
        return frame

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
        self._next, self._started, self._idle = seq, False, 0
