"""Calibrate `[languages] detect_min_probability`: how whisper tells Polish from English callers on a phone line.

Each caller turn is an espeak-ng voice (several variants and speeds, not the bot's own default voice), sent
through 8 kHz G.711 mu-law like a SIP call, with a little line noise, then scored by whisper's language
detection on the same short window the recogniser uses. For every threshold it prints how many Polish turns
on an English line would switch to Polish (wanted) and how many English turns would switch away (a wrong
switch, which costs an English caller the whole call), and the threshold the config ships: the highest
Polish share any English turn got plus a 0.3 margin (voices and lines we did not try), rounded up to the
next 0.05, and never below 0.55 (Polish must clearly beat English).

    .venv/bin/python -m bench.language_id [--model whisper-base]

Numbers from a shared, loaded machine are still right: nothing here is timed.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import wave
from io import BytesIO

import numpy as np

from telephony import codecs
from voicebot.config import PROJECT_ROOT
from voicebot.pipeline import language_id
from voicebot.pipeline.pcm import resample, to_float

# First turns as callers say them; written for this bench, not taken from the flows' examples.
TURNS = {
    "pl": [
        "Dzień dobry, dzwonię w sprawie mojej paczki.",
        "Chciałbym zwrócić buty, które kupiłem w zeszłym tygodniu.",
        "Gdzie jest moje zamówienie?",
        "Chcę zmienić adres dostawy.",
        "Proszę połączyć mnie z konsultantem.",
        "Nie dostałem jeszcze faktury za zakupy.",
        "Kiedy otwieracie sklep w sobotę?",
        "Mam problem z płatnością kartą.",
    ],
    "en": [
        "Hello, I'm calling about my parcel.",
        "I would like to return the shoes I bought last week.",
        "Where is my order?",
        "I want to change my delivery address.",
        "Please put me through to a person.",
        "I still haven't received the invoice.",
        "When are you open on Saturday?",
        "My card payment didn't go through.",
    ],
}
VOICES = {"pl": ("pl", "pl+m3", "pl+f2"), "en": ("en-us", "en-gb+m3", "en-us+f2")}
SPEEDS = (140, 175, 210)  # words per minute
RATE = 8000
NOISE_DBFS = -55.0
MARGIN = 0.3


def espeak(text: str, voice: str, speed: int) -> np.ndarray:
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         capture_output=True, check=True).stdout
    with wave.open(BytesIO(out)) as wav:
        rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    return np.frombuffer(resample(np.frombuffer(pcm, dtype=np.int16), rate, RATE), dtype=np.int16)


def phone_line(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """8 kHz audio with line noise, through mu-law and back, at whisper's 16 kHz as float."""
    noise = rng.normal(0, 32768 * 10 ** (NOISE_DBFS / 20), len(audio))
    pcm = np.clip(audio + noise, -32768, 32767).astype(np.int16).tobytes()
    heard = codecs.decode(codecs.encode(pcm, "PCMU"), "PCMU")
    return to_float(resample(np.frombuffer(heard, dtype=np.int16), RATE, 16000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="whisper-base")
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    from voicebot.pipeline.asr import SpeechRecognizer

    model = WhisperModel(str(PROJECT_ROOT / "models" / args.model), device="cpu", compute_type="int8")
    asr = SpeechRecognizer(model, beam_size=1)
    rng = np.random.default_rng(12)
    shares: dict[str, list[float]] = {"pl": [], "en": []}  # each turn's Polish share among {pl, en}
    top_named: dict[str, int] = {"pl": 0, "en": 0}  # turns where whisper's own first choice was right
    for lang, texts in TURNS.items():
        for i, text in enumerate(texts):
            for voice in VOICES[lang]:
                speed = SPEEDS[(i + VOICES[lang].index(voice)) % len(SPEEDS)]
                audio = phone_line(espeak(text, voice, speed), rng)
                probs = asr.language_probabilities(model.feature_extractor(audio))
                top_named[lang] += max(probs, key=lambda k: probs[k]) == lang
                shares[lang].append(language_id.restricted(probs, ("pl", "en"))["pl"])
    asr.close()
    n = {lang: len(v) for lang, v in shares.items()}
    print(f"whisper {args.model}, {n['pl']} Polish and {n['en']} English espeak-ng turns, 8 kHz mu-law + noise")
    for lang in ("pl", "en"):
        print(f"  whisper's first choice of ~100 languages is {lang}: {top_named[lang]}/{n[lang]}")
    print(f"  Polish share among (pl, en), Polish turns : {_spread(shares['pl'])}")
    print(f"  Polish share among (pl, en), English turns: {_spread(shares['en'])}")
    print("\nthreshold  Polish caller on an English line switched   English caller switched to Polish (wrong)")
    for t in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99):
        hit = sum(s >= t for s in shares["pl"])
        wrong = sum(s >= t for s in shares["en"])
        print(f"  {t:<8} {hit:>3}/{n['pl']} ({100 * hit / n['pl']:3.0f} %)"
              f"{'':>24}{wrong:>3}/{n['en']} ({100 * wrong / n['en']:3.0f} %)")
    safe = max(shares["en"]) if shares["en"] else 0.5
    pick = min(0.99, max(0.55, math.ceil((safe + MARGIN) * 20) / 20))
    hit = sum(s >= pick for s in shares["pl"])
    print(f"\nhighest Polish share of an English turn: {safe:.3f} -> detect_min_probability = {pick:.2f} "
          f"(switches {hit}/{n['pl']} Polish turns, 0/{n['en']} English)")
    return 0


def _spread(values: list[float]) -> str:
    v = np.array(values)
    return f"min {v.min():.3f}  median {np.median(v):.3f}  max {v.max():.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
