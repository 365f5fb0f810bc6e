"""The caller's frustration, 0..1 per turn, as a sum of named, explainable signal contributions.

Signals: the lexicon categories (swearing, frustration phrases, sarcasm, asking for a person...), the
caller repeating the same request, reprompts at the current node, barge-in, prosody against the caller's
own first turns, and a share of the previous turn's score (anger does not vanish between two turns).
The score is the sum of contributions, capped at 1, so a supervisor can read exactly why it is what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from voicebot.config import EscalationSettings
from voicebot.dialog.escalation import TurnObservation
from voicebot.dialog.text import content_stems
from voicebot.escalation.lexicon import Hit, Lexicon
from voicebot.escalation.prosody import ProsodyBaseline

EXTRA_HIT = 0.6  # each further distinct phrase of a category adds 60 % of its weight...
MAX_EXTRA_HITS = 2  # ...at most twice
REPEAT_LOOKBACK = 3  # compare with this many earlier caller turns
MIN_REQUEST_WORDS = 2  # "tak" said twice is an answer, not a repeated request
MAX_REPROMPTS = 3
MIN_CARRY = 0.05  # smaller left-overs are noise in the explanation, not frustration


@dataclass(frozen=True)
class Signal:
    name: str
    contribution: float
    why: str


@dataclass
class TurnScore:
    score: float
    signals: list[Signal]
    hits: dict[str, Hit]  # lexicon category -> hit
    repeated: bool
    negated: frozenset[str] = frozenset()  # categories the caller explicitly negated ("I don't need an agent")

    def contributions(self) -> dict[str, float]:
        return {s.name: round(s.contribution, 3) for s in self.signals}


@dataclass
class FrustrationScorer:
    """Per-call state of the frustration score."""

    policy: EscalationSettings
    lexicons: dict[str, Lexicon]
    previous: float = 0.0
    requests: list[tuple[frozenset[str], str | None]] = field(default_factory=list)  # (stems, intent)
    prosody: ProsodyBaseline | None = None

    def __post_init__(self) -> None:
        if self.prosody is None:
            self.prosody = ProsodyBaseline(self.policy.prosody_baseline_turns)

    def score(self, obs: TurnObservation) -> TurnScore:
        w = self.policy.signal_weights
        signals: list[Signal] = []
        found = self._lexicon_hits(obs.text, obs.language)
        hits = {k: h for k, h in found.items() if not h.negated}
        for hit in hits.values():
            extra = min(len(hit.matched) - 1, MAX_EXTRA_HITS)
            signals.append(Signal(hit.category, hit.weight * (1 + EXTRA_HIT * extra),
                                  "said " + ", ".join(f"“{m}”" for m in hit.matched)))
        repeated = self._is_repeat(obs.text, obs.intent, stuck=obs.reprompts > 0 or obs.no_match)
        if repeated:
            signals.append(Signal("repetition", w.get("repetition", 0), "repeated an earlier request"))
        if obs.reprompts > 0:
            n = min(obs.reprompts, MAX_REPROMPTS)
            signals.append(Signal("reprompts", w.get("reprompts", 0) * n, f"bot re-asked {obs.reprompts}x here"))
        if obs.barge_in:
            signals.append(Signal("barge_in", w.get("barge_in", 0), "spoke over the bot"))
        assert self.prosody is not None
        signals += [Signal(p.name, p.contribution, p.why) for p in self.prosody.observe(obs.prosody, w)]
        if self.previous * self.policy.frustration_carry >= MIN_CARRY:
            signals.append(Signal("carry_over", self.previous * self.policy.frustration_carry,
                                  f"previous turn's frustration {self.previous:.2f}"))
        signals = [s for s in signals if s.contribution > 0]
        score = round(min(1.0, sum(s.contribution for s in signals)), 3)
        self.previous = score
        return TurnScore(score, signals, hits, repeated, frozenset(k for k, h in found.items() if h.negated))

    def _lexicon_hits(self, text: str, language: str) -> dict[str, Hit]:
        """Hits of every lexicon, the call's language first: Polish callers swear in English too."""
        ordered = sorted(self.lexicons.values(), key=lambda lex: lex.language != language)
        out: dict[str, Hit] = {}
        for lex in ordered:
            for hit in lex.hits(text):
                seen = out.get(hit.category)
                if seen is None or (seen.negated and not hit.negated):
                    out[hit.category] = hit
                elif hit.negated == seen.negated and len(hit.matched) > len(seen.matched):
                    out[hit.category] = replace(hit, weight=max(hit.weight, seen.weight))
        return out

    def _is_repeat(self, text: str, intent: str | None, stuck: bool) -> bool:
        """Most words of the shorter turn shared with an earlier turn of the same (or unknown) intent.

        The intent check keeps "chcę zmienić adres" / "chcę zmienić taryfę" apart; the overlap is taken
        of the shorter turn because a repeat usually comes wrapped ("przecież mówię, gdzie jest paczka").
        Only the previous turn counts while the conversation moves on (`stuck` False): a caller booking a
        second appointment after the first one was served is not repeating themselves.
        """
        current = content_stems(text)
        earlier = self.requests[-REPEAT_LOOKBACK:] if stuck else self.requests[-1:]
        self.requests.append((current, intent))
        if len(current) < MIN_REQUEST_WORDS:
            return False
        for before, before_intent in earlier:
            if intent and before_intent and intent != before_intent:
                continue
            shared = len(current & before)
            if shared >= MIN_REQUEST_WORDS and shared / min(len(current), len(before)) >= self.policy.repeat_similarity:
                return True
        return False
