"""Order numbers over an 8 kHz phone line: whisper's first pass vs. the digits-only second look (issue 11).

    .venv/bin/python -m bench.number_asr                  # every voice, speeds 140 and 170
    .venv/bin/python -m bench.number_asr --numbers 3      # a short smoke run

Each number is spoken by espeak-ng (English: en-gb, en-us, en-gb+f2, en-029, en-us-nyc; Polish: pl, pl+f2, pl+m3;
speeds 140 and 170), digit by digit, and in English every other number as "It's four eight one five two.";
it goes through the SIP line's path (sox to 8 kHz mu-law, G.711 decode, the pipeline's 8->16 kHz resampler,
see bench/phone_asr.py). First pass: the turn's transcript as the pipeline makes it at the order-number question
(no hints there), exact when its text or one of whisper's other hypotheses (what the dialog reads) has the
number. Second look: what the Transcriber does on a turn that is not the whole number and that the flow's
classifier makes nothing of: the digits-only decode, taken only if it has five digits. Printed per language:
numbers read exactly, turns that got a second look, wrong five-digit numbers taken, and the second look's time.
The numbers are tuning numbers, not the demo orders (48152, 12345, 55501, 90210).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.phone_asr import phone_audio
from voicebot.config import PROJECT_ROOT, BusinessHoursSettings, load_settings
from voicebot.dialog.numbers import parse_digits
from voicebot.dialog.registry import compile_flow
from voicebot.dialog.slots import bare_yes_no, cannot_answer
from voicebot.pipeline.models import SharedModels

VOICES = {"en": ["en-gb", "en-us", "en-gb+f2", "en-029", "en-us-nyc"], "pl": ["pl", "pl+f2", "pl+m3"]}
SPEEDS = [140, 170]
NUMBERS = ["37046", "61893", "20758", "94321", "73065", "58219", "16470", "80934"]
WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "pl": ["zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"],
}


def spoken(number: str, language: str, sentence: bool) -> str:
    digits = " ".join(WORDS[language][int(d)] for d in number)
    return f"It's {digits}." if sentence else digits


def first_pass(text: str, alternatives: tuple[str, ...], length: int) -> str:
    """The number the dialog reads: the best transcript's digits, else the first hypothesis with `length`."""
    for candidate in (text, *alternatives):
        if len(found := parse_digits(candidate)) == length:
            return found
    return parse_digits(text)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=len(NUMBERS))
    args = parser.parse_args()
    models = SharedModels.load(load_settings(environ={}))
    asr = models.asr
    t0 = time.perf_counter()
    asr._digits_only()  # the once-per-process token list, timed on its own
    print(f"digits-only token list: {len(asr._digits_only())} suppressed ids, built in "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms")
    tmp = Path(tempfile.mkdtemp(prefix="number-asr-"))
    rows = []
    for lang, voices in VOICES.items():
        flow = compile_flow((PROJECT_ROOT / f"dialogs/customer_service.{lang}.yaml").read_text("utf-8"), lang,
                            BusinessHoursSettings(), flows_dir=PROJECT_ROOT / "dialogs")
        nlu, confirm_below = flow.nlu, flow.flow.settings.confirm_below or 0.0
        stats = {"n": 0, "first": 0, "second": 0, "looks": 0, "wrong_first": 0, "wrong_second": 0, "taken": 0,
                 "read_back": 0, "wrong_unconfirmed": 0}
        added: list[float] = []
        first_ms: list[float] = []
        for voice in voices:
            for speed in SPEEDS:
                for i, number in enumerate(NUMBERS[:args.numbers]):
                    text = spoken(number, lang, sentence=lang == "en" and i % 2 == 1)
                    audio = phone_audio(text, voice, speed, tmp)
                    heard = asr.transcribe_sync(audio, lang)
                    first_ms.append(heard.compute_ms)
                    got = first_pass(heard.text, heard.alternatives, len(number))
                    final = got
                    meaning = nlu.classify(heard.text).intent is not None or bare_yes_no(heard.text, lang) is not None \
                        or cannot_answer(heard.text)
                    note = ""
                    if len(got) != len(number) and not meaning:
                        look = asr.transcribe_digits_sync(audio, lang)
                        added.append(look.compute_ms)
                        stats["looks"] += 1
                        if len(parse_digits(look.text)) == len(number):
                            final = parse_digits(look.text)
                        note = f" -> {look.text!r} ({look.confidence:.2f})"
                        if len(parse_digits(look.text)) == len(number):
                            stats["taken"] += 1
                            stats["read_back"] += look.confidence < confirm_below
                    stats["n"] += 1
                    stats["first"] += got == number
                    stats["second"] += final == number
                    stats["wrong_first"] += len(got) == len(number) and got != number
                    stats["wrong_second"] += len(final) == len(number) and final != number
                    # A taken second look below the flow's confirm_below is read back ("Did you say order ...?").
                    stats["wrong_unconfirmed"] += bool(note) and final != got and final != number \
                        and look.confidence >= confirm_below
                    mark = "ok" if final == number else "--"
                    print(f"  {mark} {lang} {voice:<9} {speed} {number}: {heard.text!r}{note}", flush=True)
        rows.append((lang, stats, added, first_ms))
    print()
    print(f"{'lang':<4} {'numbers':>7} {'first pass':>10} {'+ 2nd look':>10} {'looks':>5} {'taken':>5} "
          f"{'read back':>9} {'wrong 5-digit':>13} {'wrong, not read back':>20} {'1st pass ms p50':>15} "
          f"{'2nd look ms p50/max':>19}")
    for lang, s, added, first_ms in rows:
        n = s["n"]
        look_ms = f"{statistics.median(added):.0f}/{max(added):.0f}" if added else "-"
        print(f"{lang:<4} {n:>7} {s['first'] / n:>10.0%} {s['second'] / n:>10.0%} {s['looks']:>5} {s['taken']:>5} "
              f"{s['read_back']:>9} {s['wrong_first']:>6} -> {s['wrong_second']:<3} {s['wrong_unconfirmed']:>20} "
              f"{statistics.median(first_ms):>15.0f} {look_ms:>19}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
