"""One thread that runs the CPU-heavy speech jobs of all calls (whisper or piper), most urgent first.

With several calls on two cores, jobs pile up at busy moments. A plain FIFO would let one caller's third
sentence of a long answer delay another caller's first words; here a job a caller is waiting for in silence
(their finished turn, the first sentence of their answer) goes before work that has slack (the rest of an
answer, which plays after the first sentence; a speculative transcription).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

URGENT = 0  # a caller is waiting in silence for this
SOON = 1  # needed before the audio already on its way has played
SPARE = 2  # useful only if it is done early (speculation)

_STOP = -1  # the stop marker sorts before every job


class PriorityWorker:
    """A single worker thread fed by a priority queue; equal priorities run in submission order.

    Cancelling the awaiting coroutine drops a job that has not started; a running job finishes unused.
    """

    def __init__(self, name: str) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any] | None, Future[Any] | None]] = (
            queue.PriorityQueue())
        self._order = itertools.count()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    async def run(self, priority: int, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError(f"{self._thread.name} worker is closed")
        job: Future[T] = Future()
        self._queue.put((priority, next(self._order), functools.partial(fn, *args), job))
        return await asyncio.wrap_future(job)

    def _work(self) -> None:
        while True:
            _, _, fn, job = self._queue.get()
            if fn is None or job is None:
                return
            if not job.set_running_or_notify_cancel():
                continue  # its caller gave up while it waited (barge-in, hang-up, stale speculation)
            try:
                job.set_result(fn())
            except BaseException as exc:
                job.set_exception(exc)

    def close(self) -> None:
        """Stop after the running job; jobs still waiting are cancelled (their callers see CancelledError)."""
        self._closed = True
        while True:
            try:
                _, _, _, job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancel()
        with contextlib.suppress(Exception):
            self._queue.put((_STOP, next(self._order), None, None))
