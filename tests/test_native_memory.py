"""The served process's C allocator (voicebot/native_memory.py): six threads allocating at once, as the model
and RTP threads of concurrent calls do, share two malloc arenas instead of getting one each; and the memory a
call freed goes back to the system when it ends instead of staying in the process's RSS.

Each in a fresh interpreter: the arena limit only holds when it is set before the threads start. Arenas are
counted by glibc itself (malloc_stats prints one "Arena N:" block per arena).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from voicebot import native_memory

ROOT = Path(__file__).resolve().parent.parent

THREADS_ALLOCATING = """
import ctypes, sys, threading
from voicebot.native_memory import limit_arenas
if sys.argv[1] == "limit":
    assert limit_arenas(2, environ={})
together = threading.Barrier(7)
def work():
    keep = [bytes(20000) for _ in range(50)]  # above pymalloc's sizes: these come from the thread's arena
    together.wait()  # every thread alive and holding memory ...
    together.wait()  # ... until the arenas have been counted
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
together.wait()
ctypes.CDLL("libc.so.6").malloc_stats()
together.wait()
for t in threads:
    t.join()
"""

A_CALL_FREES_MEMORY = """
import threading
import psutil
from voicebot.native_memory import release_freed
def rss_mb():
    return psutil.Process().memory_info().rss / 2**20
kept = []
def call():
    pieces = [bytes(20000) for _ in range(10000)]  # 200 MB in pieces below the mmap threshold
    kept.extend(pieces[::50])  # every 50th survives, as some objects of a call do: free() alone gives back little
thread = threading.Thread(target=call)
thread.start()
thread.join()
before = rss_mb()
release_freed()
print(before, rss_mb())
"""

glibc_only = pytest.mark.skipif(native_memory._LIBC is None, reason="malloc arenas are glibc's")


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    # No MALLOC_ARENA_MAX from this environment: the default case must be glibc's default.
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True, env={"PATH": "/usr/bin:/bin"})


def arenas(mode: str) -> int:
    return sum(line.startswith("Arena ") for line in python(THREADS_ALLOCATING, mode).stderr.splitlines())


@glibc_only
def test_threads_allocating_at_once_share_two_arenas() -> None:
    assert arenas("default") > 2  # glibc's default: an arena per thread (up to 8 per core)
    assert arenas("limit") == 2


@glibc_only
def test_the_environment_setting_wins() -> None:
    # glibc read MALLOC_ARENA_MAX when the process started: an operator's value is not overridden.
    assert native_memory.limit_arenas(2, environ={"MALLOC_ARENA_MAX": "4"}) is False


@glibc_only
def test_memory_a_call_freed_leaves_the_process() -> None:
    before, after = map(float, python(A_CALL_FREES_MEMORY).stdout.split())
    assert after < before - 40, f"RSS {before:.0f} MB before, {after:.0f} MB after releasing"
