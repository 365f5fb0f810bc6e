"""Caller events -> bot replies, through the call's `CallSession` (dialog + transcript + handoff)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from pipecat.frames.frames import Frame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.call_session import CallSession
from voicebot.dialog.types import BotReply
from voicebot.pipeline.frames import (
    BotActionFrame,
    BotReplyFrame,
    CallerEventFrame,
    ListeningFrame,
    SystemFaultFrame,
    TransferFailedFrame,
    TurnClock,
)

log = logging.getLogger(__name__)

# A dialog step that hangs (a CRM that never answers) must not leave the caller in silence.
DIALOG_TIMEOUT_S = 15.0


class DialogResponder(FrameProcessor):
    def __init__(self, session: CallSession, timeout_s: float = DIALOG_TIMEOUT_S) -> None:
        super().__init__(name="dialog")
        self._session = session
        self._timeout_s = timeout_s
        self._greeting: asyncio.Task[None] | None = None
        self._closing = False  # a transfer/hang-up was decided: later caller events change nothing

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)  # downstream must start before the greeting reaches it
            # Greet in a task: the pipeline's start must not wait on the dialog (it may look up the caller).
            self._greeting = self.create_task(self._greet(), name="greeting")
        elif isinstance(frame, CallerEventFrame):
            await self._after_greeting()
            if self._closing:
                log.info("call %s: ignoring %r after the call was closed", self._session.info.call_id, frame.event)
                return
            timings = frame.clock.timings() if frame.clock else None
            reply = await self._guarded(self._session.on_event(frame.event, timings))
            if frame.clock:
                frame.clock.reply_ready = TurnClock.now()
            await self._reply(reply, frame.clock)
        elif isinstance(frame, SystemFaultFrame):
            await self._after_greeting()
            if not self._closing:
                await self._reply(await self._session.component_failed(frame.component, frame.detail), None)
        elif isinstance(frame, TransferFailedFrame):
            # The call was closing on a transfer the line could not make: offer a callback instead.
            await self._reply(await self._session.transfer_failed(frame.detail), None)
        else:
            await self.push_frame(frame, direction)

    async def _greet(self) -> None:
        await self._reply(await self._guarded(self._session.begin()), None)

    async def _after_greeting(self) -> None:
        if self._greeting is not None:
            await self._greeting  # caller words are answered in order, after the greeting
            self._greeting = None

    async def _guarded(self, step: Awaitable[BotReply]) -> BotReply:
        try:
            return await asyncio.wait_for(step, self._timeout_s)
        except TimeoutError:
            return await self._session.component_failed("dialog", f"no reply within {self._timeout_s:.0f}s")

    async def _reply(self, reply: BotReply, clock: TurnClock | None) -> None:
        self._closing = reply.action != "continue"
        await self.push_frame(ListeningFrame(reply.asr_hints), FrameDirection.UPSTREAM)
        await self.push_frame(BotReplyFrame(reply, clock))
        await self.push_frame(BotActionFrame(reply))
