"""Where model files live under `models/`, and which languages they cover.

Layout (filled by `voicebot models install` / `add-voice`):

    models/whisper-base/        model.bin config.json tokenizer.json vocabulary.json  (faster-whisper)
    models/whisper-<name>/      any other CTranslate2 whisper model the user adds from a local path
    models/piper/<voice>.onnx   piper voices, each with <voice>.onnx.json beside it
    models/manifest.json        size + sha256 of every installed file, for verification
"""

from __future__ import annotations

import importlib.util
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


def espeak_engine() -> str | None:
    """What speaks espeak-ng voices here: the bundled library (espeakng-loader wheel), else the Debian binary."""
    if importlib.util.find_spec("espeakng_loader") is not None:
        return "libespeak-ng from the espeakng-loader package"
    binary = shutil.which("espeak-ng")
    return f"the espeak-ng binary ({binary})" if binary else None


def espeak_available() -> bool:
    return espeak_engine() is not None


ESPEAK = "espeak-ng"


def voice_in_use(models_dir: Path, voices_setting: dict[str, str], fallback: str, language: str) -> str:
    """One line saying which voice speaks `language` under these tts settings (for `voicebot models list`)."""
    name = voices_setting.get(language)
    engine = espeak_engine()
    espeak_line = f"espeak-ng ({{}}; robotic) via {engine}" if engine else "espeak-ng ({}) - NOT AVAILABLE"
    if name is not None and (name == ESPEAK or name.startswith(ESPEAK + ":")):
        return espeak_line.format(name.partition(":")[2] or language)
    if name is not None:
        try:
            v = voice_for(models_dir, name)
            return f"piper {v.name} ({v.sample_rate} Hz)"
        except ModelMissing:
            if fallback:
                return espeak_line.format(language) + f" - piper voice {name} is not installed"
            return f"MISSING piper voice {name}: start-up fails until it is added"
    if fallback:
        return espeak_line.format(language) + " (tts.fallback)"
    return "none: calls in this language are handed to a person"
