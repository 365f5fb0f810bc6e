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
from dataclasses import dataclass, fields
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
from voicebot.lines.voicemail import answered_by_machine
from voicebot.pipeline.call import run_call as pipeline_run_call
from voicebot.pipeline.media import AudioIn, CallMedia, DtmfIn, HangupIn, MediaEvent, TransferResult
from voicebot.pipeline.services import CallServices

log = logging.getLogger(__name__)

RunCall = Callable[[CallMedia, CallInfo, CallServices], Awaitable[Any]]
MAX_QUEUED_AUDIO = 500  # 10 s of 20 ms frames: a stalled consumer loses old audio, never memory
KEEP_FINISHED = 50  # recent calls the line remembers (tests, bench/phone.py find their call ids there)
TRANSFER_SETTLE_S = 10.0  # how long an ended call waits for a transfer still under way to report its outcome


@dataclass(frozen=True)
class FinishedCall:
    """What the line remembers of an ended call: how it ended and its transfers, never the call itself. A kept
    `SipLineCall` held its RTP session (send-time stats of up to 6000 packets: ~0.2 MB for a two-minute call,
    jitter buffer, socket, clock thread), its INVITE and dialog, and so the line grew with every call it served
    up to the 50 it remembers (tests/telephony/test_sip_memory.py)."""

    sip_call_id: str
    end_reason: str
    transfers: tuple[TransferResult, ...]
    answered_by: str = ""  # outbound calls: "human" or "machine" (voicemail)

    @classmethod
    def of(cls, call: SipLineCall) -> FinishedCall:
        return cls(call.dialog.call_id, call.end_reason, tuple(call.transfers), call.answered_by)


def ua_options(sip: SipSettings) -> UaOptions:
    """The user agent's options from the `[sip]` settings (same names)."""
    return UaOptions(**{f.name: getattr(sip, f.name) for f in fields(UaOptions)})


class SipLineCall(SipCall):
    """A SIP call as the pipeline sees it: a `CallMedia` over the wire call's dialog and RTP session."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.transfers: list[TransferResult] = []  # outcome of each transfer attempt, for logs/metrics
        self._transferring: set[asyncio.Task] = set()  # transfers under way on the wire
        self._events: deque[MediaEvent] = deque()
        self._queued_audio = 0
        self._wake = asyncio.Event()
        self.answered_by = ""  # outbound calls: "human" or "machine" (voicemail), from screen_answer

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

    async def next_event(self, timeout: float) -> MediaEvent | None:
        """Before the pipeline runs (answering-machine screening): the next audio or key press, taken off the
        queue; a hang-up is returned but left queued for the pipeline; None after `timeout` seconds of nothing."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self._events:
                    self._wake.clear()
                    await self._wake.wait()
        if not self._events or isinstance(self._events[0], HangupIn):
            return self._events[0] if self._events else None
        ev = self._events.popleft()
        if isinstance(ev, AudioIn):
            self._queued_audio -= 1
        return ev

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        # The transfer on the wire runs as its own task and records its outcome itself: the caller's phone may
        # hang up as the transfer completes, which ends (cancels) the pipeline awaiting it here.
        wire = self.ua.spawn(transfer_call(self, handoff_id, target), name=f"sip-transfer-{self.dialog.call_id[:12]}")
        self._transferring.add(wire)
        wire.add_done_callback(self._transfer_done)
        result = await asyncio.shield(wire)
        return TransferResult(result.ok, result.detail)

    def _transfer_done(self, wire: asyncio.Task) -> None:
        self._transferring.discard(wire)
        if wire.cancelled() or wire.exception() is not None:
            return  # the awaiting side sees the error; a cancelled one was the line stopping
        result = wire.result()
        self.transfers.append(TransferResult(result.ok, result.detail))
        log.info("sip: call %s: transfer %s: %s", self.dialog.call_id, "ok" if result.ok else "FAILED", result.detail)

    async def transfers_settled(self, timeout: float = TRANSFER_SETTLE_S) -> None:
        """Wait (bounded) for a transfer still under way, so what the line keeps of the call has its outcome."""
        if self._transferring:
            await asyncio.wait(set(self._transferring), timeout=timeout)

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
            drain.watch(lambda: self.ua.busy)  # ...and the drain waits for calls the UA is still setting up
        self.registration: Registration | None = None
        self.finished: deque[tuple[CallInfo, FinishedCall]] = deque(maxlen=KEEP_FINISHED)  # newest last
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
        call = result.call
        assert isinstance(call, SipLineCall)
        if await answered_by_machine(call, info, self.services):
            call.answered_by = "machine"  # nobody to help or transfer: the dialer tries again later
            if not call.ended:
                await call.hangup()
            self.finished.append((info, FinishedCall.of(call)))
            return result, call
        call.answered_by = "human"
        await self._run(call, info)
        return result, call

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
            await call.transfers_settled()
            if not call.ended:
                with contextlib.suppress(Exception):
                    await call.hangup()
            self.finished.append((info, FinishedCall.of(call)))


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
