"""The SIP phone line of `voicebot serve`: every answered SIP call runs the audio pipeline.

`SipLine` owns the user agent (telephony/sip, wire only) and turns each answered call into a `SipLineCall`,
the `CallMedia` the pipeline runs on: `run_call(media, info, services)`.
If the pipeline fails (or cannot even be loaded) while the caller is still there, the call goes to
the human line instead of being dropped. `sip_ctx` is the aiohttp cleanup-ctx that starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from typing import Any

from aiohttp import web

from telephony.sdp import offer_codecs
from telephony.sip.call import SipCall
from telephony.sip.options import UaOptions
from telephony.sip.outbound import DialResult, dial
from telephony.sip.register import Registration
from telephony.sip.transfer import transfer_call
from telephony.sip.ua import SipUserAgent
from telephony.sip.uri import parse_uri
from voicebot.appkeys import CALL_SERVICES, SETTINGS, SIP_LINE
from voicebot.config import Settings, SipSettings
from voicebot.dialog.types import CallInfo
from voicebot.pipeline.call import run_call as pipeline_run_call
from voicebot.pipeline.media import AudioIn, CallMedia, DtmfIn, HangupIn, MediaEvent, TransferResult
from voicebot.pipeline.services import CallServices

log = logging.getLogger(__name__)

RunCall = Callable[[CallMedia, CallInfo, CallServices], Awaitable[Any]]
MAX_QUEUED_AUDIO = 500  # 10 s of 20 ms frames: a stalled consumer loses old audio, never memory


def ua_options(sip: SipSettings) -> UaOptions:
    """The user agent's options from the `[sip]` settings (same names)."""
    return UaOptions(**{f.name: getattr(sip, f.name) for f in fields(UaOptions)})


class SipLineCall(SipCall):
    """A SIP call as the pipeline sees it: a `CallMedia` over the wire call's dialog and RTP session."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.transfers: list[TransferResult] = []  # outcome of each transfer attempt, for logs/metrics
        self._events: deque[MediaEvent] = deque()
        self._queued_audio = 0
        self._wake = asyncio.Event()

    async def events(self) -> AsyncIterator[MediaEvent]:
        while True:
            while not self._events:
                self._wake.clear()
                await self._wake.wait()
            ev = self._events.popleft()
            if isinstance(ev, AudioIn):
                self._queued_audio -= 1
            yield ev
            if isinstance(ev, HangupIn):
                return

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        wire = await transfer_call(self, handoff_id, target)
        result = TransferResult(wire.ok, wire.detail)
        self.transfers.append(result)
        log.info("sip: call %s: transfer %s: %s", self.dialog.call_id, "ok" if result.ok else "FAILED", result.detail)
        return result

    def deliver_audio(self, pcm: bytes) -> None:
        if self._queued_audio >= MAX_QUEUED_AUDIO:
            for i, ev in enumerate(self._events):
                if isinstance(ev, AudioIn):
                    del self._events[i]
                    self._queued_audio -= 1
                    break
        self._events.append(AudioIn(pcm))
        self._queued_audio += 1
        self._wake.set()

    def deliver_dtmf(self, digit: str) -> None:
        self._push(DtmfIn(digit))

    def deliver_end(self, reason: str) -> None:
        self._push(HangupIn(reason))

    def _push(self, ev: MediaEvent) -> None:
        self._events.append(ev)
        self._wake.set()


class SipLine:
    def __init__(self, settings: Settings, services: CallServices, run_call: RunCall | None = None) -> None:
        self.settings = settings
        self.services = services
        self._run_call = run_call
        self.ua = SipUserAgent(ua_options(settings.sip), self._on_call, SipLineCall)
        drain = services.drain
        if drain is not None:  # while the worker drains, the UA refuses OPTIONS and new INVITEs (503)
            self.ua.draining = lambda: drain.draining
        self.registration: Registration | None = None
        self.finished: list[tuple[CallInfo, SipLineCall]] = []  # recent calls, newest last (for tests/metrics)
        self._tasks: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        return self.ua.port

    async def start(self) -> int:
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
        assert isinstance(call, SipLineCall)  # the UA builds calls with our factory
        # The number the caller dialled picks the language ([languages] numbers).
        numbered = self.settings.languages.for_number(call.dialled_number)
        info = CallInfo(call_id=uuid.uuid4().hex[:16], caller_number=call.caller_number,
                        language=numbered or self.settings.dialog.default_language,
                        flow_id=self.settings.dialog.default_flow, channel="sip", language_fixed=numbered is not None)
        task = asyncio.get_running_loop().create_task(self._run(call, info),
                                                      name=f"sip-call-{call.dialog.call_id[:12]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def call_out(self, number: str, info: CallInfo) -> tuple[DialResult, SipLineCall | None]:
        """Dial `number` through `[callbacks] trunk_uri` and, once answered, run the bot on it (`info.flow_id`).
        Returns when the call is over: the dial's outcome, and the answered call (its `transfers`)."""
        cfg = self.settings.callbacks
        trunk = parse_uri(cfg.trunk_uri)
        host, port = trunk.address
        result = await dial(self.ua, f"sip:{number}@{host}:{port}", proxy=cfg.trunk_uri, from_user=cfg.caller_id,
                            codecs=offer_codecs(tuple(self.settings.sip.codecs)), ring_timeout=cfg.ring_timeout_secs)
        if result.call is None:
            return result, None
        assert isinstance(result.call, SipLineCall)
        await self._run(result.call, info)
        return result, result.call

    async def _run(self, call: SipLineCall, info: CallInfo) -> None:
        try:
            run_call = self._run_call or pipeline_run_call
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


async def sip_ctx(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup-ctx: listen for SIP calls while the app runs (after `line_services_ctx`, whose
    `CallServices` — models, dialog engine, store — every line shares: nothing is loaded twice)."""
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
