"""How soon the order-number turn ends after the caller's fifth digit (slot-aware end of turn).

    .venv/bin/python -m bench.number_turn                        # 3 voices x 2 speeds x 2 runs
    .venv/bin/python -m bench.number_turn --voices en-us --speeds 150 --runs 1   # a short smoke run

Each run is one call through `run_call` with the real models and the default flow, the caller an espeak-ng
voice at 8 kHz in real time: "Where is my order?", then "The order number is four eight one seven two."
Printed per voice and speed: the time from the end of the fifth digit (the caller's last sound, as the caller
sent it) to the end of the turn, p50 and max, and how many runs whisper heard the five digits in. The goal of
issue 13 is <= 300 ms; the pipeline's own end-of-turn stamp is printed next to it. No Redis needed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

from tests.support.number_turn import ORDER_NUMBER, ORDER_QUESTION, call, caller_side_end_of_turn_ms, espeak
from voicebot.config import ConfigError, load_settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.numbers import parse_digits
from voicebot.pipeline.models import SharedModels


async def measure(voices: list[str], speeds: list[int], runs: int) -> None:
    crm = await start_demo_crm()  # the order look-up answers from the demo CRM, as in `voicebot serve`
    settings = load_settings(environ={**os.environ, "VOICEBOT_TTS_CACHE_MB": "0",  # speech cache off
                                      "VOICEBOT_DIALOG_CRM_URL": crm.url})
    models = await asyncio.to_thread(SharedModels.load, settings)
    print(f"{'voice':<10} {'speed':>5} {'heard':>6} {'p50 ms':>7} {'max ms':>7} {'pipeline p50 ms':>15}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for voice in voices:
                for speed in speeds:
                    turns = [espeak(ORDER_QUESTION, Path(tmp), speed, voice),
                             espeak(ORDER_NUMBER, Path(tmp), speed, voice)]
                    ended, pipeline, heard = [], [], 0
                    for run in range(runs):
                        said, timings, media = await call(settings, models, None, turns, f"bench-{voice}-{run}")
                        if len(said) < 2 or len(timings) < 2:
                            continue  # the number turn was not answered (printed as not heard)
                        heard += parse_digits(said[1].text) == "48172"
                        ended.append(caller_side_end_of_turn_ms(media, timings, 1))
                        pipeline.append(timings[1]["end_of_turn_ms"])
                    if not ended:
                        print(f"{voice:<10} {speed:>5} {heard:>3}/{runs:<2} {'-':>7} {'-':>7} {'-':>15}")
                        continue
                    print(f"{voice:<10} {speed:>5} {heard:>3}/{runs:<2} {statistics.median(ended):>7.0f} "
                          f"{max(ended):>7.0f} {statistics.median(pipeline):>15.0f}", flush=True)
    finally:
        models.close()
        await crm.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voices", default="en-us,en-gb,en-us+f3", help="espeak-ng voices, comma-separated")
    ap.add_argument("--speeds", default="150,175", help="espeak-ng words per minute, comma-separated")
    ap.add_argument("--runs", type=int, default=2, help="calls per voice and speed")
    args = ap.parse_args()
    try:
        asyncio.run(measure(args.voices.split(","), [int(s) for s in args.speeds.split(",")], args.runs))
    except ConfigError as exc:
        print(f"bench/number_turn.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
