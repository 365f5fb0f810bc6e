"""The protocol the dialog engine calls for escalation, defined here by the dialog: plain dataclasses.

After understanding each caller turn, the dialog session feeds a `TurnObservation` to its call's
`EscalationTracker`; the returned `EscalationDecision` says whether to hand over now and why.
voicebot/escalation implements it (`escalation.tracker.make_tracker`); the dialog never imports escalation,
the composition root hands the engine its tracker factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from voicebot.dialog.types import Prosody


@dataclass(frozen=True)
class TurnObservation:
    text: str
    language: str
    intent: str | None
    nlu_confidence: float | None
    asr_confidence: float | None  # None for typed text / DTMF
    no_match: bool  # the flow could not use this turn (out of scope, or slot not understood)
    reprompts: int  # reprompts so far at the current node
    barge_in: bool = False
    prosody: Prosody | None = None
    # Heard at a closing node ("anything else?") from a served caller: the flow handles unclear words there (asks
    # once more, then a polite goodbye), so calm ones are no reason for a transfer; trouble signals still are.
    closing: bool = False
    # The flow ended the call on this turn as the caller's goodbye (a "no" to "anything else?", a "bye"), whatever
    # the classifier made of the words: "nie, przecież już mówiłam" is a no to the flow but no intent to the NLU.
    ends_call: bool = False


@dataclass
class EscalationDecision:
    transfer: bool
    reason: str | None = None  # e.g. "explicit_request", "frustration", "low_confidence", "system_fault"
    frustration: float = 0.0
    confidence: float = 1.0  # combined ASR x NLU confidence of this turn
    signals: dict[str, float] = field(default_factory=dict)  # signal name -> contribution
    explanation: str = ""  # one human-readable sentence for the supervisor
    # The reason is the caller's own words' (smoke and sparks, a takeover, a bereavement, a caller leaving for a
    # competitor): it wins over the routine one the flow's own transfer gives the same turn ("it sparks" is a
    # technical_fault to the NLU, "I'm closing my account, third delay" a complaint).
    own_reason: bool = False


class EscalationTracker(Protocol):
    """Per-call state: history of confidence and frustration."""

    def observe(self, obs: TurnObservation) -> EscalationDecision: ...

    def history(self) -> list[dict]:
        """Per-turn confidence/frustration/signals, for the handoff package."""
        ...
