"""Where a served call's memory goes: `voicebot serve`'s app in this process, batches of short SIP calls (sipp),
and after each batch the live Python objects by type and tracemalloc's allocations by line, against the state
after a warm-up batch. What grows with the number of calls is what a call leaves behind.

    .venv/bin/python -m bench.memory_probe --batches 8 --calls 4          # RSS and live objects per batch
    .venv/bin/python -m bench.memory_probe --batches 3 --calls 4 --trace  # + tracemalloc's growth by traceback

RSS and objects only: about half a minute a batch. With --trace much slower, and tracemalloc's own records
show up in RSS. A diagnosis tool, not a bench with a verdict (bench.soak gives that).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import sys
import tempfile
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil
import redis
from aiohttp import web
from loguru import logger

from bench._sipp_load import caller_pcaps, scenario
from bench.soak import STAY_ON_THE_BOT, run_sipp, sipp_counts
from tests.support.env import TEST_REDIS_URL
from tests.support.ports import free_port
from voicebot.app import create_app
from voicebot.appkeys import SIP_LINE
from voicebot.config import load_settings
from voicebot.native_memory import limit_arenas, release_freed


def anon_mb() -> float:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def type_counts() -> collections.Counter[str]:
    gc.collect()
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


async def probe(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="memprobe-"))
    prefix = f"bench:memprobe:{uuid.uuid4().hex[:6]}:"
    env = {**os.environ, **STAY_ON_THE_BOT, "REDIS_URL": TEST_REDIS_URL,
           "VOICEBOT_REDIS_PREFIX": prefix, "VOICEBOT_SIP_ENABLED": "true",
           "VOICEBOT_SIP_PORT": "0", "VOICEBOT_BUSINESS_HOURS_ALWAYS_OPEN": "true",
           "VOICEBOT_CONFIG": str(tmp / "none.toml")}
    settings = load_settings(environ=env)
    app = create_app(settings)  # no bootstrap: no first admin, no retention job; flows come from dialogs/
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port()).start()
    port = app[SIP_LINE].port
    pcaps = caller_pcaps(tmp)
    calls_file = tmp / "caller.xml"
    calls_file.write_text(scenario(pcaps, args.call_secs / 60, 6.0, lockstep=True))
    proc = psutil.Process()

    async def batch(name: str) -> None:
        await run_sipp(calls_file, port, args.calls, args.calls, 300, tmp / name)
        await asyncio.sleep(3)  # the pipelines finish after the BYE
        await asyncio.to_thread(release_freed)
        print(f"{name}: sipp {sipp_counts(tmp / f'{name}.stat.csv')} rss {proc.memory_info().rss / 2**20:.0f} MB "
              f"anon {anon_mb():.0f} MB tasks {len(asyncio.all_tasks())} threads {proc.num_threads()} "
              f"kept calls {len(app[SIP_LINE].finished)}", flush=True)

    try:
        await batches(args, batch)
    finally:
        await runner.cleanup()
        client = redis.Redis.from_url(TEST_REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
        client.close()


async def batches(args: argparse.Namespace, batch: Callable[[str], Awaitable[None]]) -> None:
    await batch("warmup")
    base = type_counts()
    if args.trace:
        tracemalloc.start(args.frames)
        snap0 = tracemalloc.take_snapshot()
    for i in range(args.batches):
        await batch(f"batch{i}")
        now = type_counts()
        grown = sorted(((now[k] - base[k], k) for k in now if now[k] - base[k] > 0), reverse=True)[:25]
        print("  objects grown since warm-up:", ", ".join(f"{k} +{n}" for n, k in grown) or "none", flush=True)
        if not args.trace:
            continue
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        for stat in snap.compare_to(snap0, "traceback")[:args.top]:
            print(f"  {stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks", flush=True)
            for line in stat.traceback.format()[-2 * min(args.frames, 6):]:
                print("     ", line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--calls", type=int, default=4, help="concurrent calls per batch")
    ap.add_argument("--call-secs", type=float, default=25.0)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--trace", action="store_true", help="tracemalloc (slow; its own memory shows in RSS)")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    logger.remove()  # pipecat's DEBUG lines, as `voicebot serve` without -v
    logger.add(sys.stderr, level="WARNING")
    limit_arenas()
    asyncio.run(probe(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
