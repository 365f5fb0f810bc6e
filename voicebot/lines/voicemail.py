"""Answering-machine screening for outbound calls (callbacks): listen before the bot says a word.

A callback that reaches a voicemail box must not play the bot's questions to a tape and then transfer
the tape to a colleague; the dialer retries it later instead. The verdict comes from the callee's first audio
(voicebot/pipeline/answering_machine.py); a key press means a person, and a phone that sends nothing is
treated as a person once `PATIENCE_SECS` have passed (it waits for us to speak).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Protocol

from voicebot.dialog.types import CallInfo
from voicebot.pipeline.answering_machine import AnsweringMachineDetector, DetectorLimits, Verdict
from voicebot.pipeline.media import AudioIn, DtmfIn, HangupIn, MediaEvent
from voicebot.pipeline.services import CallServices

log = logging.getLogger(__name__)

VOICEMAIL = "voicemail"  # the leg outcome's detail when a machine took a callback (twilio_callbacks.py reads it)
PATIENCE_SECS = 3.0  # a silent answer: the person is waiting for us
GREETING_MAX_SECS = 30.0  # longest voicemail greeting we wait out before leaving a message


class ScreenedCall(Protocol):
    sample_rate: int

    async def next_event(self, timeout: float) -> MediaEvent | None: ...  # see SipLineCall.next_event

    async def play(self, pcm: bytes) -> None: ...

    async def wait_played(self) -> None: ...


async def _events(call: ScreenedCall, seconds: float) -> AsyncIterator[MediaEvent | None]:
    """The callee's audio and keys for up to `seconds`; None every 0.2 s of nothing; ends at a hang-up."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ev = await call.next_event(min(left, 0.2))
        if isinstance(ev, HangupIn):
            return
        yield ev


async def screen_answer(call: ScreenedCall, greeting_secs: float) -> Verdict:
    """"human" or "machine" for a just-answered outbound call, from its first seconds of audio."""
    detector = AnsweringMachineDetector(DetectorLimits(greeting_secs=greeting_secs, silence_secs=PATIENCE_SECS))
    start = time.monotonic()
    # A greeting is judged within greeting_secs of its start; the start may come after a silent moment.
    async for ev in _events(call, PATIENCE_SECS + greeting_secs + 1.0):
        if isinstance(ev, DtmfIn):
            return "human"
        if isinstance(ev, AudioIn) and detector.feed(ev.pcm):
            break
        if not detector.speaking and time.monotonic() - start >= PATIENCE_SECS:
            break  # nothing said (or no audio sent at all): a person waiting for us
    return detector.timed_out()


async def wait_for_recording(call: ScreenedCall) -> bool:
    """Wait out the machine's greeting and beep (quiet after them); False if the callee hung up or it never ended."""
    detector = AnsweringMachineDetector()
    async for ev in _events(call, GREETING_MAX_SECS):
        if isinstance(ev, AudioIn) and detector.greeting_over(ev.pcm):
            return True
    return False


async def answered_by_machine(call: ScreenedCall, info: CallInfo, services: CallServices) -> bool:
    """Screen a just-answered callback (`callbacks.detect_voicemail`); on an answering machine leave the flow's
    `messages.voicemail` after the beep when `callbacks.voicemail_message` is on. True: a machine (the caller of
    this hangs up and the attempt counts as unsuccessful); False: a person, the bot goes on."""
    cfg = services.settings.callbacks
    if not cfg.detect_voicemail or await screen_answer(call, cfg.voicemail_greeting_secs) == "human":
        return False
    left = "hung up without a message"
    try:
        text = services.dialog.voicemail_message(info.flow_id, info.language) if cfg.voicemail_message else ""
        if text and await wait_for_recording(call):
            await call.play(await services.models.tts.synthesize(text, info.language, call.sample_rate))
            await call.wait_played()
            left = "message left"
    except Exception:  # a message that cannot be said must not keep the line open
        log.exception("callback call %s: the voicemail message failed", info.call_id)
    log.info("callback call %s: answering machine; %s", info.call_id, left)
    return True
