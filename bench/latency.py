"""Voice-to-voice latency of our pipeline vs. a stock-pipecat baseline, on the same caller audio.

    .venv/bin/python -m bench.latency                      # 20 turns, ours + baseline, table on stdout
    .venv/bin/python -m bench.latency --turns 2 --no-baseline   # quick smoke check
    .venv/bin/python -m bench.latency --json out.json

Latency of a turn = from the caller's LAST VOICED 20 ms frame (we synthesize the caller, so we know it)
to the FIRST BOT AUDIO BYTE handed to the line. Caller audio is streamed in real time for both
pipelines, so end-of-turn detection is part of the number. Both run in this process, their calls
alternating (never two at the same time), measured by the same monotonic clock.

A turn the pipeline cut at a pause mid-sentence and answered while the caller was still speaking is
reported as "cut off", not as a fast answer. The baseline's reply texts are the ones our dialog gave.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench._audio import CallerVoice, Scenario, Utterance, build_script, make_utterance
from bench._caller import ScriptedCaller, TurnMeasure
from bench._report import SystemResult, render
from voicebot.config import ConfigError, Settings, load_settings

BASELINE_RATE = 16000  # the stock WhisperSTTService reads raw PCM as 16 kHz
# What the baseline says when neither our pipeline nor our dialog could run (then the ratio means little).
FALLBACK_REPLY = "Thank you. Is there anything else I can help you with?"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/latency.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--turns", type=int, default=20, help="caller turns in all (split into calls of <= 4 turns)")
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the stock-pipecat baseline on the same audio (default: yes)")
    p.add_argument("--json", type=Path, help="also write every number to this JSON file")
    p.add_argument("--line-rate", type=int, choices=(8000, 16000), default=16000,
                   help="sample rate of our phone line (the baseline always gets the 16 kHz copy)")
    p.add_argument("--config", type=Path, help="config.toml to use (default: the project's)")
    p.add_argument("--seed", type=int, default=7, help="seed of the line noise")
    return p.parse_args(argv)


def _rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _quiet_pipecat_logs() -> None:
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")


def _synthesize(script: list[Scenario], voice: CallerVoice, rates: set[int]) -> dict[int, list[list[Utterance]]]:
    """Per sample rate: per call, the utterances of its turns (same speech at every rate)."""
    out: dict[int, list[list[Utterance]]] = {r: [] for r in rates}
    for ci, call in enumerate(script):
        raw = [voice.synthesize(t.text, variant=ci + ti) for ti, t in enumerate(call.turns)]
        for r in rates:
            out[r].append([make_utterance(a, voice.native_rate, t.text, r) for a, t in zip(raw, call.turns,
                                                                                          strict=True)])
    return out


def _caller(name: str, utts: list[Utterance], seed: int, greeting: bool) -> ScriptedCaller:
    # Same seed for both pipelines: the same line noise under the same sentences.
    return ScriptedCaller(name, utts, np.random.default_rng(seed), expect_greeting=greeting)


async def _start_ours(settings: Settings) -> tuple[Any, SystemResult] | None:
    from bench._ours import OursHarness

    rss0 = _rss_mb()
    try:
        harness = await OursHarness.start(settings)
    except Exception as exc:  # our pipeline is missing or broken: say so, and still measure the baseline
        print(f"our pipeline could not be run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    result = SystemResult("ours", [], load_secs=harness.load_secs, rss_mb=_rss_mb())
    result.notes.append(f"RSS before loading its models {rss0:.0f} MB")
    return harness, result


async def _start_baseline(settings: Settings, replies: dict[tuple[str, int], str]) -> tuple[Any, SystemResult]:
    from bench._baseline import BaselineHarness, load_baseline

    models_dir = settings.path(settings.models.dir)
    rss0 = _rss_mb()
    models = load_baseline(models_dir / settings.models.whisper, models_dir / "piper", settings.tts.voices["en"],
                           settings.models.compute_type)
    result = SystemResult("baseline", [], load_secs=models.load_secs, rss_mb=_rss_mb())
    result.notes.append(f"RSS before loading its models {rss0:.0f} MB (ours loaded too, if it ran)")

    def reply_for(turn: TurnMeasure) -> str:
        return replies.get((turn.call, turn.turn)) or FALLBACK_REPLY

    harness = BaselineHarness(models, reply_for)
    await harness.start()
    return harness, result


async def _typed_replies(settings: Settings, script: list[Scenario]) -> dict[tuple[str, int], str]:
    """Without our audio pipeline, the baseline still speaks what our dialog answers to the typed sentences."""
    from bench._ours import typed_replies

    try:
        return await typed_replies(settings, [(c.name, [t.text for t in c.turns]) for c in script])
    except Exception as exc:
        print(f"our dialog could not be run either ({type(exc).__name__}: {exc}); the baseline answers every"
              f" turn with {FALLBACK_REPLY!r}", file=sys.stderr)
        return {}


async def _measure(args: argparse.Namespace, settings: Settings, script: list[Scenario],
                   audio: dict[int, list[list[Utterance]]]) -> tuple[SystemResult | None, SystemResult | None]:
    """Calls alternate between the two pipelines (ours first: the baseline speaks the replies ours gave),
    so a change in the shared machine's load hits both alike. Never both at the same time."""
    started = await _start_ours(settings)
    replies: dict[tuple[str, int], str] = {}
    if started is None and args.baseline:
        replies = await _typed_replies(settings, script)
    base_started = await _start_baseline(settings, replies) if args.baseline else None
    ours_h, ours = started if started else (None, None)
    base_h, base = base_started if base_started else (None, None)
    try:
        for i, call in enumerate(script):
            if ours_h is not None and ours is not None:
                caller = _caller(call.name, audio[args.line_rate][i], args.seed + i, greeting=True)
                outcome = await ours_h.run_call(caller)
                ours.turns.extend(caller.turns)
                replies.update({(t.call, t.turn): t.reply_text for t in caller.turns if t.reply_text})
                ours.late_chunks += caller.late_chunks
                if outcome:
                    ours.notes.append(f"{caller.call}: {outcome}")
            if base_h is not None and base is not None:
                caller = _caller(call.name, audio[BASELINE_RATE][i], args.seed + i, greeting=False)
                await base_h.run_call(caller)
                base.turns.extend(caller.turns)
                if caller.overlaps:
                    base.notes.append(f"{caller.call}: bot audio over the caller ({caller.overlaps}x)")
                base.late_chunks += caller.late_chunks
        if ours_h is not None and ours is not None:
            ours.notes.append(ours_h.speech_stats())
        if base_h is not None and base is not None and base_h.unanswered:
            base.notes.append(f"the VAD cut {base_h.unanswered} sentence(s) mid-way; those fragments were not"
                              " answered (generous to the baseline)")
    finally:
        if ours_h is not None:
            await ours_h.close()
        if base_h is not None:
            await base_h.close()
    return ours, base


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    script = build_script(args.turns)
    models_dir = settings.path(settings.models.dir)
    voice_path = models_dir / "piper" / f"{settings.tts.voices['en']}.onnx"
    t = time.perf_counter()
    caller_voice = CallerVoice(voice_path)
    audio = _synthesize(script, caller_voice, {args.line_rate, BASELINE_RATE})
    del caller_voice
    print(f"synthesized {args.turns} caller turns in {len(script)} calls ({time.perf_counter() - t:.1f} s)",
          file=sys.stderr)

    load_before = os.getloadavg()[0]
    ours, base = await _measure(args, settings, script, audio)

    from bench._speed import measure_speed

    reply_texts = sorted({t.reply_text for s in (ours, base) if s for t in s.turns if t.reply_text})
    speed = measure_speed(models_dir / settings.models.whisper, voice_path, settings.models.compute_type,
                          settings.models.cpu_threads, settings.asr.beam_size,
                          [u for call in audio[BASELINE_RATE] for u in call], reply_texts)
    machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, 1-min load average {load_before:.1f} at the start,"
               f" {os.getloadavg()[0]:.1f} at the end")
    print(render(ours, base, speed, machine, _setup(args, settings)))
    if args.json:
        args.json.write_text(json.dumps({
            "turns_requested": args.turns, "line_rate": args.line_rate, "machine": machine,
            "ours": ours.to_json() if ours else None, "baseline": base.to_json() if base else None,
            "speed": vars(speed),
        }, indent=2))
    return 0 if ours else 2


def _setup(args: argparse.Namespace, settings: Settings) -> list[str]:
    m, t, a = settings.models, settings.turn, settings.asr
    lines = [
        f"ours: line {args.line_rate} Hz; {m.whisper} {m.compute_type} beam {a.beam_size}, speculative ASR"
        f" {'on' if a.speculative else 'off'}; Silero VAD stop {t.vad_stop_secs}s + smart-turn"
        f" {'on' if t.smart_turn else 'off'} (max silence {t.max_silence_secs}s); piper streamed by sentence",
        f"baseline: line {BASELINE_RATE} Hz; VADProcessor(SileroVADAnalyzer()) defaults; WhisperSTTService"
        f" ({m.whisper}, {m.compute_type}); PiperTTSService; whole reply synthesized before it is sent",
    ]
    return lines if args.baseline else lines[:1]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.turns < 1:
        print("--turns must be at least 1", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    _quiet_pipecat_logs()
    try:
        return asyncio.run(_main(args, settings))
    except FileNotFoundError as exc:  # models not installed: say which, not a traceback
        print(f"bench/latency.py: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
