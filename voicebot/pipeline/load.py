"""How loaded the speech side is, and whether a new call can still be answered in time (admission control).

Above capacity, queueing every caller's turns behind everyone else's makes every call slow: answers arrive
seconds late and callers talk over them. Instead a new call is turned away politely ("all lines are busy",
then a person or a callback) while finished turns wait longer than `asr.admit_queue_delay_ms` for speech
recognition. The measure is the one callers feel: how long a finished turn waits for a whisper worker.
It lags a burst of arrivals, though (a call's first turn comes seconds after it is answered, and by then the
burst is in), so the calls served at once are also capped at what the host was measured to serve in time
(`asr.calls_per_core`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SLOW_TURN_MS = 1000.0  # a caller waiting longer than this for the answer notices


class QueueDelay(Protocol):
    def queue_delay_s(self) -> float: ...


@dataclass
class CallLoad:
    """Counters of the calls this process serves; shared by every call (used from the event loop only)."""

    asr: QueueDelay
    admit_queue_delay_ms: int  # 0 = admit every call
    max_served: int = 0  # calls served by the bot at once (busy-path calls not counted); 0 = no cap
    active: int = 0
    served: int = 0
    turns: int = 0
    slow_turns: int = 0  # answered more than SLOW_TURN_MS after the caller stopped speaking
    turned_away: int = 0

    def admit(self) -> bool:
        """Can a new call be served in time? (False: give it the busy path.)"""
        if self.max_served and self.served >= self.max_served:
            return False
        if not self.admit_queue_delay_ms:
            return True
        return self.asr.queue_delay_s() * 1000 <= self.admit_queue_delay_ms

    def call_started(self, admitted: bool) -> None:
        """Count a call from `admit()` on (no await between them: two arrivals cannot both take the last place)."""
        self.active += 1
        self.served += admitted
        self.turned_away += not admitted

    def call_ended(self, admitted: bool) -> None:
        self.active -= 1
        self.served -= admitted

    def turn_answered(self, first_audio_ms: float) -> None:
        self.turns += 1
        self.slow_turns += first_audio_ms > SLOW_TURN_MS

    def prometheus_metrics(self) -> list[tuple[str, str, str, float]]:
        return [
            ("voicebot_asr_queue_delay_seconds", "gauge",
             "How long a caller's finished turn waits for a whisper worker now: the recent turns' waits smoothed "
             "(half-life 5 s), or the longest wait of a turn still queued if longer. Admission control compares it "
             "with asr.admit_queue_delay_ms.",
             self.asr.queue_delay_s()),
            ("voicebot_calls_active", "gauge", "Calls connected to the bot now (busy-path calls included).",
             self.active),
            ("voicebot_calls_served", "gauge",
             f"Calls the bot serves now (busy-path calls not counted; at most {self.max_served or 'any'}).",
             self.served),
            ("voicebot_calls_turned_away_total", "counter",
             "New calls answered with the busy message: speech recognition overloaded, or asr.calls_per_core "
             "x cores calls already served.",
             self.turned_away),
            ("voicebot_turns_total", "counter", "Caller turns answered.", self.turns),
            ("voicebot_turns_over_1s_total", "counter",
             "Caller turns answered more than 1 s after the caller stopped speaking.", self.slow_turns),
        ]
