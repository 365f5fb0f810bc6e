"""The pipecat input/output pair for any `CallMedia` (SIP, AudioSocket, Twilio, the file caller...)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    StartFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.dialog.types import BotReply
from voicebot.pipeline.frames import (
    BotActionFrame,
    GoodbyeTalkedOverFrame,
    KeyPressFrame,
    SpokeAfterGoodbyeFrame,
    TransferFailedFrame,
    TurnClock,
)
from voicebot.pipeline.media import AudioIn, CallMedia, DtmfIn, HangupIn, TransferResult
from voicebot.pipeline.speaker import CLOCK_KEY

log = logging.getLogger(__name__)

PLAYOUT_TIMEOUT_S = 120.0  # a line that never reports its audio played must not hold the call forever


class MediaSource(FrameProcessor):
    """Reads the line's events into the pipeline; tells the call when the caller is gone."""

    def __init__(self, media: CallMedia, on_gone: Callable[[str], None]) -> None:
        super().__init__(name="media-in")
        self._media = media
        self._on_gone = on_gone
        self._reader: asyncio.Task[None] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame) and self._reader is None:
            self._reader = self.create_task(self._read(), name="media-events")
        elif isinstance(frame, EndFrame | CancelFrame) and self._reader is not None:
            await self.cancel_task(self._reader)

    async def _read(self) -> None:
        rate = self._media.sample_rate
        try:
            async for event in self._media.events():
                if isinstance(event, AudioIn):
                    await self.push_frame(InputAudioRawFrame(audio=event.pcm, sample_rate=rate, num_channels=1))
                elif isinstance(event, DtmfIn):
                    await self.push_frame(KeyPressFrame(event.digit))
                elif isinstance(event, HangupIn):
                    self._on_gone(event.reason)
                    return
            self._on_gone("line closed")
        except Exception as exc:
            log.exception("reading the call's media failed")
            self._on_gone(f"media failed: {exc}")


class MediaSink(FrameProcessor):
    """Plays bot audio on the line, clears it on barge-in, and carries out transfer / hang-up (never a hang-up on
    a caller who talks over the goodbye: the dialog is told to listen on instead).

    The caller's voice is known to us only some time after they start (the line's delay, then `vad_start_secs`
    of voice before the turn detector calls it speech): so after the goodbye has played, the line listens
    `goodbye_listen_s` more before hanging up, and a caller who started at its very end keeps the line.
    """

    def __init__(self, media: CallMedia, on_first_audio: Callable[[TurnClock], None],
                 on_closed: Callable[[BotReply, str], None], goodbye_listen_s: float = 0.0) -> None:
        super().__init__(name="media-out")
        self._media = media
        self._on_first_audio = on_first_audio
        self._on_closed = on_closed
        self._goodbye_listen_s = goodbye_listen_s
        self._caller_heard = asyncio.Event()  # the caller started a turn (or the dialog saw them speak)
        self._speaking = False
        self._playout: asyncio.Task[None] | None = None
        # Never hang up on a talking caller: whether they are inside a turn now, and whether they spoke (or
        # pressed a key) since the current reply's audio began.
        self._caller_talking = False
        self._talked_over = False
        self._new_reply = True  # the next bot audio starts another reply
        self._spoke_after_goodbye = False  # the dialog saw the caller speak once the goodbye was decided

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserStartedSpeakingFrame):
            self._caller_talking = self._talked_over = True
            self._caller_heard.set()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._caller_talking = False
        elif isinstance(frame, SpokeAfterGoodbyeFrame):
            self._spoke_after_goodbye = True
            self._caller_heard.set()
            return
        if isinstance(frame, InterruptionFrame):
            self._talked_over = True
            await self._media.clear()
            await self._stop_watching()
            await self._stopped_speaking()
        elif isinstance(frame, TTSAudioRawFrame):
            await self._play(frame)
            return
        elif isinstance(frame, BotActionFrame):
            await self._after_reply(frame.reply)
            return
        await self.push_frame(frame, direction)

    async def _play(self, frame: TTSAudioRawFrame) -> None:
        await self._stop_watching()
        if self._new_reply:  # what the caller said before this reply, the reply answers
            self._new_reply = self._talked_over = False
        clock = frame.metadata.get(CLOCK_KEY)
        if isinstance(clock, TurnClock):
            clock.first_audio = TurnClock.now()
        if not self._speaking:
            self._speaking = True
            await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
        await self._media.play(frame.audio)
        if isinstance(clock, TurnClock):
            self._on_first_audio(clock)

    async def _after_reply(self, reply: BotReply) -> None:
        self._new_reply = True
        if not reply.text.strip():
            self._talked_over = False  # nothing was said this time that the caller could have talked over
        if reply.action == "continue":
            self._playout = self.create_task(self._watch_playout(), name="playout")
            return
        await self._wait_played()  # the caller hears the last words before the line changes
        if reply.action == "end":
            await self._listen_after_goodbye()
        if reply.action == "end" and self._caller_spoke():
            # The caller spoke over the goodbye ("wait, one more thing"): no hang-up, the dialog hears them.
            self._talked_over = self._spoke_after_goodbye = False
            await self._stopped_speaking()
            await self.push_frame(GoodbyeTalkedOverFrame(), FrameDirection.UPSTREAM)
            return
        if reply.action == "transfer":
            result = await self._transfer(reply)
            if not result.ok:
                # Nobody took the caller: the dialog offers a callback (pushed back down as a reply with
                # action "callback"); the call stays up until that is spoken.
                await self.push_frame(TransferFailedFrame(result.detail), FrameDirection.UPSTREAM)
                return
            detail = f"transfer ok: {result.detail}"
        else:
            # "callback" too: the request is recorded and the caller told when to expect the call, so the
            # call ends here; a transfer would only put them in a queue nobody answers.
            detail = await self._hangup(reply)
        await self._stopped_speaking()
        self._on_closed(reply, detail)

    def _caller_spoke(self) -> bool:
        """The caller talked over the goodbye, is talking now, or spoke after the dialog decided to end."""
        return self._talked_over or self._caller_talking or self._spoke_after_goodbye

    async def _listen_after_goodbye(self) -> None:
        """Give a caller who began speaking as the goodbye ended the time to be heard: the hang-up waits until
        their turn starts, or `goodbye_listen_s` of nothing."""
        if self._goodbye_listen_s <= 0 or self._caller_spoke():
            return
        self._caller_heard.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caller_heard.wait(), self._goodbye_listen_s)

    async def _transfer(self, reply: BotReply) -> TransferResult:
        try:
            return await self._media.transfer(reply.handoff_id or "", reply.transfer_target)
        except Exception as exc:
            log.exception("line failed to transfer")
            return TransferResult(ok=False, detail=f"transfer error: {type(exc).__name__}: {exc}")

    async def _hangup(self, reply: BotReply) -> str:
        try:
            await self._media.hangup()
        except Exception as exc:
            log.exception("line failed to hang up")
            return f"{reply.action}: hang-up failed: {exc}"
        return "callback booked, hung up" if reply.action == "callback" else "hung up"

    async def _wait_played(self) -> None:
        try:
            await asyncio.wait_for(self._media.wait_played(), PLAYOUT_TIMEOUT_S)
        except TimeoutError:
            log.error("bot audio did not finish playing within %ss", PLAYOUT_TIMEOUT_S)

    async def _watch_playout(self) -> None:
        await self._wait_played()
        await self._stopped_speaking()

    async def _stop_watching(self) -> None:
        if self._playout is not None:
            task, self._playout = self._playout, None
            with contextlib.suppress(asyncio.CancelledError):
                await self.cancel_task(task)

    async def _stopped_speaking(self) -> None:
        if self._speaking:
            self._speaking = False
            await self.push_frame(BotStoppedSpeakingFrame(), FrameDirection.UPSTREAM)
