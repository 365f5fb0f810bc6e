"""What the turn detector sees at an espeak-ng comma pause, next to a real end of turn (issue 11, Polish).

    .venv/bin/python -m bench.comma_pause                    # both languages, speeds 120 / 160
    .venv/bin/python -m bench.comma_pause --no-whisper       # VAD + smart-turn only (seconds, not minutes)
    .venv/bin/python -m bench.comma_pause --calls 1          # + whole calls, before/after the per-language wait

Offline, in audio time (no real-time pacing): each sentence is spoken by espeak-ng at 8 kHz, followed by 1.5 s of
silence, and fed in 20 ms packets through the same models the TurnDetector uses (16 kHz Silero VAD, smart-turn
v3). At every pause where VAD confirms a stop (turn.vad_stop_secs) one row is printed: the pause's length (voice
to voice, audio time), smart-turn's completion probability there, and what speculative whisper hears of the
speech so far (the text the Transcriber's `sounds_unfinished` judges). A row is an end of turn only if it is the
last one. This is the measurement behind turn.smart_turn_min_silence_secs.

With --calls N, each sentence is also said N times in one real-time call through `run_call` (real flow, demo CRM,
no Redis), once with turn.smart_turn_min_silence_secs as configured ("after") and once with it empty ("before",
smart-turn's "complete" ends a turn at vad_stop_secs): printed are how many caller turns the dialog got and, for
the turn that ends the sentence, when it ended after the caller's last sound (pipeline stamp, ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipecat.audio.vad.vad_analyzer import VADState

from tests.support.number_turn import RATE, call, espeak
from voicebot.config import ConfigError, load_settings
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import StreamResampler, to_float
from voicebot.pipeline.turns import PAUSE_S, PREROLL_S
from voicebot.pipeline.turns import RATE as MODEL_RATE
from voicebot.pipeline.unfinished import sounds_finished, sounds_unfinished

# Development sentences (not a blind set): two commas inside, and a plain short one that is a whole turn.
SENTENCES = {
    "pl": ("Mam pytanie, gdzie jest moja paczka, bo czekam już tydzień.",
           "Dzień dobry, chciałbym zapytać, w jakich godzinach jesteście otwarci.",
           "Gdzie jest moja paczka?"),
    "en": ("I have a question, where is my parcel, I have been waiting for a week.",
           "Good morning, I would like to know, when are you open on Saturday?",
           "Where is my order?"),
}
PACKET_S = 0.02
TAIL_S = 1.5


async def pauses(models: SharedModels, pcm: bytes, language: str, whisper: bool) -> list[dict[str, Any]]:
    """One row per VAD-confirmed stop: pause length (s), smart-turn probability, speculative text."""
    vad, turn = models.new_vad(MODEL_RATE), models.new_turn_analyzer(MODEL_RATE)
    assert turn is not None, "turn.smart_turn is off"
    scores: list[float] = []
    predict = turn._predict_endpoint

    def recording_predict(audio: Any) -> dict[str, Any]:
        result = predict(audio)
        scores.append(result["probability"])
        return result

    turn._predict_endpoint = recording_predict  # type: ignore[method-assign]
    upsample = StreamResampler(RATE, MODEL_RATE)
    pcm += bytes(int(TAIL_S * RATE) * 2)
    step = int(PACKET_S * RATE) * 2
    t, in_turn, quiet, silence, heard = 0.0, False, False, 0.0, []
    spec: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    open_row: dict[str, Any] | None = None
    for i in range(0, len(pcm) - step + 1, step):
        chunk = upsample.resample_chunk(pcm[i:i + step])
        t += PACKET_S
        state = await vad.analyze_audio(chunk)
        voiced = state in (VADState.STARTING, VADState.SPEAKING)
        turn.append_audio(chunk, voiced)
        heard.append(chunk)
        if not in_turn and state != VADState.SPEAKING:
            del heard[:-int(PREROLL_S / PACKET_S)]  # as the TurnDetector: the first words reach whisper
            continue
        in_turn = True
        if voiced:
            if open_row is not None:
                open_row["pause_s"] = round(silence, 2)
                open_row = None
            silence, quiet, spec = 0.0, False, {}
            continue
        silence += PACKET_S
        if abs(silence - PAUSE_S) < PACKET_S / 2 and whisper:
            text = (await asyncio.to_thread(models.asr.transcribe_sync, to_float(b"".join(heard)), language)).text
            spec = {"text": text, "unfinished": sounds_unfinished(text, models.settings.turn),
                    "finished": sounds_finished(text, models.settings.turn)}
        if state == VADState.QUIET and not quiet:
            quiet = True
            await turn.analyze_end_of_turn()
            open_row = {"at_s": round(t, 2), "probability": round(scores[-1], 3) if scores else None,
                        "pause_s": None, **spec}
            rows.append(open_row)
    await vad.cleanup()
    await turn.cleanup()
    return rows


def spoken(speeds: list[int]) -> Iterator[tuple[str, int, str, bytes]]:
    """(language, speed, sentence, its espeak-ng audio at 8 kHz) for every sentence at every speed."""
    with tempfile.TemporaryDirectory() as tmp:
        for language, sentences in SENTENCES.items():
            voice = "pl" if language == "pl" else "en-us"
            for speed in speeds:
                for sentence in sentences:
                    yield language, speed, sentence, espeak(sentence, Path(tmp), speed, voice)


async def measure(speeds: list[int], whisper: bool) -> None:
    settings = load_settings()
    models = await asyncio.to_thread(SharedModels.load, settings)
    print(f"vad_stop_secs={settings.turn.vad_stop_secs} smart_turn_min_probability="
          f"{settings.turn.smart_turn_min_probability}")
    print(f"{'lang':<4} {'speed':>5} {'sentence':<28} {'at s':>5} {'pause ms':>8} {'p(end)':>6}  speculative text")
    try:
        for language, speed, sentence, pcm in spoken(speeds):
            for row in await pauses(models, pcm, language, whisper):
                pause = "end" if row["pause_s"] is None else f"{row['pause_s'] * 1000:.0f}"
                text = row.get("text", "")
                mark = " [unfinished]" if row.get("unfinished") else " [finished]" if row.get("finished") else ""
                print(f"{language:<4} {speed:>5} {sentence[:28]:<28} {row['at_s']:>5.2f} {pause:>8} "
                      f"{row['probability']:>6} {text}{mark}", flush=True)
    finally:
        models.close()


async def calls(speeds: list[int], runs: int) -> None:
    settings = load_settings(environ={**os.environ, "VOICEBOT_TTS_CACHE_MB": "0"})
    before = settings.model_copy(update={"turn": settings.turn.model_copy(
        update={"smart_turn_min_silence_secs": {}})})
    models = await asyncio.to_thread(SharedModels.load, settings)
    print(f"\nwhole calls, {runs} per row; after = smart_turn_min_silence_secs "
          f"{settings.turn.smart_turn_min_silence_secs}")
    print(f"{'lang':<4} {'speed':>5} {'sentence':<28} {'turns before':>12} {'turns after':>11} "
          f"{'end ms before':>13} {'end ms after':>12}")
    try:
        for language, speed, sentence, pcm in spoken(speeds):
            cells = []
            for label, config in (("before", before), ("after", settings)):
                turns, ends = [], []
                for run in range(runs):
                    said, timings, _ = await call(config, models, None, [pcm],
                                                  f"comma-{label}-{run}", language=language)
                    turns.append(len(said))
                    if timings:
                        ends.append(timings[-1]["end_of_turn_ms"])
                cells.append(("/".join(map(str, turns)),
                              f"{statistics.median(ends):.0f}" if ends else "-"))
            print(f"{language:<4} {speed:>5} {sentence[:28]:<28} {cells[0][0]:>12} {cells[1][0]:>11} "
                  f"{cells[0][1]:>13} {cells[1][1]:>12}", flush=True)
    finally:
        models.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speeds", default="120,160", help="espeak-ng words per minute, comma-separated")
    ap.add_argument("--no-whisper", action="store_true", help="skip the speculative transcripts")
    ap.add_argument("--calls", type=int, default=0, help="also run whole calls, this many per sentence and setting")
    ap.add_argument("--only-calls", action="store_true", help="skip the offline pause table")
    args = ap.parse_args()
    speeds = [int(s) for s in args.speeds.split(",")]
    try:
        if not args.only_calls:
            asyncio.run(measure(speeds, not args.no_whisper))
        if args.calls:
            asyncio.run(calls(speeds, args.calls))
    except ConfigError as exc:
        print(f"bench/comma_pause.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
