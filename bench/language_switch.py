"""Calibrate `[languages] switch_sure_probability` and `switch_min_confidence`: when whisper names another language
on a caller's first turn, is it right?

On a Polish line (the call starts in Polish, detection on, as `voicebot serve` runs a line whose default language is
Polish), each first turn is spoken by an espeak-ng voice (bench/language_id.py's turns, voices and line: 8 kHz
G.711 mu-law with a little noise), Polish callers and English callers. For every turn it prints the language whisper
names among (pl, en), its share, and how well the turn reads in that language (ASR confidence of the decode, the
product's beam); then what the shipped settings decide: a Polish caller switched to English hears English words for
the rest of the call (a wrong switch), an English caller left in Polish is the opposite mistake.

    .venv/bin/python -m bench.language_switch [--voices 4]

Numbers from a loaded machine are still right: nothing here is timed.
"""

from __future__ import annotations

import argparse

import numpy as np
from faster_whisper import WhisperModel

from bench.language_id import SPEEDS, TURNS, espeak, phone_line
from voicebot.config import PROJECT_ROOT, load_settings
from voicebot.pipeline import language_id
from voicebot.pipeline.asr import SpeechRecognizer

VOICES = {"pl": ("pl", "pl+m3", "pl+f2", "pl+f3"), "en": ("en-us", "en-gb", "en-gb+m3", "en-us+f2")}
LINE = "pl"  # whisper base over-names English, not Polish (bench/language_id.py): the Polish line is the risk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", type=int, default=4, help="espeak-ng voices per language (1-4)")
    args = parser.parse_args()
    settings = load_settings()
    langs = settings.languages
    model = WhisperModel(str(PROJECT_ROOT / settings.models.dir / settings.models.whisper), device="cpu",
                         compute_type="int8")
    asr = SpeechRecognizer(model, beam_size=settings.asr.beam_size)
    rng = np.random.default_rng(17)
    rows: list[tuple[str, str, float, float, str]] = []  # caller's language, named, share, reading confidence, text
    try:
        for lang, texts in TURNS.items():
            for i, text in enumerate(texts):
                for v, voice in enumerate(VOICES[lang][: args.voices]):
                    audio = phone_line(espeak(text, voice, SPEEDS[(i + v) % len(SPEEDS)]), rng)
                    shares = language_id.restricted(asr.language_probabilities(model.feature_extractor(audio)),
                                                    ("pl", "en"))
                    named = language_id.choose(shares, LINE, langs.detect_min_probability)
                    read = asr.transcribe_sync(audio, named)
                    rows.append((lang, named, shares[named], read.confidence, read.text))
    finally:
        asr.close()
    print(f"whisper {settings.models.whisper}, beam {settings.asr.beam_size}, a {LINE} line, "
          f"detect_min_probability {langs.detect_min_probability}, switch_sure_probability "
          f"{langs.switch_sure_probability}, switch_min_confidence {langs.switch_min_confidence}\n")
    print("| caller | named | share | read at | switched | heard |")
    print("|---|---|---|---|---|---|")
    for lang, named, share, conf, text in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        switched = "yes" if _switches(named, share, conf, langs) else "no"
        print(f"| {lang} | {named} | {share:.2f} | {conf:.2f} | {switched} | {text[:60]} |")
    print()
    for lang in ("pl", "en"):
        mine = [r for r in rows if r[0] == lang]
        named_en = [r for r in mine if r[1] == "en"]
        switched = [r for r in mine if _switches(r[1], r[2], r[3], langs)]
        print(f"{lang} callers: {len(mine)} turns, whisper named English for {len(named_en)}"
              + (f" (shares {_spread([r[2] for r in named_en])}, read at {_spread([r[3] for r in named_en])})"
                 if named_en else "")
              + f"; switched to English with the shipped settings: {len(switched)}/{len(mine)}")
    return 0


def _switches(named: str, share: float, confidence: float, langs) -> bool:
    """The product's rule (voicebot/pipeline/asr.py, transcribe_sync) for a turn on the LINE line."""
    if named == LINE:
        return False
    if not language_id.needs_reading(named, share, langs.switch_sure_probability):
        return True
    return confidence >= langs.switch_min_confidence


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
