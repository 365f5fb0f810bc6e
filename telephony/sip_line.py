"""The SIP phone line of `voicebot serve`: every answered SIP call runs the audio pipeline.

`SipLine` owns the user agent and turns each answered call into `run_call(media, info, services)`.
If the pipeline fails (or cannot even be loaded) while the caller is still there, the call goes to
the human line instead of being dropped. `sip_ctx` is the aiohttp cleanup-ctx that starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from telephony.sip.call import SipCall
from telephony.sip.register import Registration
from telephony.sip.ua import SipUserAgent
from voicebot.config import Settings
from voicebot.dialog.types import CallInfo
from voicebot.pipeline.media import CallMedia
from voicebot.pipeline.services import CallServices

log = logging.getLogger(__name__)

RunCall = Callable[[CallMedia, CallInfo, CallServices], Awaitable[Any]]


def _pipeline_run_call() -> RunCall:
    from voicebot.pipeline.call import run_call  # heavy (pipecat, models): only when a call arrives

    return run_call


class SipLine:
    def __init__(self, settings: Settings, services: CallServices, run_call: RunCall | None = None) -> None:
        self.settings = settings
        self.services = services
        self._run_call = run_call
        self.ua = SipUserAgent(settings.sip, self._on_call)
        drain = services.drain
        if drain is not None:
            self.ua.draining = lambda: drain.draining
        self.registration: Registration | None = None
        self.finished: list[tuple[CallInfo, SipCall]] = []  # recent calls, newest last (for tests/metrics)
        self._tasks: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        return self.ua.port

    async def start(self) -> int:
        if self._run_call is None:
            # Import the pipeline now, not on the first call: that import would stall the event loop (and
            # every other call's SIP answers, which a proxy then times out) for seconds on a busy host.
            self._run_call = await asyncio.to_thread(_pipeline_run_call)
        port = await self.ua.start()
        if self.settings.sip.register_uri:
            self.registration = Registration(self.ua)
            self.registration.start()
        log.info("sip: listening on %s:%s (%s)", self.settings.sip.host, port, self.settings.sip.transport)
        return port

    async def stop(self) -> None:
        if self.registration:
            await self.registration.stop()
        for task in list(self._tasks):
            task.cancel()
        await self.ua.stop()

    def _on_call(self, call: SipCall) -> None:
        task = asyncio.get_running_loop().create_task(self._run(call), name=f"sip-call-{call.dialog.call_id[:12]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: SipCall) -> None:
        info = CallInfo(call_id=uuid.uuid4().hex[:16], caller_number=call.caller_number,
                        language=self.settings.dialog.default_language, flow_id=self.settings.dialog.default_flow,
                        channel="sip")
        try:
            run_call = self._run_call or _pipeline_run_call()
            await run_call(call, info, self.services)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sip: call %s: the pipeline failed; handing the caller to the human line", info.call_id)
            if not call.ended:
                # No handoff package could be written; the call id lets the agent find the transcript.
                result = await call.transfer(info.call_id)
                log.info("sip: call %s: fallback transfer: %s", info.call_id, result)
        finally:
            if not call.ended:
                with contextlib.suppress(Exception):
                    await call.hangup()
            self.finished = [*self.finished[-49:], (info, call)]


SIP_LINE = web.AppKey("sip_line", SipLine)


async def sip_ctx(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup-ctx: listen for SIP calls while the app runs (after `line_services_ctx`, whose
    `CallServices` — models, dialog engine, store — every line shares: nothing is loaded twice)."""
    from telephony.line_services import CALL_SERVICES
    from voicebot.web.keys import SETTINGS

    settings: Settings = app[SETTINGS]
    if not settings.sip.enabled:
        yield
        return
    line = SipLine(settings, app[CALL_SERVICES])
    await line.start()
    app[SIP_LINE] = line
    try:
        yield
    finally:
        await line.stop()
