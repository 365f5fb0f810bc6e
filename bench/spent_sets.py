"""One table over the spent blind sets: intent accuracy, out-of-scope rejection and escalation per set, and the mean.

A round that tunes on one set can lose on the others; issue 12 asks for the mean over nlu_blind3..12 and
escalation_blind3..12 before and after each change. Runs bench.nlu and bench.escalation per set (two at a time)
and reads their printed numbers, so the table is exactly what those benches report.

    .venv/bin/python -m bench.spent_sets [--sets 3 4 5 6 7 8 9 10 11 12]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("intent en", "intent pl", "OOS en", "OOS pl", "esc precision", "esc recall@2", "dropped")


def _run(module: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _share(found: tuple[str, str]) -> float:
    return 100 * int(found[0]) / max(int(found[1]), 1)


def row(n: int) -> tuple[float, ...]:
    nlu = _run("bench.nlu", "--data", f"bench/data/nlu_blind{n}.yaml")
    esc = _run("bench.escalation", "--set", f"bench/data/escalation_blind{n}.yaml")
    nlu_out, esc_out = nlu.communicate()[0], esc.communicate()[0]
    intent = re.findall(r"intent accuracy \(in scope\): (\d+)/(\d+)", nlu_out)  # en, then pl
    oos = re.findall(r"out-of-scope rejected:\s+(\d+)/(\d+)", nlu_out)
    precision = re.search(r"^precision\s+([\d.]+)%", esc_out, re.M)
    recall = re.search(r"^recall within 2\s+([\d.]+)%", esc_out, re.M)
    dropped = re.search(r"^dropped\s+(\d+)", esc_out, re.M)
    if len(intent) != 2 or len(oos) != 2 or not (precision and recall and dropped):
        raise SystemExit(f"set {n}: unexpected bench output\n{nlu_out[-2000:]}\n{esc_out[-2000:]}")
    return (_share(intent[0]), _share(intent[1]), _share(oos[0]), _share(oos[1]), float(precision[1]),
            float(recall[1]), float(dropped[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, nargs="+", default=list(range(3, 33)))
    args = ap.parse_args()
    print("| set | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    rows = []
    for n in args.sets:
        rows.append(row(n))
        print(f"| blind{n} | " + " | ".join(f"{v:.1f}" for v in rows[-1]) + " |", flush=True)
    means = [sum(r[i] for r in rows) / len(rows) for i in range(len(COLUMNS))]
    print("| mean | " + " | ".join(f"{v:.1f}" for v in means) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
