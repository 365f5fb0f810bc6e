"""How fast the supervisor API answers with many stored calls: search, text search, CSV, KPIs.

Seeds N calls (4 turns each) under a throw-away Redis key prefix, starts the web app in-process on an
ephemeral port, logs in, and prints the median and worst latency of each request over a few rounds.

    .venv/bin/python -m bench.web_api [--calls 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import aiohttp
from aiohttp.test_utils import TestServer

from voicebot.app import create_app
from voicebot.appkeys import CALL_STORE, USERS
from voicebot.config import load_settings
from voicebot.store.calls import TurnRecord

REQUESTS = {
    "list newest 200": "/api/calls",
    "filter transferred": "/api/calls?transferred=yes&limit=5000",
    "text search (reads turns)": "/api/calls?q=parcel+7&limit=5000",
    "KPIs last 24 h": "/api/kpis",
    "CSV export, all": "/supervisor/calls.csv?limit=5000",
}


async def seed(store, n: int) -> None:
    now = time.time()
    for i in range(n):
        cid = f"bench-{i}"
        started = now - (i % 86000)
        transferred = i % 4 == 0
        async with store.client.pipeline(transaction=False) as p:
            p.hset(store.keys.call(cid), mapping={
                "call_id": cid, "started_at": str(started), "ended_at": str(started + 60 + i % 120),
                "caller_number": f"+48600{i % 997:06d}", "language": "pl" if i % 3 else "en",
                "outcome": "transferred" if transferred else "contained",
                "transfer_reason": "frustration" if transferred else "", "csat": str(1 + i % 5)})
            p.zadd(store.keys.calls_by_time, {cid: started})
            for j, (role, text) in enumerate([("bot", "Hello"), ("caller", f"where is my parcel {i}"),
                                              ("bot", "Order number?"), ("caller", "12345")]):
                p.xadd(store.keys.turns(cid), TurnRecord(role=role, text=text, ts=started + j,
                                                          intent="order_status" if role == "bot" else None)
                       .to_fields())
            await p.execute()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    settings = load_settings("/nonexistent.toml", {"VOICEBOT_REDIS_PREFIX": prefix})
    app = create_app(settings, load_models=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        t0 = time.perf_counter()
        await seed(app[CALL_STORE], args.calls)
        print(f"seeded {args.calls} calls in {time.perf_counter() - t0:.1f} s")
        await app[USERS].add("bench", "bench-password-1", "supervisor", replace=True)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            base = str(server.make_url("")).rstrip("/")
            page = await (await http.get(f"{base}/login")).text()
            token = page.split('name="csrf" value="')[1].split('"')[0]
            await http.post(f"{base}/login", data={"name": "bench", "password": "bench-password-1", "csrf": token})
            print(f"{'request':30} {'median ms':>10} {'max ms':>10} {'bytes':>10}")
            for name, path in REQUESTS.items():
                times, size = [], 0
                for _ in range(args.rounds):
                    t = time.perf_counter()
                    async with http.get(base + path) as r:
                        assert r.status == 200, (path, r.status)
                        size = len(await r.read())
                    times.append(1000 * (time.perf_counter() - t))
                print(f"{name:30} {statistics.median(times):10.0f} {max(times):10.0f} {size:10d}")
    finally:
        keys = [k async for k in app[CALL_STORE].client.scan_iter(match=f"{prefix}*", count=1000)]
        for i in range(0, len(keys), 1000):
            await app[CALL_STORE].client.delete(*keys[i:i + 1000])
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
