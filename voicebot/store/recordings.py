"""The index of call recordings in Redis (`recording:{call_id}`, a hash) and their files on disk.

The audio itself is a file under privacy.recordings_dir (written by `voicebot.pipeline.recorder`); Redis
holds where it is and what it is, one key per call, so the web UI can play it and retention can delete it
with the call. The entry is written when the call ends (through the call store's write buffer, so a Redis
outage delays it, never loses it). A file whose entry never arrived (the process died mid-call) is still
deleted by retention: `delete_stale_files` goes by the file's age.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from voicebot.store.calls import CallStore

log = logging.getLogger(__name__)

# Both directions in one file: the caller on the left channel, the bot on the right (a supervisor can
# listen to either side or both); Ogg Opus, a speech codec every browser plays.
FILE_SUFFIX = ".ogg"
CONTENT_TYPE = "audio/ogg"


@dataclass(frozen=True)
class Recording:
    call_id: str
    path: Path
    content_type: str
    seconds: float
    state: str  # complete | failed (a write failed mid-call: the file holds the audio up to then)
    error: str = ""

    @classmethod
    def from_fields(cls, call_id: str, fields: dict[str, str]) -> Recording:
        return cls(call_id=call_id, path=Path(fields.get("path", "")),
                   content_type=fields.get("content_type", CONTENT_TYPE),
                   seconds=float(fields.get("seconds", 0) or 0), state=fields.get("state", ""),
                   error=fields.get("error", ""))


class RecordingIndex:
    """`recording:{call_id}` entries, written through the call store (its buffer and its call ids)."""

    def __init__(self, store: CallStore) -> None:
        self.store = store

    async def add(self, call_id: str, path: Path, *, seconds: float, state: str, error: str = "") -> None:
        fields = {"path": str(path), "content_type": CONTENT_TYPE, "seconds": f"{seconds:.2f}", "state": state,
                  "error": error[:300], "ended_at": str(time.time())}

        async def op() -> None:
            # stored_id: the call's record may live under another id (see CallStore.start_call)
            await self.store.client.hset(self.store.keys.recording(self.store.stored_id(call_id)), mapping=fields)

        await self.store.buffer.write(f"recording {call_id}", op)

    async def get(self, call_id: str) -> Recording | None:
        await self.store.buffer.settle()
        fields = await self.store.client.hgetall(self.store.keys.recording(call_id))
        return Recording.from_fields(call_id, fields) if fields.get("path") else None

    async def delete(self, call_ids: list[str]) -> int:
        """Delete these calls' recordings, files first (a file without an entry is still found by age);
        returns how many files were removed."""
        removed = 0
        for call_id in call_ids:
            found = await self.get(call_id)
            if found is not None and _unlink(found.path):
                removed += 1
        if call_ids:
            await self.store.client.delete(*(self.store.keys.recording(c) for c in call_ids))
        return removed


def delete_stale_files(directory: Path, cutoff: float) -> int:
    """Recording files last written before `cutoff` (epoch s): the ones whose index entry was never written."""
    if not directory.is_dir():
        return 0
    return sum(1 for f in directory.glob(f"*{FILE_SUFFIX}") if f.stat().st_mtime < cutoff and _unlink(f))


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:  # retention goes on with the other calls; the next round tries again
        log.error("could not delete recording %s: %s", path, exc)
        return False
    return True
