"""Voice-to-voice latency as a caller on Asterisk AudioSocket and Twilio Media Streams hears it.

    .venv/bin/python -m bench.lines                  # 5 calls per line
    .venv/bin/python -m bench.lines --calls 2 --line twilio

Starts a real `voicebot serve` (models loaded once) and, one call at a time, plays the switch on the
wire (the same Asterisk/Twilio peers the tests use): waits for the greeting, asks a question with
piper-synthesized 8 kHz speech in real-time 20 ms frames, and times the gap from the caller's last
frame to the first audible bot audio arriving back. Also prints the server's own per-turn timings
(`first_audio_ms`: caller's last voiced audio -> first bot audio handed to the line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import redis

from tests.support.env import TEST_REDIS_URL
from tests.support.media_callers import AudioSocketCaller, CallerBase, TwilioCaller
from tests.support.media_server import TWILIO_TOKEN, FakeTwilioApi, ServeProcess, synth_8k
from voicebot.config import PROJECT_ROOT

QUESTIONS = ("What are your opening hours?", "Where is my order?", "I want to return an item.")


async def one_call(line: str, server: ServeProcess, speech: bytes, http: aiohttp.ClientSession) -> tuple[str, float]:
    caller: CallerBase
    if line == "audiosocket":
        caller = AudioSocketCaller()
        await caller.connect("127.0.0.1", server.audiosocket_port)
        call_id = caller.call_uuid
    else:
        caller = TwilioCaller()
        await caller.connect(http, f"ws://127.0.0.1:{server.http_port}/twilio/media", TWILIO_TOKEN)
        call_id = caller.call_sid
    try:
        await caller.wait_bot_quiet(quiet=1.0, timeout=60)
        heard = len(caller.bot_audio)
        await caller.say(speech)
        spoke_until = time.monotonic()
        await caller.wait_bot_quiet(quiet=1.0, timeout=60, heard_from=heard)
        first = caller.first_speech_after(spoke_until)
        return call_id, (first - spoke_until) * 1000 if first else float("nan")
    finally:
        await caller.hangup()


def server_first_audio_ms(prefix: str, call_id: str) -> float:
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        raw = client.hget(f"{prefix}call:{call_id}", "turn_timings") or "[]"
    finally:
        client.close()
    timings = json.loads(raw)
    return timings[0]["first_audio_ms"] if timings else float("nan")


def describe(values: list[float]) -> str:
    ok = sorted(v for v in values if v == v)
    if not ok:
        return "no data"
    return f"p50 {statistics.median(ok):.0f} ms, max {ok[-1]:.0f} ms (n={len(ok)})"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5, help="calls per line")
    parser.add_argument("--line", choices=("audiosocket", "twilio", "both"), default="both")
    args = parser.parse_args()

    from piper import PiperVoice

    voice = PiperVoice.load(str(PROJECT_ROOT / "models" / "piper" / "en_US-joe-medium.onnx"))
    speech = [synth_8k(voice, q) for q in QUESTIONS]
    api = FakeTwilioApi()
    api.start()
    prefix = f"bench:lines:{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as tmp:
        server = ServeProcess(TEST_REDIS_URL, prefix, f"http://127.0.0.1:{api.port}", Path(tmp) / "serve.log")
        server.start()
        try:
            lines = ("audiosocket", "twilio") if args.line == "both" else (args.line,)
            async with aiohttp.ClientSession() as http:
                for line in lines:
                    heard, served = [], []
                    for n in range(args.calls):
                        call_id, ms = await one_call(line, server, speech[n % len(speech)], http)
                        await asyncio.sleep(0.5)  # the call record's timings are written as the call ends
                        heard.append(ms)
                        served.append(server_first_audio_ms(prefix, call_id))
                    print(f"{line:12s} caller hears the answer after: {describe(heard)}")
                    print(f"{'':12s} server first_audio_ms:          {describe(served)}")
        finally:
            server.stop()
            api.stop()
            client = redis.Redis.from_url(TEST_REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
