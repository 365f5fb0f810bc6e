"""Key presses -> one caller event per entry: "1" for a menu, "12345#" for an order number.

Digits are collected until '#' or until the caller stops pressing for a moment; a key pressed while the bot
speaks stops the bot, as callers expect from any phone menu.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame, Frame, InterruptionFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.dialog.types import CallerDtmf
from voicebot.pipeline.frames import CallerEventFrame, KeyPressFrame

INTER_DIGIT_S = 0.8  # pause that ends an entry without '#'


class DtmfCollector(FrameProcessor):
    def __init__(self, inter_digit_s: float = INTER_DIGIT_S) -> None:
        super().__init__(name="dtmf")
        self._gap = inter_digit_s
        self._digits = ""
        self._timer: asyncio.Task[None] | None = None
        self._bot_speaking = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, KeyPressFrame):
            await self._key(frame.digit)
            return
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        await self.push_frame(frame, direction)

    async def _key(self, digit: str) -> None:
        if not self._digits and self._bot_speaking:
            await self.push_frame(InterruptionFrame())
        self._digits += digit
        if self._timer is not None:
            await self.cancel_task(self._timer)
            self._timer = None
        if digit == "#":
            await self._flush()
        else:
            self._timer = self.create_task(self._flush_later(), name="dtmf-gap")

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._gap)
        self._timer = None
        await self._flush()

    async def _flush(self) -> None:
        digits, self._digits = self._digits, ""
        if digits:
            await self.push_frame(CallerEventFrame(CallerDtmf(digits)))
