"""The bot as `bench/calls.py` measures it: a separate process serving SIP calls with the real pipeline.

    .venv/bin/python -m bench._bot_server [--speech-cache]

Prints `READY <sip port>` once the models are loaded and serves calls until its stdin closes; each line
`stats` on its stdin is answered with `STATS {json}` (the bot's own counters so far: calls turned away,
turns over 1 s as the bot measured them, speech-cache hits). Separate from the
caller so the caller's work is not the server's CPU, and the server's queueing shows up on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys

from voicebot.config import load_settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.loader import load_engine
from voicebot.lines.sip import SipLine
from voicebot.native_memory import limit_arenas
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.services import CallServices

# This measures speed, not the dialog: callers must not be escalated off the bot mid-run (an ASR slip under
# load would otherwise end a call with a transfer). Overload admission stays as configured.
BENCH_ENV = {
    "VOICEBOT_SIP_PORT": "0", "VOICEBOT_REDIS_PREFIX": "bench:calls:",
    "VOICEBOT_ESCALATION_LOW_CONFIDENCE_TURNS": "99", "VOICEBOT_ESCALATION_NO_MATCH_TURNS": "99",
    "VOICEBOT_ESCALATION_REPEAT_TURNS": "99", "VOICEBOT_ESCALATION_FRUSTRATION_THRESHOLD": "1.0",
}


async def serve(speech_cache: bool) -> None:
    crm = await start_demo_crm()  # the order look-ups of the script answer from the demo CRM
    env = {**os.environ, **BENCH_ENV, "VOICEBOT_DIALOG_CRM_URL": crm.url}
    if not speech_cache:
        env["VOICEBOT_TTS_CACHE_MB"] = "0"
    settings = load_settings(environ=env)
    models = await asyncio.to_thread(SharedModels.load, settings)
    services = CallServices(settings=settings, models=models, dialog=load_engine(settings))
    line = SipLine(settings, services)
    port = await line.start()
    print(f"READY {port} asr_workers={models.asr.workers} cache_mb={settings.tts.cache_mb}", flush=True)
    while await asyncio.to_thread(sys.stdin.readline):  # "" = the bench closed our stdin: done
        stats = {"turned_away": models.calls.turned_away, "turns": models.calls.turns,
                 "turns_over_1s": models.calls.slow_turns, "cache_hits": models.tts.cache.hits,
                 "asr_transcriptions": models.asr.stats.transcriptions}
        print(f"STATS {json.dumps(stats)}", flush=True)
    await line.stop()
    models.close()
    await services.dialog.close()
    await crm.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speech-cache", action="store_true", help="keep the speech cache on (default: off)")
    ap.add_argument("--turn-log", action="store_true", help="log the bot's own timings of every turn (stderr)")
    args = ap.parse_args()
    limit_arenas()  # as `voicebot serve` does, before any model thread starts: RSS as deployed
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.turn_log:  # the bot's own per-turn timings, to compare with what the caller measured
        logging.getLogger("voicebot.pipeline.call").setLevel(logging.INFO)
    from loguru import logger  # pipecat logs through loguru: warnings only

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(serve(args.speech_cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
