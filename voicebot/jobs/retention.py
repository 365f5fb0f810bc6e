"""Serve-side periodic retention: delete calls (with their closed callback requests) and caller profiles older
than privacy.retention_days, hourly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.appkeys import AUDIT, CALL_STORE, DRAIN, REDIS, SETTINGS, STORE_KEYS
from voicebot.store.callbacks import callback_store
from voicebot.store.callers import CallerStore
from voicebot.store.retention import delete_old_calls

log = logging.getLogger(__name__)
INTERVAL_S = 3600


async def _loop(app: web.Application, stop: asyncio.Event) -> None:
    settings = app[SETTINGS]
    days, recordings_dir = settings.privacy.retention_days, settings.path(settings.privacy.recordings_dir)
    while not stop.is_set():
        try:
            # Several workers share one Redis: the first to claim this round runs it, the others skip it.
            mine = await app[REDIS].set(app[STORE_KEYS].job("retention"), app[DRAIN].worker, nx=True,
                                        ex=INTERVAL_S - 60)
            n = await delete_old_calls(app[CALL_STORE], days, recordings_dir=recordings_dir) if mine else 0
            if mine:  # closed callback requests (a number, notes) follow the calls
                await callback_store(app[CALL_STORE]).delete_closed_before(time.time() - days * 86400)
            if n:
                log.info("retention: deleted %d call(s) older than %d days", n, days)
                await app[AUDIT].record("system", "retention.delete", "calls", f"{n} older than {days} days")
            store = app[CALL_STORE]
            profiles = await CallerStore(store.client, store.keys).delete_old_profiles(days) if mine else 0
            if profiles:
                await app[AUDIT].record("system", "retention.delete", "caller profiles",
                                        f"{profiles} older than {days} days")
        except Exception:  # Redis down: try again next round
            log.exception("retention job failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_S)


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    # Stopped with an event rather than only cancel(): a cancellation that lands inside a redis-py call
    # can be swallowed there, and the task would then sleep out its hour while the server shuts down.
    stop = asyncio.Event()
    task = asyncio.create_task(_loop(app, stop))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 5)
        except TimeoutError:
            log.warning("retention job did not stop in time")
