"""Does a one-word answer ("Yes.", "No.", "Tak.") start a caller turn on an 8 kHz line? The calibration behind
turn.vad_start_secs (issue 11: phone_blind7 en-c8's "Yes." to a number read-back was lost twice, no turn at all).

    .venv/bin/python -m bench.short_answers                       # the configured VAD and two alternatives
    .venv/bin/python -m bench.short_answers --start 0.2,0.15      # these vad_start_secs values

Offline, in audio time: each answer is spoken by espeak-ng (English and Polish voices at their bench speeds),
G.711 mu-law at 8 kHz, at full and half level, started at five alignments within a 20 ms packet after 300 ms of
silence, resampled to 16 kHz and fed packet by packet to the Silero VAD the TurnDetector uses (the process's
shared model, turn.vad_confidence, turn.vad_stop_secs). An answer counts as heard when the VAD reaches SPEAKING
(a turn starts). Then the false side: starts (SPEAKING entered) on 20 s of line noise without speech (white noise
at -40/-30/-20 dBFS, clicks, a 50 Hz hum, breathing-like bursts) for the same settings.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess

import numpy as np
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from telephony import codecs
from voicebot.config import load_settings
from voicebot.pipeline.analyzers import SharedSileroVAD, load_vad_session
from voicebot.pipeline.pcm import resample

LINE_RATE, VAD_RATE = 8000, 16000
PACKET = VAD_RATE // 50 * 2  # bytes of 20 ms at 16 kHz
ANSWERS = {"en": ["Yes.", "No.", "Yeah."], "pl": ["Tak.", "Nie."]}
VOICES = {"en": [("en-gb", 160), ("en-gb+f2", 155), ("en-us", 170), ("en-us-nyc", 180), ("en-gb-scotland", 145)],
          "pl": [("pl", 150), ("pl+f4", 170)]}
OFFSETS_MS = range(0, 20, 4)
LEVELS = (1.0, 0.5)
NOISE_S = 20


def line(pcm: bytes) -> bytes:
    return codecs.decode(codecs.encode(pcm, "PCMU"), "PCMU")


def espeak(text: str, voice: str, speed: int) -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         capture_output=True, check=True).stdout
    raw = subprocess.run(["sox", "-t", "wav", "-", "-r", str(LINE_RATE), "-c", "1", "-b", "16", "-e", "signed",
                          "-t", "raw", "-"], input=wav, capture_output=True, check=True).stdout
    return line(raw)


def noises(rng: np.random.Generator) -> dict[str, bytes]:
    n = LINE_RATE * NOISE_S
    out: dict[str, np.ndarray] = {f"white {db}": rng.normal(0, 32768 * 10 ** (db / 20), n) for db in (-40, -30, -20)}
    clicks = np.zeros(n)
    for i in rng.integers(0, n - 80, 40):
        clicks[i:i + 40] = rng.normal(0, 8000, 40)
    t = np.arange(n) / LINE_RATE
    out["clicks"] = clicks
    out["hum"] = 3000 * np.sin(2 * np.pi * 50 * t) + 1500 * np.sin(2 * np.pi * 150 * t)
    bursts = np.sin(t * 2 * np.pi * 0.3) > 0.6
    out["breath"] = np.convolve(rng.normal(0, 1, n), np.ones(40) / 40, "same") * 3000 * bursts
    return {k: line(v.clip(-32768, 32767).astype(np.int16).tobytes()) for k, v in out.items()}


async def speaking_starts(session: object, params: VADParams, pcm8: np.ndarray) -> int:
    vad = SharedSileroVAD(session, sample_rate=VAD_RATE, params=params)  # type: ignore[arg-type]
    pcm16 = resample(pcm8.clip(-32768, 32767).astype(np.int16), LINE_RATE, VAD_RATE)
    starts, before = 0, VADState.QUIET
    for i in range(0, len(pcm16) - PACKET + 1, PACKET):
        state = await vad.analyze_audio(pcm16[i:i + PACKET])
        starts += state == VADState.SPEAKING and before != VADState.SPEAKING
        before = state
    return starts


async def main() -> None:
    turn = load_settings().turn
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", default=f"{turn.vad_start_secs},0.2,0.1",
                    help="comma-separated vad_start_secs values (default: the configured one, 0.2, 0.1)")
    args = ap.parse_args()
    session = load_vad_session()
    said = {(lang, w, v, s): np.frombuffer(espeak(w, v, s), np.int16).astype(np.float32)
            for lang in ANSWERS for w, (v, s) in itertools.product(ANSWERS[lang], VOICES[lang])}
    noise = noises(np.random.default_rng(1))
    print(f"turn.vad_confidence {turn.vad_confidence}, vad_stop_secs {turn.vad_stop_secs}; {len(said)} answers x "
          f"{len(OFFSETS_MS)} alignments x {len(LEVELS)} levels")
    print("| vad_start_secs | answers heard | missed | turns started on noise (20 s each) |")
    print("|---|---|---|---|")
    for start in sorted({float(x) for x in args.start.split(",")}, reverse=True):
        params = VADParams(confidence=turn.vad_confidence, start_secs=start, stop_secs=turn.vad_stop_secs)
        heard, missed = 0, []
        for (_lang, word, voice, _speed), audio in said.items():
            for offset, level in itertools.product(OFFSETS_MS, LEVELS):
                pad = np.zeros(LINE_RATE * (300 + offset) // 1000, np.float32)
                clip = np.concatenate([pad, audio * level, np.zeros(LINE_RATE, np.float32)])
                if await speaking_starts(session, params, clip):
                    heard += 1
                else:
                    missed.append(f"{word} {voice}")
        false = {k: await speaking_starts(session, params, np.frombuffer(v, np.int16).astype(np.float32))
                 for k, v in noise.items()}
        total = len(said) * len(OFFSETS_MS) * len(LEVELS)
        print(f"| {start:.2f} | {heard}/{total} | {', '.join(sorted(set(missed))) or '-'} | {false} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
