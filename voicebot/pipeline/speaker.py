"""Bot replies -> bot audio, one sentence at a time, at the line's sample rate."""

from __future__ import annotations

import logging

from pipecat.frames.frames import Frame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.pipeline.frames import BotReplyFrame, SystemFaultFrame, TurnClock
from voicebot.pipeline.tts import SpeechSynthesizer

log = logging.getLogger(__name__)

CLOCK_KEY = "voicebot.turn_clock"  # frame metadata: the turn clock rides on a reply's first audio frame


class Speaker(FrameProcessor):
    def __init__(self, tts: SpeechSynthesizer, sample_rate: int) -> None:
        super().__init__(name="speaker")
        self._tts = tts
        self._rate = sample_rate

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, BotReplyFrame):
            await self._speak(frame)
        else:
            await self.push_frame(frame, direction)

    async def _speak(self, frame: BotReplyFrame) -> None:
        reply = frame.reply
        if not reply.text.strip():
            return
        try:
            # A barge-in cancels this coroutine between sentences: the rest is never synthesized.
            await self._say(reply.text, reply.language, frame.clock)
        except Exception as exc:
            log.exception("speech synthesis failed for %r", reply.text)
            if reply.action == "continue":
                # Ask the dialog for a hand-over; its action frame follows even if that can't be spoken either.
                await self.push_frame(SystemFaultFrame("tts", f"{type(exc).__name__}: {exc}"),
                                      FrameDirection.UPSTREAM)
            return
        # The greeting's language offers, each in its own language's voice ("To continue in English, press 9.").
        # One that cannot be said costs only itself: the caller has had the reply.
        for offer in reply.language_offers:
            try:
                await self._say(offer.say, offer.language, None)
            except Exception:
                log.exception("speech synthesis failed for the language offer %r", offer.say)

    async def _say(self, text: str, language: str, clock: TurnClock | None) -> None:
        first = True
        async for pcm in self._tts.stream(text, language, self._rate):
            out = TTSAudioRawFrame(audio=pcm, sample_rate=self._rate, num_channels=1)
            if first and clock is not None:
                out.metadata[CLOCK_KEY] = clock
            first = False
            await self.push_frame(out)
