"""Concurrent phone calls against the bot, timed on the wire from the caller's side.

    .venv/bin/python -m bench.calls                          # 1, 4, 8, 16, 24 calls, three turns each
    .venv/bin/python -m bench.calls --calls 1,4 --rounds 1   # a short smoke run
    .venv/bin/python -m bench.calls --speech-cache           # the bot's speech cache on (off by default)

The bot runs in its own process (bench/_bot_server.py: SIP line + the real pipeline, models loaded once).
One caller process (this one) places every call over real SIP/RTP (bench/_sip_caller.py): G.711 at 8 kHz,
espeak-ng speech, silence between sentences. Latency of a turn = from the send time of the caller's LAST
VOICED RTP packet to the arrival of the bot's FIRST VOICED RTP packet after it, both stamped by this process
on one clock: everything the bot does (VAD, end of turn, queueing, whisper, dialog, piper, RTP pacing) is
inside it. Calls start evenly spread over one turn cycle (`--cycle-secs`), as independent callers would, and
each says the script (`--rounds` times). One warm-up call runs first and is not counted.

Printed per level: turns, answered (a voiced reply within `--answer-timeout`), p50/p95/max latency, the share
of turns answered within 1 s, turns the bot talked over (it spoke while the caller was still saying the
sentence: an answer to a fragment), calls turned away by the bot's overload admission (busy message + transfer),
the bot process's CPU (100 % = one core; mean and peak) and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from bench._sip_caller import BenchCall, CallResult, Sentence
from tests.support.sip_helpers import espeak_ulaw

# The script of every call (the three turns): an order question, the number, an opening-hours question.
SCRIPT = ("Where is my order?", "It is four eight one five two.", "What are your opening hours on Saturday?")
WITHIN_S = 1.0
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    fmt: str  # format spec of the value


# One list for the header and every row: they cannot disagree on the columns.
COLUMNS = (
    Column("calls", 5, "d"), Column("turns", 5, "d"), Column("answered", 8, "s"), Column("p50 ms", 7, ".0f"),
    Column("p95 ms", 7, ".0f"), Column("max ms", 7, ".0f"), Column("<=1 s", 6, ".0%"),
    Column("talked over", 11, "d"), Column("turned away", 11, "d"), Column("cpu mean", 8, ".0%"),
    Column("cpu peak", 8, ".0%"), Column("rss MB", 6, ".0f"),
)


def table_line(values: list[object]) -> str:
    cells = []
    for col, v in zip(COLUMNS, values, strict=True):
        text = "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, col.fmt)
        cells.append(f"{text:>{col.width}}")
    return "  ".join(cells)


def header() -> str:
    return "  ".join(f"{c.title:>{c.width}}" for c in COLUMNS)


class Bot:
    """The bot server process, and its CPU/RSS as the OS sees them."""

    def __init__(self, speech_cache: bool, turn_log: bool) -> None:
        cmd = [sys.executable, "-m", "bench._bot_server", *(["--speech-cache"] if speech_cache else []),
               *(["--turn-log"] if turn_log else [])]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"the bot server did not start (exit {self.proc.wait()}); see its stderr above")
        self.port = int(line.split()[1])
        self.describe = line.split(maxsplit=2)[2].strip()
        self.ps = psutil.Process(self.proc.pid)

    def stats(self) -> dict[str, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        return json.loads(line.removeprefix("STATS "))

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def run_level(bot: Bot, n: int, sentences: list[Sentence], args: argparse.Namespace) -> dict[str, object]:
    before = bot.stats()
    calls = [BenchCall(i, "127.0.0.1", bot.port, sentences * args.rounds, start_delay_s=i * args.cycle_secs / n,
                       answer_timeout_s=args.answer_timeout) for i in range(n)]
    bot.ps.cpu_percent(None)
    cpu: list[float] = []
    rss = bot.ps.memory_info().rss
    running = asyncio.gather(*(c.run() for c in calls))
    while not running.done():
        await asyncio.wait([running], timeout=0.5)
        cpu.append(bot.ps.cpu_percent(None) / 100)
        rss = max(rss, bot.ps.memory_info().rss)
    results: list[CallResult] = running.result()
    after = bot.stats()
    turns = [t for r in results for t in r.turns]
    lat = [t.latency_ms for t in turns if t.latency_ms is not None]
    return {
        "calls": n, "turns": len(turns), "answered": len(lat),
        "per_turn": [{"call": t.call, "turn": t.turn, "text": t.text, "latency_ms": t.latency_ms} for t in turns],
        "p50": float(np.percentile(lat, 50)) if lat else float("nan"),
        "p95": float(np.percentile(lat, 95)) if lat else float("nan"),
        "max": max(lat) if lat else float("nan"),
        "within_1s": (sum(v <= WITHIN_S * 1000 for v in lat) / len(turns)) if turns else float("nan"),
        "talked_over": sum(t.talked_over for t in turns),
        "turned_away": after["turned_away"] - before["turned_away"],
        "cache_hits": after["cache_hits"] - before["cache_hits"],
        "asr_transcriptions": after["asr_transcriptions"] - before["asr_transcriptions"],  # speculative ones too
        "setup_errors": [r.setup_error for r in results if r.setup_error],
        "transferred_mid_call": sum(1 for r in results if r.transferred and not r.transferred_before_first_turn),
        "bot_hung_up": sum(1 for r in results if r.bot_hung_up),
        "cpu_mean": statistics.fmean(cpu) if cpu else float("nan"), "cpu_peak": max(cpu, default=float("nan")),
        "rss_mb": rss / 2**20,
    }


def _row(r: dict[str, object]) -> str:
    answered = f"{r['answered']}/{r['turns']}"
    return table_line([r["calls"], r["turns"], answered, r["p50"], r["p95"], r["max"], r["within_1s"],
                       r["talked_over"], r["turned_away"], r["cpu_mean"], r["cpu_peak"], r["rss_mb"]])


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", default="1,4,8,16,24", help="comma-separated concurrency levels (default 1,4,8,16,24)")
    ap.add_argument("--rounds", type=int, default=1, help="times each caller says the three-turn script (default 1)")
    ap.add_argument("--cycle-secs", type=float, default=8.0,
                    help="calls start evenly spread over this many seconds, about one turn cycle (default 8)")
    ap.add_argument("--answer-timeout", type=float, default=6.0,
                    help="a turn with no voiced reply this long after the caller stopped is unanswered (default 6)")
    ap.add_argument("--speech-cache", action="store_true", help="the bot's speech cache on (default: off)")
    ap.add_argument("--turn-log", action="store_true", help="the bot logs its own timings of every turn (stderr)")
    ap.add_argument("--json", type=Path, help="also write every number to this JSON file")
    return ap.parse_args()


def _commit() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=False).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=ROOT, check=False).stdout.strip()
    return commit + (" (with uncommitted changes)" if dirty else "")


async def run(args: argparse.Namespace, sentences: list[Sentence], commit: str) -> int:
    levels = [int(x) for x in args.calls.split(",") if x.strip()]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.1f} at "
          f"the start; commit {commit}", flush=True)
    print(f"command: {' '.join(sys.argv)}", flush=True)
    bot = Bot(args.speech_cache, args.turn_log)
    rows = []
    try:
        print(f"bot: pid {bot.proc.pid}, {bot.describe}; speech cache {'on' if args.speech_cache else 'off'}",
              flush=True)
        warm = await BenchCall(-1, "127.0.0.1", bot.port, sentences, start_delay_s=0).run()  # not counted
        print(f"warm-up call (not counted): {len(warm.turns)} turns"
              f"{'; ' + warm.setup_error if warm.setup_error else ''}", flush=True)
        for n in levels:
            started = time.monotonic()
            r = await run_level(bot, n, sentences, args)
            rows.append(r)
            notes = []
            if r["setup_errors"]:
                notes.append(f"{len(r['setup_errors'])} call(s) not set up: {r['setup_errors'][0]}")
            if r["transferred_mid_call"]:
                notes.append(f"{r['transferred_mid_call']} call(s) transferred by the dialog mid-call")
            if args.speech_cache:
                notes.append(f"{r['cache_hits']} bot sentence(s) from the speech cache")
            print(f"  {n} calls: {time.monotonic() - started:.0f} s" + (f"; {'; '.join(notes)}" if notes else ""),
                  flush=True)
    finally:
        bot.stop()
    print(f"\nlatency = caller's last voiced RTP packet sent -> bot's first voiced RTP packet received; answered ="
          f" within {args.answer_timeout:g} s; cpu = bot process, 100 % = one core; load average at the end"
          f" {os.getloadavg()[0]:.1f}")
    print(header())
    for r in rows:
        print(_row(r))
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "commit": commit,
                                         "levels": rows}, indent=2))
    return 0


def main() -> int:
    args = _parse()
    tmp = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    # Caller speech: espeak-ng (en-us, 150 wpm), 8 kHz mu-law by sox.
    sentences = [Sentence.from_ulaw(text, espeak_ulaw(text, tmp)) for text in SCRIPT]
    return asyncio.run(run(args, sentences, _commit()))


if __name__ == "__main__":
    raise SystemExit(main())
