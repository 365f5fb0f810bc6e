"""Writes that survive a Redis outage and never hold up a call: queued in memory, written in order.

A call must go on when Redis is down, slow or hung, and no transcript turn may be lost. Every store write
is a small closure over the client, queued here and run by one background drain task, in order, so the
order of turns in Redis stays the order they happened. `write()` waits for its own write, at most
`wait_secs`; inside `live_call_writes()` (a live call's turn path, where a hung Redis would otherwise
stall the caller's reply for the whole socket timeout) at most `LIVE_WAIT_SECS`; and behind writes
already queued (Redis slow, hung or down) not at all.

When Redis refuses a connection the queue stops and `flush()` (the server calls it every second) starts
it again. A write that fails for another reason (out of memory, a wrong key type) raises in the writer
if it is waiting for it; a queued one is retried on the next flushes and dropped, with an error in the
log, after `max_failures`: one bad write must not block the turns queued behind it forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError, asyncio.TimeoutError)
# A healthy Redis answers in a millisecond; a caller's reply must not wait longer than this for it.
LIVE_WAIT_SECS = 0.05
_LIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("live_call_writes", default=False)


@contextlib.contextmanager
def live_call_writes() -> Iterator[None]:
    """Writes made inside (by this task) wait at most LIVE_WAIT_SECS, then stay queued: a call's turn path."""
    token = _LIVE.set(True)
    try:
        yield
    finally:
        _LIVE.reset(token)


@dataclass(eq=False)
class _Queued:
    what: str
    op: Write
    done: asyncio.Future[bool]
    waited: bool = False  # a writer awaits the result: an error other than an outage is raised to it
    failures: int = 0

    def resolve(self, written: bool) -> None:
        if not self.done.done():
            self.done.set_result(written)


class WriteBuffer:
    def __init__(self, max_items: int = 100_000, wait_secs: float = 2.0, max_failures: int = 3) -> None:
        self._pending: deque[_Queued] = deque()
        self._max_items = max_items
        self.wait_secs = wait_secs
        self.max_failures = max_failures
        self._drainer: asyncio.Task[int] | None = None
        self._down = False  # Redis refused the last attempt: say so once, not per write
        self.dropped = 0  # writes given up on (buffer full, or failing for a reason other than an outage)

    def __len__(self) -> int:
        return len(self._pending)

    async def write(self, what: str, op: Write) -> bool:
        """Queue `op` and wait for it at most `wait_secs`. True = written by then, False = still queued.

        Behind other queued writes (Redis slow, hung or down) it does not wait at all: they are written, in
        order, when Redis answers. Inside `live_call_writes()` it waits at most LIVE_WAIT_SECS.
        """
        entry = _Queued(what, op, asyncio.get_running_loop().create_future())
        behind = bool(self._pending)
        self._keep(entry)
        self._kick()
        if behind:
            return False
        live = _LIVE.get()
        entry.waited = not live  # a live call never hears of a failed write: it is retried, then dropped
        try:
            return await asyncio.wait_for(asyncio.shield(entry.done), LIVE_WAIT_SECS if live else self.wait_secs)
        except TimeoutError:
            entry.waited = False
            return False

    def _keep(self, entry: _Queued) -> None:
        if len(self._pending) >= self._max_items:
            dropped = self._pending.popleft()
            dropped.resolve(False)
            self.dropped += 1
            log.error("write buffer full (%d): dropping oldest write %s", self._max_items, dropped.what)
        self._pending.append(entry)

    def _kick(self) -> None:
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="redis-write-buffer")

    async def _drain(self) -> int:
        """Write queued ops in order until the queue is empty or Redis fails. Returns how many were written."""
        done = 0
        while self._pending:
            entry = self._pending[0]
            try:
                await entry.op()
            except REDIS_DOWN as exc:
                if not self._down:
                    log.warning("redis unavailable, buffering %s and later writes: %s", entry.what, exc)
                self._down = True
                entry.resolve(False)
                break
            except Exception as exc:
                if entry.waited and not entry.done.done():  # the writer hears of it (as before the queue)
                    self._remove(entry)
                    entry.done.set_exception(exc)
                    continue
                entry.failures += 1
                entry.resolve(False)
                if entry.failures < self.max_failures:
                    log.warning("redis write %s failed (%d/%d), retrying on the next flush: %r",
                                entry.what, entry.failures, self.max_failures, exc)
                    break
                log.error("redis write %s failed %d times, dropping it: %r", entry.what, entry.failures, exc)
                self.dropped += 1
                self._remove(entry)
                continue
            self._remove(entry)
            entry.resolve(True)
            done += 1
        else:
            if self._down:
                log.info("redis is back: buffered writes flushed")
            self._down = False
        return done

    def _remove(self, entry: _Queued) -> None:
        # The head may have been dropped meanwhile by a full buffer.
        if self._pending and self._pending[0] is entry:
            self._pending.popleft()

    async def settle(self, timeout: float = 2.0) -> None:
        """Wait (bounded) for writes already under way: a read then sees what was just written."""
        if self._drainer is not None and not self._drainer.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._drainer), timeout)

    async def flush(self) -> int:
        """Write everything queued, in order; stop at the first failure. Returns how many were written."""
        written = 0
        while self._drainer is not None and not self._drainer.done():
            written += await asyncio.shield(self._drainer)  # a drain under way counts: it is this flush's work
        if self._pending:
            self._kick()
            assert self._drainer is not None
            written += await asyncio.shield(self._drainer)
        if written:
            log.info("flushed %d buffered redis writes (%d left)", written, len(self._pending))
        return written

    async def flush_forever(self, interval: float = 1.0) -> None:
        """The server's flusher: it must outlive any error, or buffered writes would wait forever."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
            except Exception:
                log.exception("flushing buffered redis writes failed; retrying in %.0f s", interval)
