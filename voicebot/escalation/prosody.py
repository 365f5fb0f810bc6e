"""Prosody signals: is the caller louder, higher-pitched or faster than they were at the start of the call?

Voices differ far more between people than within one angry person, so every feature is compared with
this caller's own first turns (the baseline), never with a global norm. Until a baseline exists (the
first turn) prosody contributes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

from voicebot.dialog.types import Prosody

# (start, full): a rise below `start` contributes nothing, at `full` or more the whole weight.
LOUDNESS_DB = (3.0, 12.0)  # dB above the baseline; +6 dB is clearly raised, +12 dB is shouting
PITCH_RATIO = (1.1, 1.4)  # F0 relative to the baseline
RATE_RATIO = (1.15, 1.5)  # words per second relative to the baseline
MIN_DURATION_S = 0.3  # shorter turns ("yes") give unreliable pitch and rate
SILENCE_DB = -60.0


def _ramp(value: float, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return min(1.0, max(0.0, (value - lo) / (hi - lo)))


@dataclass(frozen=True)
class ProsodySignal:
    name: str  # loudness | pitch | speech_rate
    contribution: float
    why: str


@dataclass
class ProsodyBaseline:
    """The caller's own first `size` usable turns; later turns are compared with their medians."""

    size: int
    samples: list[Prosody] = field(default_factory=list)

    def observe(self, p: Prosody | None, weights: dict[str, float]) -> list[ProsodySignal]:
        """Score `p` against the baseline so far, then (while the baseline is still forming) add it."""
        if p is None or p.duration_s < MIN_DURATION_S or p.rms_db <= SILENCE_DB:
            return []
        signals = self._score(p, weights) if self.samples else []
        if len(self.samples) < self.size:
            self.samples.append(p)
        return signals

    def _score(self, p: Prosody, weights: dict[str, float]) -> list[ProsodySignal]:
        out: list[ProsodySignal] = []
        base_db = median(s.rms_db for s in self.samples)
        rise = p.rms_db - base_db
        if (frac := _ramp(rise, LOUDNESS_DB)) > 0:
            out.append(ProsodySignal("loudness", weights.get("loudness", 0) * frac,
                                     f"{rise:+.1f} dB louder than the caller's first turns"))
        pitches = [s.pitch_hz for s in self.samples if s.pitch_hz > 0]
        if p.pitch_hz > 0 and pitches:
            ratio = p.pitch_hz / median(pitches)
            if (frac := _ramp(ratio, PITCH_RATIO)) > 0:
                out.append(ProsodySignal("pitch", weights.get("pitch", 0) * frac,
                                         f"pitch {p.pitch_hz:.0f} Hz, {ratio:.2f}x the caller's first turns"))
        rates = [s.speech_rate for s in self.samples if s.speech_rate > 0]
        if p.speech_rate > 0 and rates:
            ratio = p.speech_rate / median(rates)
            if (frac := _ramp(ratio, RATE_RATIO)) > 0:
                out.append(ProsodySignal("speech_rate", weights.get("speech_rate", 0) * frac,
                                         f"{p.speech_rate:.1f} words/s, {ratio:.2f}x the caller's first turns"))
        return [s for s in out if s.contribution > 0]
