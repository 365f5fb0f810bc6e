"""Caller events -> bot replies, through the call's `CallSession` (dialog + transcript + handoff)."""

from __future__ import annotations

import logging

from pipecat.frames.frames import Frame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.dialog.types import BotReply
from voicebot.pipeline.frames import BotActionFrame, BotReplyFrame, CallerEventFrame, SystemFaultFrame, TurnClock
from voicebot.session import CallSession

log = logging.getLogger(__name__)


class DialogResponder(FrameProcessor):
    def __init__(self, session: CallSession) -> None:
        super().__init__(name="dialog")
        self._session = session
        self._closing = False  # a transfer/hang-up was decided: later caller events change nothing

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)  # downstream must start before the greeting reaches it
            await self._reply(await self._session.begin(), None)
        elif isinstance(frame, CallerEventFrame):
            if self._closing:
                log.info("call %s: ignoring %r after the call was closed", self._session.info.call_id, frame.event)
                return
            timings = frame.clock.timings() if frame.clock else None
            reply = await self._session.on_event(frame.event, timings)
            if frame.clock:
                frame.clock.reply_ready = TurnClock.now()
            await self._reply(reply, frame.clock)
        elif isinstance(frame, SystemFaultFrame):
            if not self._closing:
                await self._reply(await self._session.component_failed(frame.component, frame.detail), None)
        else:
            await self.push_frame(frame, direction)

    async def _reply(self, reply: BotReply, clock: TurnClock | None) -> None:
        self._closing = reply.action != "continue"
        await self.push_frame(BotReplyFrame(reply, clock))
        await self.push_frame(BotActionFrame(reply))
