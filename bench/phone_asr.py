"""Whisper on phone audio, offline: which recognition settings help 8 kHz G.711 speech (dev sentences only).

    .venv/bin/python -m bench.phone_asr

Each dev sentence (bench/data/phone_dev.yaml voices) goes through the phone path without the network:
espeak-ng -> sox to 8 kHz mu-law -> G.711 decode -> the pipeline's 8->16 kHz resampler, with 1 s of silence
before (the turn detector's pre-roll) and 0.5 s after. Printed per variant: WER per language, and for number
answers how many came out with the right digits. Variants:
  plain     no context
  hints     the flow's `settings.hints` (menu words) as whisper's previous text, at every turn
  fit       plain, but a number answer takes the first beam hypothesis with the expected digit count (what the
            dialog does with `Transcript.alternatives`)
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import yaml

from bench.phone import DATA, edits, words
from tests.support.sip_helpers import ulaw_to_pcm
from voicebot.config import PROJECT_ROOT, load_settings
from voicebot.dialog.numbers import parse_digits
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.pcm import resample, to_float


def phone_audio(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    wav, ul = tmp / "a.wav", tmp / "a.ul"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
    subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(ul)], check=True)
    audio = to_float(np.frombuffer(resample(ulaw_to_pcm(ul.read_bytes()), 8000, 16000), dtype=np.int16))
    return np.concatenate([np.zeros(16000, np.float32), audio, np.zeros(8000, np.float32)])


def main() -> int:
    convs = [c for c in yaml.safe_load((DATA / "phone_dev.yaml").read_text())["conversations"] if c["voice"] != "piper"]
    hints = {lang: yaml.safe_load((PROJECT_ROOT / f"dialogs/customer_service.{lang}.yaml").read_text("utf-8"))
             ["settings"]["hints"] for lang in ("en", "pl")}
    models = SharedModels.load(load_settings(environ={}))
    tmp = Path(tempfile.mkdtemp(prefix="phone-asr-"))
    errors: dict[tuple[str, str], list[int]] = {}
    numbers: dict[str, list[int]] = {}
    for conv in convs:
        lang = conv["language"]
        for text in conv["turns"]:
            audio = phone_audio(text, conv["voice"], conv.get("speed", 150), tmp)
            want = parse_digits(text)
            plain = models.asr.transcribe_sync(audio, lang)
            prompted = models.asr.transcribe_sync(audio, lang, hints[lang])
            fitting = next((t for t in (plain.text, *plain.alternatives) if len(parse_digits(t)) == len(want)),
                           plain.text) if len(want) >= 5 else plain.text
            for name, heard in (("plain", plain.text), ("hints", prompted.text), ("fit", fitting)):
                e = errors.setdefault((name, lang), [0, 0])
                e[0] += edits(words(text), words(heard))
                e[1] += len(words(text))
                if len(want) >= 5:
                    n = numbers.setdefault(name, [0, 0])
                    n[0] += parse_digits(heard) == want
                    n[1] += 1
            print(f"{conv['voice']:10} {text[:40]:40} plain: {plain.text!r} | hints: {prompted.text!r} | "
                  f"fit: {fitting!r}", flush=True)
    print(f"\n{'variant':8} {'WER en':>8} {'WER pl':>8} {'numbers right':>14}")
    for name in ("plain", "hints", "fit"):
        en, pl = errors.get((name, "en"), [0, 1]), errors.get((name, "pl"), [0, 1])
        right, total = numbers.get(name, [0, 0])
        print(f"{name:8} {en[0] / en[1]:>8.1%} {pl[0] / pl[1]:>8.1%} {right:>8}/{total}")
    models.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
