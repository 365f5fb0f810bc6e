"""Per-call escalation tracker: one `observe()` per caller turn -> hand over now, and why.

Triggers, in order of precedence (the reason vocabulary):
  explicit_request  the caller asked for a person (lexicon), or the NLU recognised such an intent
  <category>        a lexicon category marked `transfers` fired (safety_hazard, bereavement, legal_threat)
  (any of the below, when a category marked `names_reason` fired in the turn: that category, e.g. churn_threat)
  complaint         an intent the policy maps to a reason (transfer_intents), e.g. the dialog's complaint
  frustration       the frustration score reached frustration_threshold, or a "goodbye" came with
                    sarcasm, swearing or a frustration phrase (the bot must not hang up on an angry caller)
  repeated_request  the caller repeated the same request repeat_turns times
  low_confidence    low_confidence_turns consecutive turns with NLU confidence under the minimum, or with ASR
                    confidence under the minimum when the turn was not understood either (no match)
  no_match          no_match_turns consecutive turns the flow could not use
Neither of the last two for a calm turn at a closing node (`TurnObservation.closing`: a served caller at "anything
else?"): the flow asks about unclear words once and then says a goodbye that leaves the door open, instead of a
person's time. A turn there with swearing, sarcasm or frustration in it, or words of the lexicons scoring half-way to
the threshold, is trouble (the bot's re-ask, barge-in and prosody alone are not): the counts apply as anywhere
("powtarzasz w kółko to samo bez sensu" is not a goodbye).
`system_fault` is decided by voicebot/call_session.py when a component fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from voicebot.config import EscalationSettings, Settings
from voicebot.dialog.escalation import EscalationDecision, TurnObservation
from voicebot.escalation.frustration import FrustrationScorer, TurnScore
from voicebot.escalation.lexicon import EXPLICIT_REQUEST, Lexicon
from voicebot.escalation.policy import EscalationConfigError, lexicons_for, resolve_policy

log = logging.getLogger(__name__)
# Lexicon categories that make a "goodbye" suspicious (mild swearing alone does not: "kurczę, dzięki, pa").
ANGRY_CATEGORIES = frozenset({"swearing", "frustration", "sarcasm"})


@dataclass
class Tracker:
    policy: EscalationSettings
    lexicons: dict[str, Lexicon]
    low_streak: int = 0
    no_match_streak: int = 0
    repeats: int = 0
    _scorer: FrustrationScorer = field(init=False)
    _history: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._scorer = FrustrationScorer(self.policy, self.lexicons)

    def observe(self, obs: TurnObservation) -> EscalationDecision:
        p = self.policy
        asr_low = obs.asr_confidence is not None and obs.asr_confidence < p.asr_confidence_min
        # NLU confidence matters only for a turn taken as an intent: a slot answer ("48152") has no intent
        # and a meaningless intent score, and a turn the flow could not use is a no-match instead.
        nlu_low = (obs.intent is not None and obs.nlu_confidence is not None
                   and obs.nlu_confidence < p.nlu_confidence_min)
        no_match = obs.no_match or (obs.intent in p.no_match_intents) or (
            p.silence_is_no_match and not obs.text.strip())
        # Understood = the flow used the words (a slot filled, a confident intent). On a phone line whisper's
        # score of a right transcript is often low (bench/phone.py prints the calibration), so a low ASR score
        # counts only for a turn the bot could not make sense of; that one is re-asked first (the flow).
        asr_low = asr_low and (no_match or nlu_low)
        self.low_streak = self.low_streak + 1 if (asr_low or nlu_low) else 0
        self.no_match_streak = self.no_match_streak + 1 if no_match else 0
        confidence = round((1.0 if obs.asr_confidence is None else obs.asr_confidence)
                           * (1.0 if obs.nlu_confidence is None else obs.nlu_confidence), 3)

        turn = self._scorer.score(obs)
        if turn.repeated:
            self.repeats += 1
        reason, why = _named(*self._trigger(obs, turn, asr_low), turn, frozenset(self.policy.transfer_intents.values()))
        decision = EscalationDecision(
            transfer=reason is not None, reason=reason, frustration=turn.score, confidence=confidence,
            signals=turn.contributions(), explanation=self._explain(reason, why, turn),
            own_reason=reason in turn.hits and (turn.hits[reason].transfers or turn.hits[reason].names_reason),
        )
        self._history.append({
            # No caller text here: the transcript (PII-redacted by the store) has it.
            "turn": len(self._history) + 1, "language": obs.language, "intent": obs.intent,
            "asr_confidence": obs.asr_confidence, "nlu_confidence": obs.nlu_confidence, "confidence": confidence,
            "low_confidence": asr_low or nlu_low, "no_match": no_match, "frustration": turn.score,
            "signals": decision.signals, "why": {s.name: s.why for s in turn.signals},
            "transfer": decision.transfer, "reason": reason, "explanation": decision.explanation,
        })
        return decision

    def history(self) -> list[dict]:
        return [dict(h) for h in self._history]

    def _trigger(self, obs: TurnObservation, turn: TurnScore, asr_low: bool) -> tuple[str | None, str]:
        p = self.policy
        if p.explicit_request_transfers and EXPLICIT_REQUEST in turn.hits:
            said = ", ".join(f"“{m}”" for m in turn.hits[EXPLICIT_REQUEST].matched)
            return "explicit_request", f"the caller asked for a person ({said})"
        for name, hit in turn.hits.items():
            if hit.transfers:  # a hazard, a bereavement, a legal threat: a person, whatever the score
                said = ", ".join(f"“{m}”" for m in hit.matched)
                return name, f"the caller said {said} ({name})"
        if obs.intent and obs.intent in p.transfer_intents:
            reason = p.transfer_intents[obs.intent]
            # "Nie potrzebuję konsultanta…" looks like talk_to_human to a bag-of-words NLU; the caller said no.
            if not (reason == "explicit_request" and EXPLICIT_REQUEST in turn.negated):
                return reason, f"intent {obs.intent} always goes to a person"
        if turn.score >= p.frustration_threshold:
            return "frustration", f"frustration {turn.score:.2f} ≥ {p.frustration_threshold:.2f}"
        angry = sorted(set(turn.hits) & ANGRY_CATEGORIES)
        if (obs.intent in p.closing_intents or obs.ends_call) and angry and turn.score >= p.frustration_threshold / 2:
            # "Great, just great." can look like a goodbye to the NLU, and "nie, przecież już mówiłam" is a no to
            # "anything else?" that ends the call (ends_call) though the NLU names no intent: hanging up on an
            # angry caller is the worst outcome, a person picking up one who really wanted to leave costs little.
            return "frustration", (f"the bot heard a goodbye ({obs.intent}) said with {', '.join(angry)}: "
                                   "a person follows up instead of the bot hanging up")
        if p.repeat_turns and self.repeats >= p.repeat_turns:
            return "repeated_request", f"the caller repeated the same request {self.repeats}x"
        # Calm = no trouble in the words. The bot's own re-ask, a caller speaking over the goodbye, a louder or
        # higher "that's what I thought" are not trouble after the task was done (phone_blind15 en-b3: a served
        # caller's garbled "oh good" re-asked, then reprompt + prosody 0.4 sent them to a person).
        worded = sum(s.contribution for s in turn.signals if s.name in turn.hits)
        if obs.closing and not angry and worded < p.frustration_threshold / 2:
            return None, ""  # unclear words of a served, calm caller: the flow's to handle (see the docstring)
        low = self.low_streak >= p.low_confidence_turns
        nomatch = self.no_match_streak >= p.no_match_turns
        # When both fire, say which side failed: the bot not hearing (ASR) or not understanding (flow/NLU).
        if low and (asr_low or not nomatch):
            return "low_confidence", f"{self.low_streak} turns in a row with low recognition confidence"
        if nomatch:
            return "no_match", f"{self.no_match_streak} turns in a row the bot could not understand"
        return None, ""

    def _explain(self, reason: str | None, why: str, turn: TurnScore) -> str:
        parts = [f"{s.name} +{s.contribution:.2f} ({s.why})" for s in turn.signals]
        signals = "; ".join(parts) if parts else "no frustration signals"
        if reason:
            return f"Transfer ({reason}): {why}. Frustration {turn.score:.2f}: {signals}."
        p = self.policy
        return (f"No transfer: frustration {turn.score:.2f} < {p.frustration_threshold:.2f} ({signals}); "
                f"low confidence {self.low_streak}/{p.low_confidence_turns}, "
                f"no-match {self.no_match_streak}/{p.no_match_turns}.")


def _named(reason: str | None, why: str, turn: TurnScore, intent_reasons: frozenset[str]) -> tuple[str | None, str]:
    """A caller handed over for trouble (frustration, a complaint, not being understood) in a turn where a
    `names_reason` category fired goes with that category's name: "I'm done, I'm taking my business to your
    competitor" is a churn threat for the retention line, not just frustration. A request for a person and a
    category that transfers at once say more and keep their reason."""
    if reason is None or reason == EXPLICIT_REQUEST or (reason in turn.hits and turn.hits[reason].transfers):
        return reason, why
    named = next((h for h in turn.hits.values() if h.names_reason and h.category not in ANGRY_CATEGORIES), None)
    if named is None and reason not in intent_reasons:
        # Swearing names a transfer its words caused (frustration, not understood), not one the caller's request
        # chose: "this fucking kettle is broken" stays a complaint for the complaints line.
        named = next((h for h in turn.hits.values() if h.names_reason), None)
    if named is None:
        return reason, why
    said = ", ".join(f"“{m}”" for m in named.matched)
    return named.category, f"{why}; the caller said {said} ({named.category})"


def make_tracker(settings: Settings, flow: Any = None, *, lexicons: dict[str, Lexicon] | None = None) -> Tracker:
    """A fresh tracker for one call of `flow` (whose settings.escalation may override the policy).

    Called as a call starts, so a bad override must not stop the call: it is logged and the process-wide
    policy applies. (`resolve_policy` raises instead, for flow validation and publishing.)
    """
    try:
        policy = resolve_policy(settings.escalation, flow)
    except EscalationConfigError as exc:
        log.error("%s; using the [escalation] settings for this call", exc)
        policy = settings.escalation
    if lexicons is None:
        lexicons = lexicons_for(settings.path(policy.lexicons_dir))
    return Tracker(policy, lexicons)

