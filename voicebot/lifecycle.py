"""The `voicebot serve` process's life: run the app (voicebot/app.py) until a signal. SIGTERM drains first
(voicebot/drain.py), SIGINT (Ctrl-C) stops at once.

aiohttp's own `run_app` treats both signals alike and closes the phone lines at once, which cuts every
call in progress; a rolling restart of a cluster needs the drain instead. The drain and its timeouts are
handed in, so this module needs none of the app's keys.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from voicebot.config import ClusterSettings
from voicebot.drain import Drain

log = logging.getLogger(__name__)


async def serve_until_signal(app: web.Application, host: str, port: int, drain: Drain,
                             cluster: ClusterSettings) -> int:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # cleanup contexts: Redis, models, phone lines
    stop = asyncio.Event()
    how = {"signal": ""}

    def on_signal(name: str) -> None:
        if how["signal"] == "SIGTERM" and name == "SIGTERM":
            name = "SIGTERM again"  # a second SIGTERM: stop without waiting for the drain
        how["signal"] = name
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, on_signal, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, on_signal, "SIGINT")
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        await stop.wait()
        if how["signal"] == "SIGTERM":
            stop.clear()
            drained = asyncio.create_task(drain.run(cluster.drain_timeout_secs, cluster.handover_grace_secs))
            interrupted = asyncio.create_task(stop.wait())
            await asyncio.wait({drained, interrupted}, return_when=asyncio.FIRST_COMPLETED)
            for task in (drained, interrupted):
                task.cancel()
        log.warning("stopping (%s)", how["signal"])
    finally:
        await runner.cleanup()  # closes the lines (BYE to any call left) and flushes buffered Redis writes
    return 0
