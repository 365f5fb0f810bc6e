"""Soak: N concurrent SIP calls for M minutes against a real `voicebot serve`; does the server leak?

    .venv/bin/python -m bench.soak                        # 16 calls for 10 minutes
    .venv/bin/python -m bench.soak --calls 8 --minutes 6  # the shortest run that gives an RSS verdict

The server runs as deployed (`python -m voicebot serve`: models, SIP line, web, real Redis) in its own
process; sipp keeps N calls up at once, each a caller that waits for the greeting and asks the default
flow a few questions (espeak-ng speech, like bench/calls.py) and hangs up, and starts a new call as soon
as one ends, until M minutes have passed (then the calls up end, and sipp with them). Every `--sample-secs`
the server's RSS, open file descriptors and threads are sampled; printed over time, then compared. First
one warm-up round of N short calls (models, caches, thread pools and Redis connections reach their working size), then:

* descriptors and threads once every call has ended against after the warm-up, both idle: what the
  soak's calls left behind (a leak per call grows with the number of calls);
* RSS under the same steady load: caches (the speech cache, `tts.cache_mb`) and the allocator's arenas fill
  in the first minutes; a leak keeps growing to the end. The last half of the run is cut into three windows
  and their medians compared (`rss_verdict`): GROWS only when both steps rise beyond the noise measured in
  the samples themselves and the whole rise is faster than `--rss-slope` MB/min; rising, but within what
  the noise resolves: "too short to tell". A slope fitted over the
  last couple of minutes is not used: one sample of a busy moment moves it by several MB/min. A run with
  less than MIN_MINUTES of calls says "too short to tell". The idle RSS before/after is printed too; it is
  not part of the verdict (the allocator may hold on to freed memory: voicebot/native_memory.py).

Exit status: 0 no growth, 2 GROWS, 3 too short to tell, 1 the server died.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import math
import os
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench._sipp_load import caller_pcaps, scenario
from tests.support.env import TEST_REDIS_URL
from tests.support.media_server import ServeProcess, _rtp_range

# A soak caller stays on the bot: no escalation because an ASR slip under load repeated a request.
STAY_ON_THE_BOT = {
    "VOICEBOT_ESCALATION_LOW_CONFIDENCE_TURNS": "99", "VOICEBOT_ESCALATION_NO_MATCH_TURNS": "99",
    "VOICEBOT_ESCALATION_REPEAT_TURNS": "99", "VOICEBOT_ESCALATION_FRUSTRATION_THRESHOLD": "1.0",
}


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the soak's calls started
    rss_mb: float
    fds: int
    threads: int
    phase: str  # start | before (after the warm-up) | calls | ending (no new calls) | after


MIN_MINUTES = 6.0  # below this the last half is too short to hold three windows of a minute each
STEP_ERRORS = 3.0  # a step between window medians counts as a rise beyond this many standard errors ...
MAYBE_ERRORS = 2.0  # ... and as a possible rise (too short to tell) beyond this many; a flat line rarely does


@dataclass(frozen=True)
class RssVerdict:
    grows: bool | None  # None: too short to tell (too few minutes, or rising by less than the noise resolves)
    medians: tuple[float, ...] = ()  # of the three windows of the last half, MB
    slope: float = float("nan")  # MB/min between the first and the last of those windows
    noise: float = float("nan")  # sigma of one sample, from the changes between consecutive samples, MB
    error: float = float("nan")  # standard error of a step between two window medians, MB

    def describe(self) -> str:
        if not self.medians:
            return f"RSS: too short to tell (needs {MIN_MINUTES:.0f} min of calls)"
        m1, m2, m3 = self.medians
        text = (f"RSS under load, medians of the last half's three windows: {m1:.1f} / {m2:.1f} / {m3:.1f} MB "
                f"({self.slope:+.1f} MB/min; sample noise {self.noise:.1f} MB, step error {self.error:.1f} MB)")
        if self.grows is None:
            text += f"; rising, but by less than {STEP_ERRORS:.0f} step errors: run longer to tell"
        return text


def rss_verdict(points: list[tuple[float, float]], min_slope: float) -> RssVerdict:
    """Does RSS still grow at the end of the soak? `points`: (seconds, MB) under steady load.

    The first half is left out (the speech cache, thread pools and allocator arenas reach their working size
    there); the last half is cut into three equal windows of time and their medians compared. Noise is measured
    in the samples themselves: sigma of one sample from the median change between consecutive samples (a slow
    rise is not mistaken for noise), and the standard error of the step between two window medians from it
    (a median of n samples: 1.25 sigma / sqrt(n)). GROWS when the rise from the first window to the last is
    faster than `min_slope` MB/min and each of the two steps rises by more than STEP_ERRORS standard errors:
    a leak keeps rising through all three windows, while a one-off step (the allocator mapping another heap)
    followed by a flat line does not. Rising faster than `min_slope` with both steps above MAYBE_ERRORS
    standard errors but not beyond STEP_ERRORS: too short to tell (a longer run has wider windows and resolves
    slower leaks).
    """
    if len(points) < 6 or points[-1][0] - points[0][0] < MIN_MINUTES * 60:
        return RssVerdict(None)
    start, end = points[0][0] + (points[-1][0] - points[0][0]) / 2, points[-1][0]
    width = (end - start) / 3
    windows = [[p for p in points if start + i * width <= p[0] <= start + (i + 1) * width] for i in range(3)]
    if not all(len(w) >= 2 for w in windows):  # sampled too sparsely for the length of the run
        return RssVerdict(None)
    medians = tuple(statistics.median(rss for _, rss in w) for w in windows)
    last_half = [rss for t, rss in points if t >= start]
    noise = 1.4826 * statistics.median(abs(b - a) for a, b in itertools.pairwise(last_half)) / math.sqrt(2)
    error = 1.25 * noise * math.sqrt(1 / min(map(len, windows)) * 2)
    centres = [statistics.median(t for t, _ in w) for w in windows]
    slope = (medians[2] - medians[0]) / ((centres[2] - centres[0]) / 60)
    step = min(medians[1] - medians[0], medians[2] - medians[1])  # the smaller of the two steps
    if slope > min_slope and step > STEP_ERRORS * error:
        grows: bool | None = True
    elif slope > min_slope and step > MAYBE_ERRORS * error:
        grows = None
    else:
        grows = False
    return RssVerdict(grows, medians, slope, noise, error)

def sample(proc: psutil.Process, t: float, phase: str) -> Sample:
    """The server process and its children (none today; a future worker process would count)."""
    procs = [proc, *proc.children(recursive=True)]
    rss = fds = threads = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            fds += p.num_fds()
            threads += p.num_threads()
        except psutil.NoSuchProcess:
            continue
    return Sample(t, rss / 2**20, fds, threads, phase)


async def start_sipp(scenario_file: Path, port: int, total: int, concurrent: int, timeout_s: int,
                     out: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario_file), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-m", str(total),
        "-l", str(concurrent), "-r", str(concurrent), "-nostdin", "-timeout", f"{timeout_s}s", "-trace_stat",
        "-stf", f"{out}.stat.csv", "-fd", "5", "-trace_err", "-error_file", f"{out}.errors.log",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=out.parent)


async def run_sipp(scenario_file: Path, port: int, total: int, concurrent: int, timeout_s: int, out: Path) -> None:
    await (await start_sipp(scenario_file, port, total, concurrent, timeout_s, out)).wait()


def sipp_counts(stat_file: Path) -> dict[str, int]:
    """Successful / failed calls from sipp's -trace_stat CSV (its last line holds the totals)."""
    if not stat_file.exists():
        return {}
    rows = list(csv.reader(stat_file.open(errors="replace"), delimiter=";"))
    if len(rows) < 2:
        return {}
    head, last = rows[0], rows[-1]
    wanted = {"SuccessfulCall(C)": "ok", "FailedCall(C)": "failed", "OutgoingCall(C)": "placed"}
    return {name: int(last[head.index(col)]) for col, name in wanted.items() if col in head}


async def soak(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    pcaps = caller_pcaps(tmp)
    scenario_file = tmp / "soak_caller.xml"
    scenario_file.write_text(scenario(pcaps, args.call_secs / 60, args.turn_secs, lockstep=True))
    warmup_file = tmp / "warmup_caller.xml"
    warmup_file.write_text(scenario(pcaps, 25 / 60, args.turn_secs, lockstep=True))  # greeting + one question
    # Calls the bot ends early (a transfer, a goodbye) would end the run early if sipp stopped at a count: it
    # may place up to four times as many, and is told to stop placing new ones (SIGUSR1) after M minutes.
    per_slot = max(1, math.ceil(args.minutes * 60 / args.call_secs))
    total_calls = args.calls * per_slot * 4

    os.environ.update(STAY_ON_THE_BOT)  # ServeProcess passes the environment on
    server = ServeProcess(TEST_REDIS_URL, f"bench:soak:{os.getpid()}:", "http://127.0.0.1:9",
                          tmp / "serve.log", rtp_ports=_rtp_range(max(40, 4 * args.calls)))
    print(f"starting voicebot serve (log {server.log_path}) ...", flush=True)
    server.start()
    samples: list[Sample] = []
    try:
        assert server.proc is not None
        proc = psutil.Process(server.proc.pid)
        await asyncio.sleep(5)  # let start-up finish (flows seeded, first connections made)
        idle = sample(proc, 0, "start")
        print(f"warm-up: {args.calls} short calls (idle: rss {idle.rss_mb:.0f} MB, fds {idle.fds}, "
              f"threads {idle.threads})", flush=True)
        await run_sipp(warmup_file, server.sip_port, args.calls, args.calls, 120, tmp / "warmup")
        await asyncio.sleep(args.settle_secs)
        t0 = time.monotonic()
        samples.append(sample(proc, 0.0, "before"))
        print(f"{args.calls} calls at once, each ~{args.call_secs:.0f} s, new ones for {args.minutes} min; "
              f"sampling every {args.sample_secs:.0f} s", flush=True)
        sipp = await start_sipp(scenario_file, server.sip_port, total_calls, args.calls,
                                int(args.minutes * 60 + args.call_secs + 120), tmp / "soak")
        stopped_at: float | None = None  # when sipp was told to place no new calls
        while sipp.returncode is None:
            try:
                await asyncio.wait_for(sipp.wait(), args.sample_secs)
            except TimeoutError:
                pass
            now = time.monotonic() - t0
            samples.append(sample(proc, now, "calls" if stopped_at is None else "ending"))
            s = samples[-1]
            print(f"  {s.t:6.0f} s  rss {s.rss_mb:7.1f} MB  fds {s.fds:4d}  threads {s.threads:3d}"
                  + ("" if stopped_at is None else "  (ending)"), flush=True)
            if stopped_at is None and now >= args.minutes * 60 and sipp.returncode is None:
                sipp.send_signal(signal.SIGUSR1)  # once: no new calls; sipp exits when the calls up now end
                stopped_at = now
            elif stopped_at is not None and now - stopped_at > args.call_secs + 30 and sipp.returncode is None:
                sipp.terminate()  # sipp may linger after its calls ended; the server's calls are over by now
        calls_secs = stopped_at if stopped_at is not None else time.monotonic() - t0
        await asyncio.sleep(args.settle_secs)  # calls end, RTP ports close, buffered writes flush
        samples.append(sample(proc, time.monotonic() - t0, "after"))
        if server.proc.poll() is not None:
            print(f"the server died (exit {server.proc.returncode}); see {server.log_path}")
            return 1
    finally:
        server.stop()

    counts = sipp_counts(tmp / "soak.stat.csv")
    errors = tmp / "soak.errors.log"
    ended_by_bot = errors.read_text(errors="replace").count("Aborting call on unexpected message") \
        if errors.exists() else 0
    before, after = samples[0], samples[-1]
    during = [s for s in samples if s.phase == "calls"]
    third = max(1, len(during) // 3)
    first_rss = statistics.median(s.rss_mb for s in during[:third]) if during else float("nan")
    last_rss = statistics.median(s.rss_mb for s in during[-third:]) if during else float("nan")
    print(f"\nsoak: {args.calls} concurrent calls for {calls_secs / 60:.1f} min; sipp placed "
          f"{counts.get('placed', '?')}, {counts.get('ok', '?')} completed, {counts.get('failed', '?')} failed "
          f"({ended_by_bot} ended early by the bot: transfer/goodbye)")
    print(f"{'':>24} {'rss MB':>8} {'fds':>6} {'threads':>8}")
    rows = [("idle after warm-up", [before])]
    if during:
        rows += [("calls, first third", during[:third]), ("calls, last third", during[-third:])]
    rows.append(("idle after the calls", [after]))
    for name, group in rows:
        print(f"{name:>24} {statistics.median(s.rss_mb for s in group):8.1f} {max(s.fds for s in group):6d} "
              f"{max(s.threads for s in group):8d}")
    steady = (last_rss - first_rss) / first_rss * 100 if during else float("nan")
    idle = (after.rss_mb - before.rss_mb) / before.rss_mb * 100
    fd_growth, thread_growth = after.fds - before.fds, after.threads - before.threads
    print(f"RSS under load, last vs first third: {steady:+.1f}%; idle, after vs before: {idle:+.1f}% (what the "
          f"allocator still holds: not a leak by itself); descriptors: {fd_growth:+d}; threads: {thread_growth:+d}")
    rss = rss_verdict([(s.t, s.rss_mb) for s in during], args.rss_slope)
    print(rss.describe())
    left_over = fd_growth > args.fd_slack or thread_growth > args.fd_slack
    grows = left_over or bool(rss.grows)
    if grows:
        print("verdict: GROWS (look for a leak)")
    elif rss.grows is None:
        print("verdict: too short to tell (descriptors and threads: no growth; RSS: run longer)")
    else:
        print("verdict: no growth")
    return 2 if grows else 3 if rss.grows is None else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=16, help="calls up at once (default 16)")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long calls keep coming (default 10)")
    ap.add_argument("--call-secs", type=float, default=60.0, help="length of one call (default 60)")
    ap.add_argument("--turn-secs", type=float, default=14.0, help="seconds between caller sentences (default 14)")
    ap.add_argument("--sample-secs", type=float, default=10.0, help="sampling interval (default 10)")
    ap.add_argument("--settle-secs", type=float, default=15.0, help="wait after the last call (default 15)")
    ap.add_argument("--rss-slope", type=float, default=2.0,
                    help="RSS growth over the last half (MB/min) that counts as a leak, if beyond the samples' "
                         "noise (default 2)")
    ap.add_argument("--fd-slack", type=int, default=4, help="descriptors/threads left over that count as a leak")
    return asyncio.run(soak(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
