"""Graceful drain: how a worker leaves a cluster without cutting a call.

SIGTERM (a rolling restart, `systemctl stop`, `docker stop`) starts it:

1. `draining` is set: the SIP line answers OPTIONS and new INVITEs with 503 + Retry-After, so the SIP
   proxy (Kamailio's dispatcher) takes this worker out of its set and sends new calls elsewhere.
2. Calls in progress may finish on their own for up to `cluster.drain_timeout_secs`.
3. Calls still running then are handed to the human line with their context (handoff reason
   `maintenance`): `hand_over` is set and every call's pipeline speaks a short notice and transfers.
4. After `cluster.handover_grace_secs` for those transfers, the process stops; the store's buffered
   Redis writes are flushed by the app's cleanup, and the exit status is 0.

One `Drain` per process, shared by every line and every call (`CallServices.drain`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from voicebot.config import Settings

log = logging.getLogger(__name__)


def worker_id(settings: Settings) -> str:
    """`cluster.worker_id`, or host name + SIP port (the address the proxy knows this worker by)."""
    if settings.cluster.worker_id:
        return settings.cluster.worker_id
    port = settings.sip.port if settings.sip.enabled else settings.http.port
    return f"{socket.gethostname()}:{port}"


class Drain:
    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.draining = False
        self.hand_over = asyncio.Event()  # set at the drain deadline: running calls go to the human line
        self.active_calls = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # A line's own view of calls the pipeline does not count yet: an INVITE answered, its pipeline still being
        # built. Without it a SIGTERM in that gap finds the worker "idle" and the new call is cut right after its ACK.
        self._lines_busy: list[Callable[[], bool]] = []

    def watch(self, busy: Callable[[], bool]) -> None:
        """Also wait, before stopping, while `busy()` is true (a line with a call being set up)."""
        self._lines_busy.append(busy)

    def idle(self) -> bool:
        return self.active_calls == 0 and not any(busy() for busy in self._lines_busy)

    def call_started(self) -> None:
        """Each call reports its start and end, so the drain knows when the worker is idle."""
        self.active_calls += 1
        self._idle.clear()

    def call_ended(self) -> None:
        self.active_calls -= 1
        if self.active_calls <= 0:
            self.active_calls = 0
            self._idle.set()

    async def _wait_idle(self, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.idle():
            left = deadline - loop.time()
            if left <= 0:
                return False
            if self.active_calls:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), left)
            else:  # only a line's set-up is left: it has no event to wait on, so look again shortly
                await asyncio.sleep(min(0.05, left))
        return True

    async def run(self, drain_timeout: float, handover_grace: float) -> None:
        """Steps 1-3 above; returns when no call is left or the grace for the hand-overs has passed."""
        self.draining = True
        log.warning("drain: worker %s refuses new calls; %d call(s) in progress may run for up to %.0f s",
                    self.worker, self.active_calls, drain_timeout)
        if await self._wait_idle(drain_timeout):
            log.warning("drain: every call finished")
            return
        log.warning("drain: %d call(s) still running: handing them to the human line (maintenance)",
                    self.active_calls)
        self.hand_over.set()
        if not await self._wait_idle(handover_grace):
            log.error("drain: %d call(s) still running after %.0f s of hand-over; they are ended now",
                      self.active_calls, handover_grace)
