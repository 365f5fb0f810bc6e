"""Who picked up an outbound call: a person or an answering machine (voicemail).

A person answers with a short "Hello?" (or nothing) and then waits for us; a voicemail greeting talks on
("Hi, you have reached ... please leave a message after the tone") or beeps. So the first audio after the
answer is judged on timing alone, before the bot says a word:

- continuous speech for `greeting_secs` (short gaps under `pause_secs` do not break it) -> machine;
- a steady tone (one frequency holds most of the energy) for `beep_secs` -> machine (the recording beep);
- speech followed by a pause of `pause_secs`, or no speech for `silence_secs` -> human.

Pure numpy on 8 kHz 16-bit PCM, 20 ms frames; the line feeds it what the callee sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["human", "machine"]
RATE = 8000
FRAME = 160  # 20 ms
FRAME_SECS = FRAME / RATE


@dataclass(frozen=True)
class DetectorLimits:
    greeting_secs: float = 3.5
    pause_secs: float = 0.7
    silence_secs: float = 3.0
    beep_secs: float = 0.3
    speech_db: float = -40.0  # a frame louder than this (dBFS) is speech or tone; line noise stays below
    tone_share: float = 0.8  # share of a frame's energy in the strongest frequency (+-1 bin) that makes a tone


class AnsweringMachineDetector:
    def __init__(self, limits: DetectorLimits | None = None) -> None:
        self.limits = limits or DetectorLimits()
        self._rest = np.zeros(0, np.int16)
        self._heard = 0.0  # seconds of audio judged so far
        self._speech_start: float | None = None  # start of the current stretch of speech
        self._quiet = 0.0  # seconds of quiet since the last loud frame
        self._tone = 0.0  # seconds of steady tone in a row
        self._tone_bin = -1
        self.verdict: Verdict | None = None
        self.why = ""

    @property
    def speaking(self) -> bool:
        """Has the callee said anything yet?"""
        return self._speech_start is not None

    def feed(self, pcm: bytes) -> Verdict | None:
        """Add the callee's audio; the verdict once there is one (then further audio changes nothing)."""
        samples = np.concatenate([self._rest, np.frombuffer(pcm, np.int16)])
        usable = len(samples) // FRAME * FRAME
        self._rest = samples[usable:]
        for frame in samples[:usable].reshape(-1, FRAME):
            if self.verdict is None:
                self._frame(frame.astype(np.float64))
        return self.verdict

    def _decide(self, verdict: Verdict, why: str) -> None:
        self.verdict, self.why = verdict, why

    def _frame(self, frame: np.ndarray) -> None:
        lim = self.limits
        self._heard += FRAME_SECS
        loud = self._loud(frame)
        self._track_tone(frame, loud)
        if self._tone >= lim.beep_secs:
            return self._decide("machine", f"a {self._tone:.1f} s tone (a recording beep)")
        if loud:
            if self._speech_start is None:
                self._speech_start = self._heard - FRAME_SECS
            self._quiet = 0.0
            talked = self._heard - self._speech_start
            if talked >= lim.greeting_secs:
                return self._decide("machine", f"{talked:.1f} s of speech without a pause (a greeting)")
            return None
        self._quiet += FRAME_SECS
        if self._speech_start is not None and self._quiet >= lim.pause_secs:
            talked = self._heard - self._quiet - self._speech_start
            return self._decide("human", f"{talked:.1f} s of speech, then a pause")
        if self._speech_start is None and self._heard >= lim.silence_secs:
            return self._decide("human", "silence: waiting for us to speak")
        return None

    def _loud(self, frame: np.ndarray) -> bool:
        rms = np.sqrt(np.mean(frame**2) + 1e-9) / 32768
        return bool(20 * np.log10(rms) > self.limits.speech_db)

    def _track_tone(self, frame: np.ndarray, loud: bool) -> None:
        """A beep: most of each frame's energy in the same narrow band, frame after frame."""
        if not loud:
            self._tone, self._tone_bin = 0.0, -1
            return
        power = np.abs(np.fft.rfft(frame * np.hanning(FRAME))) ** 2
        peak = int(np.argmax(power))
        share = power[max(peak - 1, 0):peak + 2].sum() / (power.sum() + 1e-9)
        steady = share >= self.limits.tone_share and abs(peak - self._tone_bin) <= 1
        self._tone = self._tone + FRAME_SECS if steady else 0.0
        self._tone_bin = peak if share >= self.limits.tone_share else -1

    def greeting_over(self, pcm: bytes) -> bool:
        """After a "machine" verdict: has the greeting (and its beep) ended, i.e. `pause_secs` of quiet? That is
        when a message left on the machine is recorded."""
        frames = np.frombuffer(pcm, np.int16)[: len(pcm) // 2 // FRAME * FRAME].reshape(-1, FRAME)
        for frame in frames.astype(np.float64):
            self._quiet = 0.0 if self._loud(frame) else self._quiet + FRAME_SECS
        return self._quiet >= self.limits.pause_secs

    def timed_out(self) -> Verdict:
        """No verdict from the audio within the caller's patience (e.g. no RTP at all): treat as a person."""
        if self.verdict is None:
            self._decide("human", "no decision in time: assumed a person")
        return self.verdict  # type: ignore[return-value]
