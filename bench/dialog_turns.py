"""Dialog turn latency without audio: every conversation in dialogs/tests run through the engine against
the in-process demo CRM; prints per-turn time (NLU + step + webhooks) percentiles per language.

    .venv/bin/python -m bench.dialog_turns [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from voicebot.config import Settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.flowtests import load_test_files
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo

ROOT = Path(__file__).resolve().parent.parent


async def run(rounds: int) -> None:
    crm = await start_demo_crm()
    settings = Settings()
    settings = settings.model_copy(update={"dialog": settings.dialog.model_copy(update={"crm_url": crm.url})})
    t0 = time.perf_counter()
    engine = load_engine(settings)
    print(f"load_engine (all flows, NLU training): {time.perf_counter() - t0:.2f}s")
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for tf in load_test_files(ROOT / "dialogs" / "tests"):
            for case in tf.cases:
                session = engine.new_session(CallInfo("bench", language=tf.language, flow_id=tf.flow))
                await session.start()
                for turn in case.turns:
                    event = CallerSaid(turn.say) if turn.say is not None else CallerDtmf(turn.dtmf or "")
                    t = time.perf_counter()
                    await session.handle(event)
                    times.setdefault(tf.language, []).append((time.perf_counter() - t) * 1000)
    for lang, ms in sorted(times.items()):
        q = statistics.quantiles(ms, n=100)
        print(f"{lang}: {len(ms)} turns  median {statistics.median(ms):.1f} ms  p95 {q[94]:.1f} ms  "
              f"max {max(ms):.1f} ms")
    await engine.close()
    await crm.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(ap.parse_args().rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
