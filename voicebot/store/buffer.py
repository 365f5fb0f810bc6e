"""Writes that survive a Redis outage: buffered in memory, replayed in order when Redis returns.

A call must go on when Redis is down, and no transcript turn may be lost. Every store write is a
small closure over the client; if Redis refuses it, it waits here and is retried by `flush()`, which
the server calls periodically. Once anything is buffered, later writes queue behind it so the order of
turns in Redis stays the order they happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import redis

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError, asyncio.TimeoutError)


class WriteBuffer:
    def __init__(self, max_items: int = 100_000) -> None:
        self._pending: deque[tuple[str, Write]] = deque()
        self._max_items = max_items
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    async def write(self, what: str, op: Write) -> bool:
        """Run `op` now if nothing is waiting; else (or if Redis is down) keep it. True = written now."""
        if self._pending:
            self._keep(what, op)
            await self.flush()
            return False
        try:
            await op()
            return True
        except REDIS_DOWN as exc:
            log.warning("redis unavailable, buffering %s: %s", what, exc)
            self._keep(what, op)
            return False

    def _keep(self, what: str, op: Write) -> None:
        if len(self._pending) >= self._max_items:
            dropped, _ = self._pending.popleft()
            log.error("write buffer full (%d): dropping oldest write %s", self._max_items, dropped)
        self._pending.append((what, op))

    async def flush(self) -> int:
        """Replay buffered writes in order; stop at the first failure. Returns how many were written."""
        if not self._pending or self._lock.locked():
            return 0
        done = 0
        async with self._lock:
            while self._pending:
                _, op = self._pending[0]
                try:
                    await op()
                except REDIS_DOWN:
                    break
                self._pending.popleft()
                done += 1
        if done:
            log.info("flushed %d buffered redis writes (%d left)", done, len(self._pending))
        return done

    async def flush_forever(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush()
