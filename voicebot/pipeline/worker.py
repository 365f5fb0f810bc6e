"""Worker threads that run the CPU-heavy speech jobs of all calls (whisper or piper), most urgent first.

With several calls on two cores, jobs pile up at busy moments. A plain FIFO would let one caller's third
sentence of a long answer delay another caller's first words; here a job a caller is waiting for in silence
(their finished turn, the first sentence of their answer) goes before work that has slack (the rest of an
answer, which plays after the first sentence; a speculative transcription).

With several threads (whisper on both cores), spare work never takes the last free thread: a finished turn
arriving while every thread is busy speculating would wait for a whole transcription. The time urgent jobs
wait before a thread takes them is measured: it is what a caller feels, and what admission control reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")

URGENT = 0  # a caller is waiting in silence for this
SOON = 1  # needed before the audio already on its way has played
SPARE = 2  # useful only if it is done early (speculation)

# How fast the measured queue delay follows new urgent jobs (weight of the newest one), and how fast it fades
# when no urgent job runs (an idle server that was overloaded a minute ago is not overloaded now).
DELAY_SMOOTHING = 0.2
DELAY_HALF_LIFE_S = 5.0


class Job(Generic[T]):
    """One submitted job: await `result()`; `promote()` when someone starts waiting for it in silence."""

    def __init__(self, worker: PriorityWorker, fn: Callable[[], T]) -> None:
        self.future: Future[T] = Future()
        self.fn = fn
        self._worker = worker
        self.priority = SPARE + 1  # lowered by every put
        self.urgent_since: float | None = None  # when a caller started waiting for it in silence

    async def result(self) -> T:
        """Cancelling the awaiting coroutine drops the job if it has not started; a running job finishes unused."""
        return await asyncio.wrap_future(self.future)

    def abandon(self) -> None:
        """Nobody wants the result any more: a queued job never runs; a running one finishes unused and no longer
        counts as spare work holding a thread (a newer speculation of the same turn may start beside it)."""
        self.future.cancel()
        self._worker.abandoned(self)

    def promote(self, priority: int) -> None:
        """Queue it again at `priority`; whichever of its entries comes first runs it, the other is skipped."""
        if not (self.future.done() or self.future.running()):
            self._worker.put(priority, self)
        elif priority == URGENT and self.urgent_since is None:
            self._worker.waited(0.0)  # already started as spare work: its caller waits for no thread


class PriorityWorker:
    """`threads` worker threads fed by one priority queue; equal priorities run in submission order.

    Jobs of priority `limited_from` or lower in urgency (SPARE by default) run on at most `threads - 1` threads at
    once (on the only thread when there is one), so a job a caller waits for finds a thread without waiting for
    one of them to end: a finished turn for a speculation, the first piece of an answer for other answers' later
    pieces (TTS: limited_from=SOON).
    """

    def __init__(self, name: str, threads: int = 1, limited_from: int = SPARE) -> None:
        self.name = name
        self._heap: list[tuple[int, int, Job[Any]]] = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._closed = False
        # Gets each urgent job's wait for a thread, in seconds, as it starts (a /metrics histogram).
        self.on_urgent_wait: Callable[[float], None] | None = None
        self._limited_from = limited_from
        self._limited_running: set[Job[Any]] = set()  # running limited jobs whose result is still wanted
        self._limited_cap = max(1, threads - 1)
        self._delay_s = 0.0  # smoothed wait of urgent jobs before a thread took them ...
        self._delay_at = 0.0  # ... as of this time (monotonic)
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}" if threads > 1 else name,
                                          daemon=True) for i in range(max(1, threads))]
        for thread in self._threads:
            thread.start()

    @property
    def threads(self) -> int:
        return len(self._threads)

    def submit(self, priority: int, fn: Callable[..., T], *args: Any) -> Job[T]:
        if self._closed:
            raise self._closed_error()
        job = Job(self, functools.partial(fn, *args))
        self.put(priority, job)
        return job

    async def run(self, priority: int, fn: Callable[..., T], *args: Any) -> T:
        return await self.submit(priority, fn, *args).result()

    def put(self, priority: int, job: Job[Any]) -> None:
        with self._cond:
            if priority < job.priority:
                job.priority = priority
                if priority == URGENT and job.urgent_since is None:
                    job.urgent_since = time.monotonic()
            heapq.heappush(self._heap, (priority, next(self._order), job))
            self._cond.notify()
        if self._closed:  # closed while this was being queued: nobody will run it
            self._fail_waiting()

    def waited(self, seconds: float) -> None:
        """An urgent job started after waiting `seconds` for a thread (0: it was already running as spare work)."""
        if self.on_urgent_wait is not None:
            self.on_urgent_wait(seconds)

    def abandoned(self, job: Job[Any]) -> None:
        """`job` ended or its result is no longer wanted: it stops counting against the cap on limited jobs."""
        with self._cond:
            if job in self._limited_running:
                self._limited_running.discard(job)
                self._cond.notify()

    def queue_delay_s(self) -> float:
        """How long a caller's finished turn waits for a thread now: the smoothed wait of recent urgent jobs,
        or longer when an urgent job has already been waiting longer than that."""
        now = time.monotonic()
        with self._cond:
            waiting = [now - job.urgent_since for _, _, job in self._heap
                       if job.urgent_since is not None and not (job.future.done() or job.future.running())]
            return max([self._faded_delay(now), *waiting])

    def _faded_delay(self, now: float) -> float:
        return self._delay_s * 0.5 ** ((now - self._delay_at) / DELAY_HALF_LIFE_S)

    def _next(self) -> Job[Any] | None:
        """The most urgent runnable job (None: closed). Called with the condition held."""
        while True:
            if self._closed:
                return None
            while self._heap and (self._heap[0][2].future.done() or self._heap[0][2].future.running()):
                heapq.heappop(self._heap)  # already run through an earlier entry (it was promoted), or cancelled
            if self._heap and (self._heap[0][0] < self._limited_from or len(self._limited_running) < self._limited_cap):
                return heapq.heappop(self._heap)[2]
            self._cond.wait()

    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._next()
                if job is None:
                    return
                try:
                    if not job.future.set_running_or_notify_cancel():
                        continue  # its caller gave up while it waited (barge-in, hang-up, stale speculation)
                except RuntimeError:
                    continue  # failed by close() a moment ago
                if job.priority >= self._limited_from:
                    self._limited_running.add(job)
                waited = None
                if job.urgent_since is not None:
                    now = time.monotonic()
                    waited = now - job.urgent_since
                    faded = self._faded_delay(now)
                    self._delay_s = faded + DELAY_SMOOTHING * (waited - faded)
                    self._delay_at = now
            if waited is not None:
                self.waited(waited)
            try:
                job.future.set_result(job.fn())
            except BaseException as exc:  # handed to the awaiting coroutine, which decides
                job.future.set_exception(exc)
            finally:
                self.abandoned(job)

    def close(self) -> None:
        """Stop after the running jobs. Jobs still waiting fail with "worker is closed": their callers handle it
        like any other failure of the model (the caller goes to a person). Cancelling them instead would leave a
        reply half-spoken with nobody noticing: CancelledError is not an error to the code awaiting it."""
        self._closed = True
        self._fail_waiting()

    def join(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s` in all) for the jobs still running after `close()`: a process that exits while
        whisper runs in one of these daemon threads is aborted by the C++ runtime ("terminate called")."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _closed_error(self) -> RuntimeError:
        return RuntimeError(f"{self.name} worker is closed")

    def _fail_waiting(self) -> None:
        with self._cond:
            waiting, self._heap = self._heap, []
            self._cond.notify_all()  # the threads see `_closed` and end
        for _, _, job in waiting:
            with contextlib.suppress(Exception):  # already cancelled, running or done (promoted twice)
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(self._closed_error())
