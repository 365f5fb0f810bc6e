"""Where to read a spoken order number back ("Did you say order 4 8 1 5 2?"): whisper's confidence on 8 kHz
number answers against whether the number it heard is right.

    .venv/bin/python -m bench.confirm_calibration [--out bench/results/confirm_calibration.md]

Fixed 5-digit numbers (seeded), said digit by digit by espeak-ng voices at three speeds in both languages, go
through the phone path without the network (bench/phone_asr.py: espeak-ng -> 8 kHz mu-law -> the pipeline's
resampler), are transcribed as at a digits question (no hints), and the number is taken as the dialog takes it:
the best transcript if it has five digits, else the first beam alternative that does (always read back).
For each threshold T the table says what `settings.confirm_below: T` would do with the best-transcript numbers:
how many wrong numbers would be used without asking (a wrong order looked up) and how many right ones would be
asked about (one extra "yes"). The flows' value is chosen from this table (bench/results/phone.md).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from bench.phone_asr import phone_audio
from voicebot.config import load_settings
from voicebot.dialog.numbers import parse_digits
from voicebot.pipeline.models import SharedModels

WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "pl": ("zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"),
}
SAY = {"en": "It is {}.", "pl": "To jest {}."}
VOICES = {"en": ("en-us", "en-gb", "en-us+f3", "en-gb-scotland"), "pl": ("pl", "pl+f3")}
SPEEDS = (130, 150, 170)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
BUCKETS = ((0.0, 0.3), (0.3, 0.45), (0.45, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 1.01))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=3, help="numbers per voice and speed")
    parser.add_argument("--out", type=Path, help="also write the tables (markdown) here")
    args = parser.parse_args()
    rng = random.Random(11)
    models = SharedModels.load(load_settings(environ={}))
    tmp = Path(tempfile.mkdtemp(prefix="confirm-cal-"))
    rows: list[tuple[str, float, bool, bool]] = []  # language, confidence, best has 5 digits, number right
    for lang, voices in VOICES.items():
        for voice in voices:
            for speed in SPEEDS:
                for _ in range(args.numbers):
                    want = "".join(rng.choice("0123456789") for _ in range(5))
                    text = SAY[lang].format(" ".join(WORDS[lang][int(d)] for d in want))
                    heard = models.asr.transcribe_sync(phone_audio(text, voice, speed, tmp), lang)
                    best = parse_digits(heard.text)
                    got = best if len(best) == 5 else next(
                        (d for alt in heard.alternatives if len(d := parse_digits(alt)) == 5), "")
                    rows.append((lang, heard.confidence, len(best) == 5, got == want))
                    print(f"{voice:15} {speed} {want} conf {heard.confidence:.2f} {'ok ' if got == want else 'BAD'} "
                          f"{heard.text!r}", flush=True)
    models.close()
    lines = ["| language | ASR confidence | number answers | five digits in the best transcript | right |",
             "|---|---|---|---|---|"]
    for lang in VOICES:
        for lo, hi in BUCKETS:
            sel = [r for r in rows if r[0] == lang and lo <= r[1] < hi]
            if sel:
                lines.append(f"| {lang} | {lo:.2f}–{min(hi, 1):.2f} | {len(sel)} | {sum(r[2] for r in sel)} | "
                             f"{sum(r[3] for r in sel)}/{len(sel)} ({sum(r[3] for r in sel) / len(sel):.0%}) |")
    lines += ["", "| confirm_below | language | wrong numbers used unasked | right numbers asked about |",
              "|---|---|---|---|"]
    for t in THRESHOLDS:
        for lang in VOICES:
            best = [r for r in rows if r[0] == lang and r[2]]  # the path the threshold decides
            lines.append(f"| {t:.1f} | {lang} | {sum(1 for r in best if r[1] >= t and not r[3])}/{len(best)} | "
                         f"{sum(1 for r in best if r[1] < t and r[3])}/{len(best)} |")
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
