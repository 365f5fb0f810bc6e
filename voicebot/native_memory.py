"""The C allocator's share of the served process's memory (glibc only; elsewhere these do nothing).

glibc gives threads that allocate at the same time their own malloc arena, up to 8 per core. `voicebot serve`
has many such threads (whisper's and piper's workers, onnxruntime's pools, one RTP clock per call); each
arena keeps the memory it once held, so RSS climbs for minutes under load and never comes back. Soak runs of
8 concurrent calls (2026-12-02, bench/README.md) went from 924 to 1209 MB with the default arenas and from 754
to 936 MB with MALLOC_ARENA_MAX=2.

`limit_arenas()` must run before the threads start (serve calls it first thing): glibc fixes the arena limit
the first time it needs more than eight arenas. MALLOC_ARENA_MAX in the environment (glibc's own knob,
read when the process starts) wins over it. `release_freed()` hands free pages back to the system after a
call: memory that a call freed shows up as free for the rest of the machine, not as our RSS.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Mapping

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h
ARENAS = 2  # one per core on the 2-core machines the project is sized for; more bought RSS, not speed


def _glibc() -> ctypes.CDLL | None:
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # raises (or is missing) where the C library is not glibc
        return ctypes.CDLL("libc.so.6")
    except (AttributeError, ValueError, OSError):
        return None


_LIBC = _glibc()


def limit_arenas(arenas: int = ARENAS, environ: Mapping[str, str] = os.environ) -> bool:
    """At most `arenas` malloc arenas from now on; False when not applied (not glibc, or the environment
    already says how many)."""
    if _LIBC is None or "MALLOC_ARENA_MAX" in environ:
        return False
    applied = _LIBC.mallopt(M_ARENA_MAX, arenas) == 1
    log.info("malloc: %s", f"at most {arenas} arenas" if applied else "arena limit refused by the C library")
    return applied


def release_freed() -> None:
    """Return the allocator's free pages to the system (malloc_trim). Takes milliseconds: call it off the
    event loop, when a call has ended."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
