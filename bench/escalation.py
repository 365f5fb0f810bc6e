"""Escalation evaluation: precision/recall of transfers on a labelled set of conversations (pl + en).

Every conversation in bench/data/escalation_set.yaml runs through the real dialog engine (flows under
dialogs/, demo CRM, clock pinned inside business hours) with the real escalation tracker, exactly as a
call would, minus audio. Printed:
  precision        transferred calls that needed a person / all transferred calls     (target >= 90 %)
  recall@2         calls needing a person transferred within 2 turns of the trouble   (target >= 95 %)
  turns-to-transfer  per needing-a-person call: transfer turn - trouble turn + 1 (1 = at once)
  dropped          calls the bot ended while the caller was still talking, or that crashed (target 0); not a call
                   it ended on the caller's own closing when all the caller's remaining turns are closings too
Each conversation starts on the demo CRM's sample data, so one call's cancelled visit is not the next one's.

Sets: escalation_set.yaml (development, the default); escalation_blind2.yaml (issue 12: both languages, payment
problems, technical faults, small talk, yes/no answers, FAQ; written before reading the flows, evaluated once,
result in bench/results/issue12-blind.md); escalation_blind3.yaml (86 conversations, both languages, written before
reading the flows; evaluated once, bench/results/issue12-blind3.md); escalation_dev4.yaml (64 conversations,
development: hazards, bereavement, legal threats, repeat callers, a missing order number, hedged annoyance);
escalation_blind4.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind4.md);
escalation_blind5.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind5.md);
escalation_blind6.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind6.md);
escalation_blind7.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind7.md);
escalation_blind8.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind8.md);
escalation_blind9.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind9.md);
escalation_blind10.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind10.md);
escalation_blind11.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind11.md);
escalation_blind12.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind12.md);
escalation_blind13.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind13.md);
escalation_blind14.yaml (90 conversations, written blind; evaluated once, bench/results/issue12-blind14.md).

Usage: .venv/bin/python -m bench.escalation [--set FILE] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from voicebot.config import Settings, load_settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.escalation import make_tracker

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SET = ROOT / "bench" / "data" / "escalation_set.yaml"
# A Wednesday morning in Warsaw: the human line is open, so a hand-over is a transfer, not a callback.
BUSINESS_TIME = "2026-11-25T10:00:00+01:00"
HANDOVER = ("transfer", "callback")
DEFAULT_ASR = 0.9
FLOW = "customer_service"
CLOSINGS = frozenset({"goodbye", "thanks", "deny"})  # what a caller who has everything says last


@dataclass
class Outcome:
    id: str
    language: str
    label: str  # person | routine
    trouble_turn: int | None
    transfer_turn: int | None = None  # 1-based caller turn at which the bot handed over
    reason: str | None = None
    dropped: str = ""  # why the call counts as dropped
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def turns_to_transfer(self) -> int | None:
        if self.transfer_turn is None or self.trouble_turn is None:
            return None
        return self.transfer_turn - self.trouble_turn + 1


def load_set(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    conversations = data["conversations"]
    for c in conversations:
        if c["label"] not in ("person", "routine") or (c["label"] == "person") != ("trouble_turn" in c):
            raise ValueError(f"{path}: {c.get('id')}: label person needs trouble_turn, routine must not have one")
    return conversations


def _only_closings(engine: Any, conv: dict[str, Any], rest: list[Any]) -> bool:
    """Whether the caller's turns left after the bot said goodbye to their own closing are closings too ("okay
    thanks" to "anything else?", then "that's all, bye"): such a call was served and ended, not dropped."""
    nlu = engine.registry.get(FLOW, conv["language"]).nlu
    return all(nlu.classify(t if isinstance(t, str) else t["text"]).intent in CLOSINGS for t in rest)


async def run_conversation(engine: Any, conv: dict[str, Any]) -> Outcome:
    from voicebot.call_session import CallSession
    from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo

    out = Outcome(conv["id"], conv["language"], conv["label"], conv.get("trouble_turn"))
    info = CallInfo(call_id=f"bench-{conv['id']}", caller_number="+48600100200", language=conv["language"],
                    flow_id=FLOW, channel="local")
    try:
        session = CallSession(info, engine.new_session(info))
        await session.begin()
        turns = conv["turns"]
        for n, turn in enumerate(turns, start=1):
            text, asr = (turn, DEFAULT_ASR) if isinstance(turn, str) else (turn["text"], turn.get("asr", DEFAULT_ASR))
            event = CallerDtmf(text[5:].strip()) if text.startswith("#dtmf") else \
                CallerSaid(text, language=conv["language"], asr_confidence=asr)
            reply = await session.on_event(event)
            out.replies.append({"turn": n, "caller": text, "bot": reply.text, "action": reply.action,
                                "reason": reply.reason, "intent": reply.intent, "frustration": reply.frustration,
                                "signals": reply.signals})
            if reply.action in HANDOVER:
                out.transfer_turn, out.reason = n, reply.reason
                break
            if reply.action in ("end", "hangup") and n < len(turns):
                if not (reply.reason == "caller_goodbye" and _only_closings(engine, conv, turns[n:])):
                    out.dropped = f"bot ended the call at turn {n} of {len(turns)}"
                break
        await session.finish()
    except Exception as exc:  # a crash is the worst kind of drop
        out.dropped = f"crashed: {type(exc).__name__}: {exc}"
    return out


async def evaluate(settings: Settings, conversations: list[dict[str, Any]]) -> list[Outcome]:
    crm = await start_demo_crm()
    settings = settings.model_copy(update={"dialog": settings.dialog.model_copy(update={"crm_url": crm.url})})
    engine = load_engine(settings, make_tracker, clock=fixed_clock(datetime.fromisoformat(BUSINESS_TIME)))
    try:
        outcomes = []
        for c in conversations:
            # Every conversation is a new caller on the sample data (the demo caller's visit booked): one that
            # cancelled the visit must not leave the next "odwołać wizytę" with none to cancel.
            crm.reset()
            outcomes.append(await run_conversation(engine, c))
        return outcomes
    finally:
        await engine.close()
        await crm.stop()


def report(outcomes: list[Outcome], verbose: bool = False) -> dict[str, float]:
    person = [o for o in outcomes if o.label == "person"]
    routine = [o for o in outcomes if o.label == "routine"]
    transferred = [o for o in outcomes if o.transfer_turn is not None]
    tp = [o for o in transferred if o.label == "person"]
    in_time = [o for o in person if o.turns_to_transfer is not None and 1 <= o.turns_to_transfer <= 2]
    ttt = [o.turns_to_transfer for o in person if o.turns_to_transfer is not None]
    dropped = [o for o in outcomes if o.dropped]
    numbers = {
        "conversations": len(outcomes), "needing_person": len(person), "routine": len(routine),
        "precision": len(tp) / len(transferred) if transferred else 1.0,
        "recall": len(tp) / len(person) if person else 1.0,
        "recall_within_2_turns": len(in_time) / len(person) if person else 1.0,
        "mean_turns_to_transfer": statistics.mean(ttt) if ttt else float("nan"),
        "dropped": len(dropped),
    }
    for lang in sorted({o.language for o in outcomes}):
        lp = [o for o in person if o.language == lang]
        lt = [o for o in transferred if o.language == lang]
        numbers[f"recall_{lang}"] = sum(o.transfer_turn is not None for o in lp) / len(lp) if lp else 1.0
        numbers[f"precision_{lang}"] = sum(o.label == "person" for o in lt) / len(lt) if lt else 1.0

    print(f"escalation set: {len(outcomes)} conversations ({len(person)} need a person, {len(routine)} routine)")
    print(f"precision           {numbers['precision']:.1%}  (target >= 90%)")
    print(f"recall              {numbers['recall']:.1%}")
    print(f"recall within 2     {numbers['recall_within_2_turns']:.1%}  (target >= 95%)")
    print(f"turns-to-transfer   mean {numbers['mean_turns_to_transfer']:.2f}, "
          f"(turns: calls) {dict(sorted(_counts(ttt).items()))}")
    print(f"dropped             {len(dropped)}  (target 0)")
    for lang in sorted({o.language for o in outcomes}):
        print(f"  {lang}: precision {numbers[f'precision_{lang}']:.1%}, recall {numbers[f'recall_{lang}']:.1%}")
    reasons: dict[str, int] = {}
    for o in transferred:
        reasons[o.reason or "?"] = reasons.get(o.reason or "?", 0) + 1
    print(f"reasons             {dict(sorted(reasons.items()))}")
    problems = [o for o in outcomes if o.dropped or (o.label == "routine" and o.transfer_turn is not None)
                or (o.label == "person" and o not in in_time)]
    for o in problems:
        why = o.dropped or ("transferred a routine call" if o.label == "routine" else
                            "not transferred" if o.transfer_turn is None else
                            f"transferred at turn {o.transfer_turn}, trouble from turn {o.trouble_turn}")
        print(f"  ! {o.id}: {why} (reason {o.reason})")
        if verbose:
            for r in o.replies:
                print(f"      {r['turn']}. {r['caller']!r} -> [{r['intent']}] {r['action']} {r['reason'] or ''} "
                      f"frustration {r['frustration']:.2f} {r['signals']}")
    return numbers


def _counts(values: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled conversations (YAML)")
    parser.add_argument("--verbose", action="store_true", help="print the turns of every miss")
    args = parser.parse_args(argv)
    settings = load_settings(ROOT / "config.toml")
    outcomes = asyncio.run(evaluate(settings, load_set(args.set)))
    report(outcomes, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
