"""Concurrent SIP calls against the real bot: per-turn latency, RTP pacing, CPU and memory.

    .venv/bin/python -m bench.calls                       # N = 1, 4, 8, 16 for 2 minutes each
    .venv/bin/python -m bench.calls --calls 1,4 --minutes 0.5   # a short smoke run

The bot (SIP line + real pipeline: VAD, whisper, dialog, piper) runs in this process with its models
loaded once; sipp places N calls at once. Each caller waits for the greeting, then keeps asking the
default flow questions (espeak-ng speech, one every `--turn-secs`) until the time is up. Like real callers,
each starts asking at its own moment (a random pause of up to `--turn-secs` after the greeting, drawn with
`--seed`, so two runs put the same load on the bot), so turns of different calls overlap only by chance;
`--lockstep` makes every caller speak at the same moment instead (calls 0.5 s apart), the worst case.

Printed per N: voice-to-voice turn latency (caller stops speaking -> first bot audio on the line)
p50/p95, the bot's RTP send-time jitter (lateness against the 20 ms grid) p50/p95/max, this process's
CPU (100% = one core) and peak RSS. Goal: >= 8 calls with p95 turn latency <= 1 s on 2 cores.
Escalation thresholds are raised for the bench only, so callers stay on the bot; the default flow may
still end a call early (a REFER or BYE the bench caller does not take): the count is printed per level.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from tests.support.sip_helpers import espeak_ulaw, write_pcap
from voicebot.config import Settings, load_settings
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices

# Questions the default flow answers without escalating (varied, so no "repeated request").
SENTENCES = [
    "When are you open?", "What can you do?", "Do you work on weekends?", "Please repeat that.",
    "How late are you open?", "What can you help me with?", "Are you open on Saturday?", "Can you say that again?",
]
GREETING_MS = 8000
# Where a turn's time goes (ms after the caller's last voiced audio, cumulative), printed p50/p95 per level.
PARTS = ("end_of_turn", "asr_done", "reply_ready", "first_audio")

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench caller">
  <send retrans="500"><![CDATA[

INVITE sip:voicebot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench[call_number]@[local_ip]:[local_port]>;tag=[pid]B[call_number]
To: <sip:voicebot@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:bench@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=bench 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000

]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[

ACK sip:voicebot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench[call_number]@[local_ip]:[local_port]>;tag=[pid]B[call_number]
To: <sip:voicebot@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="{greeting_ms}"/>
{phase}"""
_TURN = """  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <pause milliseconds="{turn_ms}"/>
"""
_TAIL = """  <send retrans="500"><![CDATA[

BYE sip:voicebot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench[call_number]@[local_ip]:[local_port]>;tag=[pid]B[call_number]
To: <sip:voicebot@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


_PHASE = """  <nop><action>
    <assignstr assign_to="phase_text" value="[field0]"/>
    <todouble assign_to="phase_ms" variable="phase_text"/>
  </action></nop>
  <pause variable="phase_ms"/>
"""


def phases_file(path: Path, calls: int, turn_secs: float, seed: int) -> Path:
    """sipp injection file: for each call, how long after the greeting it starts asking (ms)."""
    rng = random.Random(seed)
    path.write_text("SEQUENTIAL\n" + "".join(f"{rng.uniform(0, turn_secs * 1000):.0f};\n" for _ in range(calls)))
    return path


def scenario(pcaps: list[Path], minutes: float, turn_secs: float, lockstep: bool) -> str:
    turns = max(1, int((minutes * 60 - GREETING_MS / 1000) / turn_secs))
    body = "".join(_TURN.format(pcap=pcaps[i % len(pcaps)], turn_ms=int(turn_secs * 1000)) for i in range(turns))
    # Each call's start offset comes from the injection file (one line per call, in call order).
    phase = "" if lockstep else _PHASE
    return _HEAD.format(greeting_ms=GREETING_MS, phase=phase) + body + _TAIL


def caller_pcaps(tmp: Path) -> list[Path]:
    """One pcap per caller sentence (espeak-ng speech, mu-law RTP) for sipp's play_pcap_audio."""
    pcaps = []
    for i, sentence in enumerate(SENTENCES):
        sub = tmp / f"s{i}"
        sub.mkdir()
        write_pcap(sub / "say.pcap", espeak_ulaw(sentence, sub))
        pcaps.append(sub / "say.pcap")
    return pcaps


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def run_level(settings: Settings, services: CallServices, n: int, scenario_file: Path, tmp: Path,
                    minutes: float, phases: list[str]) -> dict[str, float]:
    from voicebot.pipeline.call import run_call

    turn_ms: list[float] = []
    parts: dict[str, list[float]] = {name: [] for name in PARTS}

    def on_turn(timings: dict[str, float]) -> None:
        if "first_audio_ms" in timings:
            turn_ms.append(timings["first_audio_ms"])
            for name in PARTS:
                if f"{name}_ms" in timings:
                    parts[name].append(timings[f"{name}_ms"])

    line = SipLine(settings, services, functools.partial(run_call, on_turn=on_turn))
    port = await line.start()
    proc = psutil.Process()
    proc.cpu_percent(None)
    psutil.cpu_percent(None)
    cpu: list[float] = []
    machine_cpu: list[float] = []  # all processes (sipp too), 100% = all cores
    rss = proc.memory_info().rss
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario_file), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-m", str(n), "-l", str(n),
        *phases,
        "-r", "2", "-nostdin", "-timeout", f"{int(minutes * 60 + 60)}s", "-trace_stat", "-stf",
        str(tmp / f"stat{n}.csv"), "-trace_err", "-error_file", str(tmp / f"errors{n}.log"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=tmp)
    while sipp.returncode is None:
        try:
            await asyncio.wait_for(sipp.wait(), 1.0)
        except TimeoutError:
            pass
        cpu.append(proc.cpu_percent(None))
        machine_cpu.append(psutil.cpu_percent(None))
        rss = max(rss, proc.memory_info().rss)
    await asyncio.sleep(2)
    errors = tmp / f"errors{n}.log"
    # Calls the bot ended early (the dialog transferred or said goodbye): sipp logs them as unexpected.
    ended_by_bot = errors.read_text(errors="replace").count("Aborting call on unexpected message") \
        if errors.exists() else 0
    lateness = [ms for _, call in line.finished if call.rtp for ms in call.rtp.pacing.late_ms]
    completed = sum(1 for _, call in line.finished if call.end_reason == "caller hung up")
    await line.stop()
    return {
        "calls": n, "completed": completed, "turns": len(turn_ms), "ended_by_bot": ended_by_bot,
        "turn_p50_ms": pct(turn_ms, 50), "turn_p95_ms": pct(turn_ms, 95),
        "rtp_late_p50_ms": pct(lateness, 50), "rtp_late_p95_ms": pct(lateness, 95),
        "rtp_late_max_ms": max(lateness) if lateness else float("nan"),
        "cpu_mean_pct": statistics.fmean(cpu) if cpu else float("nan"), "cpu_max_pct": max(cpu, default=0.0),
        "machine_cpu_pct": statistics.fmean(machine_cpu) if machine_cpu else float("nan"),
        "rss_mb": rss / 2**20, "sipp_rc": float(sipp.returncode or 0),
        **{f"{name}_p50": pct(v, 50) for name, v in parts.items()},
        **{f"{name}_p95": pct(v, 95) for name, v in parts.items()},
    }


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", default="1,4,8,16", help="comma-separated concurrency levels (default 1,4,8,16)")
    ap.add_argument("--minutes", type=float, default=2.0, help="how long each level runs (default 2)")
    ap.add_argument("--turn-secs", type=float, default=14.0, help="seconds between caller sentences (default 14)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the callers' start moments (default 1)")
    ap.add_argument("--lockstep", action="store_true",
                    help="all callers speak at the same moment (worst case) instead of each at its own")
    args = ap.parse_args()
    levels = [int(x) for x in args.calls.split(",") if x.strip()]
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("voicebot.pipeline.call").setLevel(logging.INFO)
    logging.getLogger("voicebot.pipeline").setLevel(logging.INFO)
    logging.getLogger("pipecat").setLevel(logging.ERROR)
    try:
        from loguru import logger  # pipecat logs through loguru: keep the bench output readable

        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    except ImportError:
        pass

    from voicebot.dialog.loader import load_engine
    from voicebot.escalation.handoff import handoff_writer
    from voicebot.pipeline.models import SharedModels

    tmp = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    settings = load_settings(environ={
        **os.environ,  # e.g. VOICEBOT_TTS_CACHE_MB=0 to measure with every sentence synthesized
        "VOICEBOT_SIP_PORT": "0", "VOICEBOT_REDIS_PREFIX": "bench:calls:",
        # This measures speed, not the dialog: callers must not be escalated off the bot mid-run (an
        # ASR slip under load would otherwise end a call with a REFER the bench caller cannot take).
        "VOICEBOT_ESCALATION_LOW_CONFIDENCE_TURNS": "99", "VOICEBOT_ESCALATION_NO_MATCH_TURNS": "99",
        "VOICEBOT_ESCALATION_REPEAT_TURNS": "99", "VOICEBOT_ESCALATION_FRUSTRATION_THRESHOLD": "1.0",
    })
    print(f"loading models ({settings.models.whisper}, piper) ...", flush=True)
    models = await asyncio.to_thread(SharedModels.load, settings)
    services = CallServices(settings=settings, models=models, dialog=load_engine(settings), store=None,
                            write_handoff=handoff_writer(settings))
    pcaps = caller_pcaps(tmp)
    scenario_file = tmp / "bench_caller.xml"
    scenario_file.write_text(scenario(pcaps, args.minutes, args.turn_secs, args.lockstep))

    print(f"speech cache {settings.tts.cache_mb} MB (0 = every bot sentence synthesized)")
    print(f"{psutil.cpu_count()} CPUs; {args.minutes} min per level; a caller sentence every {args.turn_secs}s; "
          + ("all callers in lockstep" if args.lockstep else "each caller starting at a random moment"))
    header = (f"{'calls':>5} {'done':>4} {'turns':>5} {'turn p50':>9} {'turn p95':>9} {'rtp late p50':>12} "
              f"{'p95':>6} {'max':>7} {'cpu mean':>8} {'cpu max':>7} {'rss MB':>7}")
    rows = []
    for n in levels:
        started = time.monotonic()
        phases = [] if args.lockstep else ["-inf", str(phases_file(tmp / f"phases{n}.csv", n, args.turn_secs,
                                                                     args.seed))]
        r = await run_level(settings, services, n, scenario_file, tmp, args.minutes, phases)
        rows.append(r)
        print(f"  N={n}: {time.monotonic() - started:.0f}s; {r['ended_by_bot']} call(s) ended early by the bot "
              "(transfer/goodbye), turns measured until then", flush=True)
    print(header)
    for r in rows:
        print(f"{r['calls']:>5} {r['completed']:>4} {r['turns']:>5} "
              f"{r['turn_p50_ms']:>7.0f}ms {r['turn_p95_ms']:>7.0f}ms "
              f"{r['rtp_late_p50_ms']:>10.2f}ms {r['rtp_late_p95_ms']:>4.1f}ms {r['rtp_late_max_ms']:>5.0f}ms "
              f"{r['cpu_mean_pct']:>7.0f}% {r['cpu_max_pct']:>6.0f}% {r['machine_cpu_pct']:>6.0f}% {r['rss_mb']:>7.0f}")
    print("\nwhere the time goes, ms after the caller stopped (cumulative p50 / p95):")
    print(f"{'calls':>5} " + " ".join(f"{name:>18}" for name in PARTS))
    for r in rows:
        print(f"{r['calls']:>5} " + " ".join(
            f"{r[name + '_p50']:>8.0f} / {r[name + '_p95']:>6.0f}" + " " * 2 for name in PARTS))
    models.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
