"""NLU benchmark: intent accuracy on held-out utterances, per language and per intent, the share of
out-of-scope utterances rejected, and training time per flow.

Seven sets, none ever trained on (the bench refuses a set that shares an utterance with the flow).
Each test set was written and committed blind, evaluated ONCE (result in the git log: "first and only
evaluation of ..."), and only then were its errors read and turned into flow examples, which made it a
development set; the next test set had been committed before that. So the newest set is the honest
estimate, the older ones track regressions:
  development: nlu_heldout (192 utterances), nlu_blind (88), nlu_final (88), nlu_test (184),
               nlu_test2 (184), nlu_test3 (184)
  blind:       nlu_test4 (184) -- evaluated once; a further change to the flows needs a new blind set.
The nlu_test* sets mix registers: colloquial, polite, fillers, ASR-style lowercase without punctuation,
typos, missing Polish diacritics, long rambling turns with the intent in the middle.

    .venv/bin/python -m bench.nlu [--flows dialogs] [--data FILE...] [--errors]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import yaml

from voicebot.config import BusinessHoursSettings
from voicebot.dialog.registry import compile_flow

ROOT = Path(__file__).resolve().parent.parent

OOS = "out_of_scope"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=Path, default=ROOT / "dialogs")
    ap.add_argument("--flow", default="customer_service")
    sets = ("nlu_heldout", "nlu_blind", "nlu_final", "nlu_test", "nlu_test2", "nlu_test3", "nlu_test4")
    ap.add_argument("--data", type=Path, nargs="+", default=[ROOT / "bench" / "data" / f"{n}.yaml" for n in sets])
    ap.add_argument("--errors", action="store_true", help="print every misclassified utterance")
    args = ap.parse_args()
    for path in args.data:
        print(f"##### {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        evaluate(args, yaml.safe_load(path.read_text(encoding="utf-8")))
    return 0


def evaluate(args: argparse.Namespace, data: dict) -> None:
    overall_ok = overall_n = 0
    for lang, by_intent in data.items():
        path = args.flows / f"{args.flow}.{lang}.yaml"
        t0 = time.perf_counter()
        loaded = compile_flow(path.read_text(encoding="utf-8"), str(path), BusinessHoursSettings())
        load_s = time.perf_counter() - t0
        trained = {u.lower() for i in loaded.flow.intents.values() for u in i.examples}
        trained |= {u.lower() for u in loaded.flow.out_of_scope}
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        errors = []
        t0 = time.perf_counter()
        n_utts = 0
        for intent, utterances in by_intent.items():
            for u in utterances:
                if u.lower() in trained:
                    raise SystemExit(f"held-out utterance is also a training example: {u!r}")
                got = loaded.nlu.classify(u)
                predicted = got.intent or OOS
                per[intent][0] += predicted == intent
                per[intent][1] += 1
                n_utts += 1
                if predicted != intent:
                    errors.append(f"  {u!r}: expected {intent}, got {predicted} ({got.best} {got.confidence:.2f})")
        classify_ms = (time.perf_counter() - t0) / max(n_utts, 1) * 1000
        in_ok = sum(v[0] for k, v in per.items() if k != OOS)
        in_n = sum(v[1] for k, v in per.items() if k != OOS)
        print(f"== {args.flow}.{lang}: load+train {load_s:.2f}s (NLU fit {loaded.train_secs:.2f}s), "
              f"classify {classify_ms:.1f} ms/utterance")
        for intent, (ok, n) in sorted(per.items()):
            print(f"  {intent:<18} {ok:>3}/{n:<3} {100 * ok / n:6.1f}%")
        print(f"  intent accuracy (in scope): {in_ok}/{in_n} = {100 * in_ok / in_n:.1f}%")
        oos_ok, oos_n = per[OOS]
        print(f"  out-of-scope rejected:      {oos_ok}/{oos_n} = {100 * oos_ok / max(oos_n, 1):.1f}%")
        all_ok, all_n = in_ok + oos_ok, in_n + oos_n
        print(f"  overall (incl. rejection):  {all_ok}/{all_n} = {100 * all_ok / all_n:.1f}%")
        overall_ok += all_ok
        overall_n += all_n
        if args.errors and errors:
            print("\n".join(errors))
    print(f"== all languages: {overall_ok}/{overall_n} = {100 * overall_ok / overall_n:.1f}%")


if __name__ == "__main__":
    raise SystemExit(main())
