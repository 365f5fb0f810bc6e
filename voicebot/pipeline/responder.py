"""Caller events -> bot replies, through the call's `CallSession` (dialog + transcript + handoff).

No dead air: once a reply that waits for the caller has been heard out (the line's BotStoppedSpeaking), a
no-input timer runs; a caller who starts speaking or presses a key stops it, and when it runs out the dialog
gets a `CallerNoInput` like any caller event (it asks again, rewords, then hands over).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable

from pipecat.frames.frames import BotStoppedSpeakingFrame, Frame, StartFrame, UserStartedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.call_session import CallSession
from voicebot.dialog.types import BotReply, CallerDtmf, CallerNoInput, CallerSaid
from voicebot.pipeline.frames import (
    BotActionFrame,
    BotReplyFrame,
    CallerEventFrame,
    GoodbyeTalkedOverFrame,
    ListeningFrame,
    MaintenanceFrame,
    SpokeAfterGoodbyeFrame,
    SystemFaultFrame,
    TransferFailedFrame,
    TurnClock,
)

log = logging.getLogger(__name__)

# A dialog step that hangs (a CRM that never answers) must not leave the caller in silence.
DIALOG_TIMEOUT_S = 15.0


class DialogResponder(FrameProcessor):
    def __init__(self, session: CallSession, timeout_s: float = DIALOG_TIMEOUT_S, no_input_s: float = 0.0, *,
                 busy: bool = False) -> None:
        super().__init__(name="dialog")
        self._session = session
        self._busy = busy  # overloaded: the busy message and a transfer instead of the greeting
        self._timeout_s = timeout_s
        self._no_input_default_s = no_input_s  # for replies whose flow/node sets none; 0 = no timer
        self._greeting: asyncio.Task[None] | None = None
        self._closing = False  # a transfer/hang-up was decided: later caller events change nothing
        # Seconds of silence the last reply waits for once heard out; None while nobody waits on the caller.
        self._awaiting_s: float | None = None
        self._no_input: asyncio.Task[None] | None = None
        self._ended = False  # the last reply was the goodbye (action "end"), not a transfer
        self._no_input_last_s = 0.0  # the last reply's no-input wait, for a goodbye the caller talked over
        self._over_goodbye: CallerEventFrame | None = None  # words that came while the goodbye still played
        self._talked_over = False  # the line stayed up for the caller: their next words were said over the goodbye
        self._turn_open = False  # the caller started a turn whose words have not reached us yet

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)  # downstream must start before the greeting reaches it
            # Greet in a task: the pipeline's start must not wait on the dialog (it may look up the caller).
            self._greeting = self.create_task(self._greet(), name="greeting")
        elif isinstance(frame, CallerEventFrame):
            if isinstance(frame.event, CallerNoInput) and frame.event.noise is False and self._awaiting_s is None:
                return  # the caller spoke (or pressed a key) after the timer fired: their turn is answered
            if not isinstance(frame.event, CallerNoInput) or frame.event.noise:
                self._turn_open = False
            await self._caller_active()
            await self._after_greeting()
            if self._closing:
                if self._ended and isinstance(frame.event, CallerSaid | CallerDtmf):
                    self._over_goodbye = frame  # the line decides: answered if it stays up for the caller
                    await self.push_frame(SpokeAfterGoodbyeFrame())
                    return
                log.info("call %s: ignoring %r after the call was closed", self._session.info.call_id, frame.event)
                return
            await self._answer(frame)
        elif isinstance(frame, GoodbyeTalkedOverFrame):
            log.info("call %s: the caller spoke over the goodbye: listening on", self._session.info.call_id)
            self._closing, self._talked_over, self._turn_open = False, True, False
            held, self._over_goodbye = self._over_goodbye, None
            if held is not None:
                await self._answer(held)
            elif self._no_input_last_s > 0:  # their words are on the way; if none come, the timer answers
                self._awaiting_s = self._no_input_last_s
                self._start_no_input_timer()
        elif isinstance(frame, SystemFaultFrame):
            await self._after_greeting()
            if not self._closing:
                await self._reply(await self._session.component_failed(frame.component, frame.detail), None)
        elif isinstance(frame, MaintenanceFrame):
            await self._after_greeting()
            if not self._closing:
                await self._reply(await self._session.maintenance(), None)
        elif isinstance(frame, TransferFailedFrame):
            # The call was closing on a transfer the line could not make: offer a callback instead.
            await self._reply(await self._session.transfer_failed(frame.detail), None)
        else:
            if isinstance(frame, UserStartedSpeakingFrame):
                self._turn_open = True
                await self._caller_active()
                if self._closing and self._ended:
                    await self.push_frame(SpokeAfterGoodbyeFrame())
            elif isinstance(frame, BotStoppedSpeakingFrame) and self._awaiting_s is not None:
                self._start_no_input_timer()
            await self.push_frame(frame, direction)

    async def _answer(self, frame: CallerEventFrame) -> None:
        event = frame.event
        if self._talked_over and isinstance(event, CallerSaid | CallerDtmf):
            self._talked_over = False
            event = dataclasses.replace(event, barge_in=True)  # said over the goodbye: the dialog listens on
        timings = frame.clock.timings() if frame.clock else None
        reply = await self._guarded(self._session.on_event(event, timings))
        if frame.clock:
            frame.clock.reply_ready = TurnClock.now()
        await self._reply(reply, frame.clock)

    async def _caller_active(self) -> None:
        """The caller is speaking or pressed a key: nobody waits in silence; their turn gets the answer."""
        self._awaiting_s = None
        if self._no_input is not None:
            task, self._no_input = self._no_input, None
            await self.cancel_task(task)

    async def cleanup(self) -> None:
        # The call is over: a no-input timer still waiting would keep this pipeline, and the line's call with its
        # RTP session, alive for its remaining seconds and then queue a frame into a dead pipeline.
        for task in (self._no_input, self._greeting):
            if task is not None and not task.done():
                task.cancel()
        self._no_input = self._greeting = None
        await super().cleanup()

    def _start_no_input_timer(self) -> None:
        if self._no_input is not None:
            self._no_input.cancel()
        self._no_input = self.create_task(self._wait_for_input(self._awaiting_s or 0.0), name="no-input")

    async def _wait_for_input(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._no_input is asyncio.current_task() and self._awaiting_s is not None:
            log.info("call %s: no input for %.1fs", self._session.info.call_id, seconds)
            # Through our own queue, so it is answered in order with any caller event already waiting there.
            await self.queue_frame(CallerEventFrame(CallerNoInput(waited_s=seconds)))

    async def _greet(self) -> None:
        greeting = self._session.turn_away() if self._busy else self._session.begin()
        await self._reply(await self._guarded(greeting), None)

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
        self._ended = reply.action == "end"
        if self._ended and self._turn_open:
            # Decided while the caller was saying something more: the line must not hang up before we hear it.
            await self.push_frame(SpokeAfterGoodbyeFrame())
        await self.push_frame(ListeningFrame(reply.asr_hints, reply.expects, reply.understands, reply.language),
                              FrameDirection.UPSTREAM)
        waits = reply.no_input_secs or self._no_input_default_s
        self._no_input_last_s = waits
        self._awaiting_s = waits if (waits > 0 and not self._closing) else None
        await self.push_frame(BotReplyFrame(reply, clock))
        await self.push_frame(BotActionFrame(reply))
        if self._awaiting_s is not None and not reply.text.strip():
            self._start_no_input_timer()  # nothing to hear out: the silence counts from now
