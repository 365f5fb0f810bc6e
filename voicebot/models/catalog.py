"""Where model files live under `models/`, and which languages they cover.

Layout (filled by `voicebot models install` / `add-voice`):

    models/whisper-base/        model.bin config.json tokenizer.json vocabulary.json  (faster-whisper)
    models/whisper-<name>/      any other CTranslate2 whisper model the user adds from a local path
    models/piper/<voice>.onnx   piper voices, each with <voice>.onnx.json beside it
    models/manifest.json        size + sha256 of every installed file, for verification
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json")
# Whisper is multilingual; these are the languages our flows ship for.
ASR_LANGUAGES = ("en", "pl")


class ModelMissing(RuntimeError):
    """A model or voice the configuration needs is not installed; the message says how to add it."""


@dataclass(frozen=True)
class Voice:
    name: str  # e.g. en_US-joe-medium
    language: str  # ISO 639-1 family, e.g. "en"
    sample_rate: int
    onnx: Path
    config: Path


def whisper_dir(models_dir: Path, name: str = "whisper-base") -> Path:
    path = models_dir / name
    missing = [f for f in WHISPER_FILES if not (path / f).exists()]
    if missing:
        raise ModelMissing(
            f"whisper model '{name}' is not installed in {path} (missing {', '.join(missing)}); "
            "run `voicebot models install` (or `make models`)"
        )
    return path


def voices(models_dir: Path) -> list[Voice]:
    found = []
    for onnx in sorted((models_dir / "piper").glob("*.onnx")):
        cfg = onnx.with_suffix(".onnx.json")
        if not cfg.exists():
            continue
        meta = json.loads(cfg.read_text(encoding="utf-8"))
        lang = meta.get("language", {}).get("family") or meta.get("espeak", {}).get("voice", "?")[:2]
        found.append(Voice(onnx.stem, lang, int(meta["audio"]["sample_rate"]), onnx, cfg))
    return found


def voice_for(models_dir: Path, name: str) -> Voice:
    for v in voices(models_dir):
        if v.name == name:
            return v
    raise ModelMissing(
        f"piper voice '{name}' is not installed in {models_dir / 'piper'}; add it with "
        f"`voicebot models add-voice PATH/{name}.onnx` (the .onnx.json must sit beside it), "
        'or set tts.fallback = "espeak-ng" in config.toml'
    )


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None
