"""Kamailio in front of N workers: call set-up time through the proxy vs straight to a worker, and the calls/s
the cluster accepts.

    .venv/bin/python -m bench.cluster                    # 2 workers, 20 calls per rate, rates 1,2,4 calls/s
    .venv/bin/python -m bench.cluster --workers 3 --calls 40 --rates 2,4,8

Starts Kamailio (Debian's package) and the workers as `voicebot cluster up` does (each loads the models),
then places short sipp calls (INVITE -> 200 OK -> ACK, 0.5 s of call, BYE). Set-up time = INVITE sent ->
200 OK received (sipp's response-time trace), p50/p95, through Kamailio and directly to worker 1 at the
lowest rate. Per rate: calls placed, calls answered, failed, and the answered calls per second of wall time.
Numbers depend on the host: say how loaded it was when you quote them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.sip_helpers import run_sipp
from voicebot.cluster.local import LocalCluster
from voicebot.config import load_settings

SCENARIO = "short_call"  # tests/support/sipp/short_call.xml


def _rtts(tmp: Path) -> list[float]:
    out: list[float] = []
    for f in tmp.glob("*_rtt.csv"):
        with f.open() as fh:
            for row in csv.reader(fh, delimiter=";"):
                if len(row) >= 2 and row[1].replace(".", "", 1).isdigit():
                    out.append(float(row[1]))
    return out


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else float("nan"))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


async def _run(port: int, tmp: Path, calls: int, rate: float) -> tuple[int, int, float, list[float]]:
    tmp = _mkdir(tmp)
    start = time.monotonic()
    res = await run_sipp(SCENARIO, port, tmp, {"hold_ms": "500"}, calls=calls, rate=rate, timeout=120,
                         extra=["-trace_rtt", "-rtt_freq", "1", "-l", str(max(2, int(rate * 2)))])
    wall = time.monotonic() - start
    ok = res.log.count("WORKER=")
    return calls, ok, wall, _rtts(tmp)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--calls", type=int, default=20, help="calls per rate")
    ap.add_argument("--rates", default="1,2,4", help="calls per second to try, comma-separated")
    ap.add_argument("--port", type=int, default=27060, help="Kamailio's port; workers use the next ones")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as d:
        tmp = Path(d)
        cluster = LocalCluster(settings.cluster, tmp / "run", workers=args.workers, base_port=args.port,
                               rtp_base=31000, worker_env={"VOICEBOT_REDIS_PREFIX": "bench:cluster:",
                                           "VOICEBOT_WEB_FIRST_ADMIN_PASSWORD_FILE": str(tmp / "admin-password")})
        t0 = time.monotonic()
        cluster.start()
        print(f"cluster up: Kamailio + {args.workers} workers in {time.monotonic() - t0:.0f} s")
        try:
            low = rates[0]
            _, ok_d, _, direct = await _run(cluster.members[0].sip_port, tmp / "direct", args.calls, low)
            _, ok_p, _, proxied = await _run(cluster.proxy_port, tmp / "proxy", args.calls, low)
            print(f"\nset-up time INVITE -> 200 OK at {low:g} calls/s, {args.calls} calls each (ms):")
            print(f"  direct to worker 1 : p50 {_pct(direct, 50):6.1f}  p95 {_pct(direct, 95):6.1f}  "
                  f"answered {ok_d}/{args.calls}")
            print(f"  through Kamailio   : p50 {_pct(proxied, 50):6.1f}  p95 {_pct(proxied, 95):6.1f}  "
                  f"answered {ok_p}/{args.calls}")
            print("\ncalls/s accepted through Kamailio:")
            print("  offered/s  placed  answered  failed  answered/s (over the run's wall time, hold+BYE included)")
            for rate in rates:
                placed, ok, wall, _ = await _run(cluster.proxy_port, tmp / f"rate{rate:g}", args.calls, rate)
                print(f"  {rate:9g}  {placed:6d}  {ok:8d}  {placed - ok:6d}  {ok / wall:8.2f}")
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
