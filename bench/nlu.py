"""NLU benchmark: intent accuracy on held-out utterances, per language and per intent, the share of
out-of-scope utterances rejected, and training time per flow.

Nine sets, none of them training data. The leak guard compares each utterance with the flow's examples after the
classifier's own folding (case, diacritics, punctuation, fillers, a leading greeting) and as near-duplicates
(similarity >= 0.9): such utterances are listed and left out of the score (`--strict` refuses the set).
Each test set (all but nlu_dev2) was written and committed blind, evaluated ONCE (result in the git log: "first and only
evaluation of ..."), and only then were its errors read and turned into flow examples, which made it a
development set; the next test set had been committed before that. So the newest set is the honest
estimate, the older ones track regressions:
  development: nlu_heldout (192 utterances), nlu_blind (88), nlu_final (88), nlu_test (184),
               nlu_test2 (184), nlu_test3 (184), nlu_test4 (184, blind until issue 12 tuned on it),
               nlu_dev2 (issue 12: small talk, routine topics, out of scope; calibrated nlu_threshold with --sweep)
               nlu_blind2 (issue 12, 25 intents + out of scope, 860 utterances, written before reading the
               flows; evaluated blind once, bench/results/issue12-blind.md, then tuned on)
               nlu_blind3 (574 utterances, both languages, written before reading the flows; evaluated blind
               once, bench/results/issue12-blind3.md; not in the default --data list)
               nlu_dev4 (issue 12 round 4: 25 intents x 6 + 40 out of scope per language, written before that
               round's NLU changes and never pasted into the flows; measured before and after, bench/README.md)
               nlu_blind4 (602 utterances, both languages, written blind; evaluated once after the dev4 round,
               bench/results/issue12-blind4.md; not in the default --data list)
               nlu_blind5 (617 utterances, both languages, written blind; evaluated once after round 2,
               bench/results/issue12-blind5.md; not in the default --data list)
               nlu_blind6 (564 utterances, both languages, written blind; evaluated once after round 3,
               bench/results/issue12-blind6.md; not in the default --data list)
               nlu_blind7 (600 utterances, both languages, written blind; evaluated once after round 4,
               bench/results/issue12-blind7.md; not in the default --data list)
               nlu_blind8 (600 utterances, both languages, written blind; evaluated once after round 5,
               bench/results/issue12-blind8.md; not in the default --data list)
               nlu_blind9 (600 utterances, both languages, written blind; evaluated once after round 6,
               bench/results/issue12-blind9.md; not in the default --data list)
               nlu_blind10 (600 utterances, both languages, written blind; evaluated once after round 7,
               bench/results/issue12-blind10.md; not in the default --data list)
               nlu_blind11 (600 utterances, written blind; evaluated once after round 8,
               bench/results/issue12-blind11.md; not in the default --data list)
               nlu_blind12 (600 utterances, written blind; evaluated once after round 9,
               bench/results/issue12-blind12.md; not in the default --data list)
               nlu_blind13 (560 utterances, written blind; evaluated once after round 10,
               bench/results/issue12-blind13.md; not in the default --data list)
               nlu_blind14 (573 utterances, harder phrasings, written blind; evaluated once after round 10,
               bench/results/issue12-blind14.md; not in the default --data list)
  blind:       none at the moment: the next honest number needs a new blind set.
The nlu_test* sets mix registers: colloquial, polite, fillers, ASR-style lowercase without punctuation,
typos, missing Polish diacritics, long rambling turns with the intent in the middle.

    .venv/bin/python -m bench.nlu [--flows dialogs] [--data FILE...] [--errors] [--sweep] [--strict]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import yaml

from voicebot.config import BusinessHoursSettings
from voicebot.dialog.nlu_text import normalize
from voicebot.dialog.registry import compile_flow

ROOT = Path(__file__).resolve().parent.parent

OOS = "out_of_scope"
NEAR = 0.9  # similarity of normalised texts from which a test utterance counts as a copy of an example


def leaks(utterances: list[str], examples: list[str], language: str) -> dict[str, str]:
    """Test utterances that are a flow example after the classifier's own folding (case, diacritics,
    punctuation, fillers, digits), or nearly one ("where is my parcel" / "where's my parcel")."""
    trained = {normalize(e, language) for e in examples}
    found: dict[str, str] = {}  # utterance -> why
    for u in utterances:
        n = normalize(u, language)
        if n in trained:
            found[u] = "same as an example"
            continue
        for t in trained:
            m = SequenceMatcher(None, n, t, autojunk=False)
            if m.real_quick_ratio() >= NEAR and m.quick_ratio() >= NEAR and m.ratio() >= NEAR:
                found[u] = f"near {t!r}"
                break
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=Path, default=ROOT / "dialogs")
    ap.add_argument("--flow", default="customer_service")
    sets = ("nlu_heldout", "nlu_blind", "nlu_final", "nlu_test", "nlu_test2", "nlu_test3", "nlu_test4", "nlu_dev2",
            "nlu_blind2", "nlu_dev4")
    ap.add_argument("--data", type=Path, nargs="+", default=[ROOT / "bench" / "data" / f"{n}.yaml" for n in sets])
    ap.add_argument("--errors", action="store_true", help="print every misclassified utterance")
    ap.add_argument("--strict", action="store_true", help="refuse a set with (near) copies of flow examples")
    ap.add_argument("--sweep", action="store_true",
                    help="also print accuracy and rejection for a range of nlu_threshold values (calibration)")
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
        examples = [u for i in loaded.flow.intents.values() for u in i.examples] + list(loaded.flow.out_of_scope)
        copied = leaks([u for us in by_intent.values() for u in us], examples, lang)
        if copied and args.strict:
            raise SystemExit(f"{len(copied)} held-out utterances are (nearly) training examples:\n  "
                             + "\n  ".join(f"{u!r}: {why}" for u, why in copied.items()))
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        errors = []
        t0 = time.perf_counter()
        n_utts = 0
        for intent, utterances in by_intent.items():
            for u in utterances:
                if u in copied:  # scored, it would measure memory, not understanding
                    continue
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
        if copied:
            print(f"  left out, (nearly) a flow example: {len(copied)}")
            print("\n".join(f"    {u!r}: {why}" for u, why in copied.items()))
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
        if args.sweep:
            sweep(loaded.nlu, {i: [u for u in us if u not in copied] for i, us in by_intent.items()})
    print(f"== all languages: {overall_ok}/{overall_n} = {100 * overall_ok / overall_n:.1f}%")


def sweep(nlu: Any, by_intent: dict[str, list[str]]) -> None:
    """In-scope accuracy and out-of-scope rejection as the flow's nlu_threshold would vary."""
    scored = []
    for intent, utterances in by_intent.items():
        for u in utterances:
            scores = nlu.scores(u)
            in_scope = {k: v for k, v in scores.items() if k != OOS}
            best = max(in_scope, key=in_scope.__getitem__)
            scored.append((intent, best, in_scope[best], max(scores, key=scores.__getitem__) == OOS))
    for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
        got = [(want, OOS if top_oos or conf < t else best) for want, best, conf, top_oos in scored]
        ins = [w == g for w, g in got if w != OOS]
        oos = [w == g for w, g in got if w == OOS]
        print(f"  threshold {t:.2f}: intent accuracy {100 * sum(ins) / max(len(ins), 1):5.1f}%, "
              f"out-of-scope rejected {100 * sum(oos) / max(len(oos), 1):5.1f}%")


if __name__ == "__main__":
    raise SystemExit(main())
