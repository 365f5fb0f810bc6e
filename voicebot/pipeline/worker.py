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
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")

URGENT = 0  # a caller is waiting in silence for this
SOON = 1  # needed before the audio already on its way has played
SPARE = 2  # useful only if it is done early (speculation)

_STOP = -1  # the stop marker sorts before every job


class Job(Generic[T]):
    """One submitted job: await `result()`; `promote()` when someone starts waiting for it in silence."""

    def __init__(self, worker: PriorityWorker, fn: Callable[[], T]) -> None:
        self.future: Future[T] = Future()
        self.fn = fn
        self._worker = worker
        self.queued_at = time.monotonic()

    async def result(self) -> T:
        """Cancelling the awaiting coroutine drops the job if it has not started; a running job finishes unused."""
        return await asyncio.wrap_future(self.future)

    def promote(self, priority: int) -> None:
        """Queue it again at `priority`; whichever of its entries comes first runs it, the other is skipped."""
        if not (self.future.done() or self.future.running()):
            self._worker.put(priority, self)


class PriorityWorker:
    """A single worker thread fed by a priority queue; equal priorities run in submission order."""

    def __init__(self, name: str) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Job[Any] | None]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._closed = False
        self.on_start: Callable[[float], None] | None = None  # gets each job's seconds in the queue (/metrics)
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, priority: int, fn: Callable[..., T], *args: Any) -> Job[T]:
        if self._closed:
            raise self._closed_error()
        job = Job(self, functools.partial(fn, *args))
        self.put(priority, job)
        return job

    async def run(self, priority: int, fn: Callable[..., T], *args: Any) -> T:
        return await self.submit(priority, fn, *args).result()

    def put(self, priority: int, job: Job[Any]) -> None:
        self._queue.put((priority, next(self._order), job))
        if self._closed:  # closed while this was being queued: nobody will run it
            self._fail_waiting()

    def _work(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is None:
                return
            if job.future.done() or job.future.running():
                continue  # already run through an earlier entry (it was promoted)
            try:
                if not job.future.set_running_or_notify_cancel():
                    continue  # its caller gave up while it waited (barge-in, hang-up, stale speculation)
            except RuntimeError:
                continue  # failed by close() a moment ago
            if self.on_start is not None:
                self.on_start(time.monotonic() - job.queued_at)
            try:
                job.future.set_result(job.fn())
            except BaseException as exc:  # handed to the awaiting coroutine, which decides
                job.future.set_exception(exc)

    def close(self) -> None:
        """Stop after the running job. Jobs still waiting fail with "worker is closed": their callers handle it
        like any other failure of the model (the caller goes to a person). Cancelling them instead would leave a
        reply half-spoken with nobody noticing: CancelledError is not an error to the code awaiting it."""
        self._closed = True
        self._fail_waiting()

    def _closed_error(self) -> RuntimeError:
        return RuntimeError(f"{self._thread.name} worker is closed")

    def _fail_waiting(self) -> None:
        while True:
            try:
                _, _, job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                continue
            with contextlib.suppress(Exception):  # already cancelled, running or done (promoted twice)
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(self._closed_error())
        self._queue.put((_STOP, next(self._order), None))  # then the thread ends (a second marker is harmless)
