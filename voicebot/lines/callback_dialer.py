"""The callback dialer: places the callbacks callers booked, at the time they chose, over the SIP line (or,
for callers who came in over Twilio, through Twilio's REST API: twilio_callbacks.py).

One server process dials for the whole cluster: it holds `job:callbacks` in Redis (SET NX with an expiry,
renewed every round); if that process dies the key expires and another one takes over. Each due request is
called through `[callbacks] trunk_uri`; when the customer answers, the bot runs the `[callbacks] flow` (says who
is calling and why, asks whether help is still needed) and transfers to the human line with the handoff package
of the call that booked it. Busy, unanswered or an answering machine (voicebot/lines/voicemail.py: the bot
listens before it speaks): tried again after `retry_delay_secs`, at most `max_attempts` times, then marked
failed for the worklist. Requests are only dialled while the human line is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web

from voicebot.appkeys import CALL_SERVICES, DRAIN, SETTINGS, SIP_LINE, TWILIO
from voicebot.config import Settings
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.types import CallInfo
from voicebot.lines.sip import SipLine
from voicebot.lines.twilio_callbacks import Attempt, TwilioCallbacks, can_place
from voicebot.store.callbacks import CallbackRequest, CallbackStore, callback_store

log = logging.getLogger(__name__)

JOB = "callbacks"
# Renew the key only while we still hold it (another process may have taken over after a long stall).
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


class CallbackDialer:
    def __init__(self, settings: Settings, line: SipLine | None, store: CallbackStore, owner: str,
                 twilio: TwilioCallbacks | None = None) -> None:
        self.settings = settings
        self.line = line  # SIP calls through [callbacks] trunk_uri (None: no trunk)
        self.twilio = twilio  # Twilio callers' callbacks through Twilio's REST API (None: not configured)
        self.store = store
        self.owner = owner  # this process (worker id): the lock's value
        self.hours = BusinessHours.from_settings(settings.business_hours)
        self.calling: dict[str, asyncio.Task] = {}

    @property
    def lock_ms(self) -> int:
        return int(max(3 * self.settings.callbacks.poll_secs, 30) * 1000)

    async def own(self) -> bool:
        """Take or keep the dialer's job for this process; False while another process holds it."""
        key = self.store.keys.job(JOB)
        if await self.store.client.set(key, self.owner, nx=True, px=self.lock_ms):
            return True
        return bool(await self.store.client.eval(RENEW, 1, key, self.owner, self.lock_ms))

    async def release(self) -> None:
        key = self.store.keys.job(JOB)
        await self.store.client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) "
                                     "end return 0", 1, key, self.owner)

    async def tick(self, now: float | None = None) -> list[str]:
        """One round: when this process owns the job and the line is open, start calls for due requests."""
        now = time.time() if now is None else now
        if not await self.own() or not self.hours.is_open(datetime.fromtimestamp(now, UTC)):
            return []
        free = self.settings.callbacks.max_concurrent - len(self.calling)
        started = []
        for request in await self.store.due(now, limit=max(free, 0) + len(self.calling)):
            if len(self.calling) >= self.settings.callbacks.max_concurrent:
                break
            if request.id in self.calling:
                continue  # "calling" but not ours: its process died mid-call, so it is dialled again
            request.status, request.attempts = "calling", request.attempts + 1
            await self.store.save(request)
            task = asyncio.get_running_loop().create_task(self.place(request), name=f"callback-{request.id}")
            self.calling[request.id] = task
            task.add_done_callback(lambda _t, i=request.id: self.calling.pop(i, None))
            started.append(request.id)
        return started

    async def place(self, request: CallbackRequest) -> CallbackRequest:
        """Call the customer and record what happened on the request."""
        try:
            if (request.channel == "twilio" and self.twilio is not None) or self.line is None:
                assert self.twilio is not None  # the dialer runs only with a SIP trunk or Twilio callbacks
                attempt = await self.twilio.call_out(request)
            else:
                attempt = await self._call_sip(request)
        except Exception as exc:  # a dialing fault is an unsuccessful attempt, never a lost request
            log.exception("callback %s: dialing failed", request.id)
            attempt = Attempt(False, False, f"{type(exc).__name__}: {exc}")
        # Re-read: someone may have claimed it or added notes on the worklist while it rang, or the caller
        # asked to be forgotten (then nothing is written back).
        current = await self.store.get(request.id)
        if current is None:
            return request
        request = current
        if attempt.reached:
            request.status = "transferred" if attempt.transferred else "reached"
            request.last_result = "reached, transferred to the human line" if attempt.transferred else "reached"
            request.closed_at = time.time()
        elif request.attempts >= self.settings.callbacks.max_attempts:
            request.status, request.last_result, request.closed_at = "failed", attempt.detail, time.time()
        else:
            request.status, request.last_result = "open", attempt.detail
            request.due = time.time() + self.settings.callbacks.retry_delay_secs
        log.info("callback %s: attempt %d: %s -> %s", request.id, request.attempts, attempt.detail, request.status)
        await self.store.save(request)
        return request

    async def _call_sip(self, request: CallbackRequest) -> Attempt:
        assert self.line is not None
        info = CallInfo(call_id=uuid.uuid4().hex[:16], caller_number=request.number, language=request.language,
                        flow_id=self.settings.callbacks.flow, channel="sip", topic=request.topic,
                        handoff_id=request.handoff_id)
        dialled, call = await self.line.call_out(request.number, info)
        if call is None:
            return Attempt(False, False, f"{dialled.outcome} ({dialled.status} {dialled.reason})")
        if call.answered_by == "machine":  # voicemail: nobody to help, try again later
            return Attempt(False, False, "voicemail (an answering machine took the call)")
        return Attempt(True, any(t.ok for t in call.transfers), "reached")

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # Redis down: try again next round
                log.exception("callback dialer round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.callbacks.poll_secs)


async def callback_dialer_ctx(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup-ctx (after `sip_ctx` and `twilio_ctx`): dial booked callbacks while the app runs, if a
    SIP trunk or Twilio callbacks are configured."""
    settings: Settings = app[SETTINGS]
    line = app.get(SIP_LINE) if settings.callbacks.trunk_uri else None
    state = app.get(TWILIO)
    twilio = TwilioCallbacks(settings, state.rest, state.outcomes) \
        if state is not None and can_place(settings) else None
    calls = app[CALL_SERVICES].store
    if (line is None and twilio is None) or calls is None:  # nothing to dial with, or no store
        yield
        return
    dialer = CallbackDialer(settings, line, callback_store(calls), app[DRAIN].worker, twilio)
    stop = asyncio.Event()
    task = asyncio.create_task(dialer.run(stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 5)
        for call in list(dialer.calling.values()):
            call.cancel()
        with contextlib.suppress(Exception):
            await dialer.release()
