"""Callbacks for callers who came in over Twilio: placed through Twilio's REST API, answered into our stream.

`POST .../Calls.json` asks Twilio to ring the customer from `twilio.caller_id`. Once they answer, Twilio
fetches `/twilio/voice?callback=ID`, whose TwiML streams the call to `/twilio/media`, where the bot runs the
callback flow with the original handoff package and transfers by redirecting the call (twilio_web.py). Twilio
reports the call's progress to `/twilio/callback-status` (whichever worker it reaches: it is kept in Redis with
the leg's outcome); this side waits for the final status: busy / no-answer / failed go to the retry policy,
completed is a call the customer took, transferred when the bot's leg outcome says so.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from telephony.twilio_rest import TwilioRest, with_query
from voicebot.config import Settings
from voicebot.lines.leg_outcome import LegOutcomes
from voicebot.lines.voicemail import VOICEMAIL
from voicebot.store.callbacks import CallbackRequest

FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
LONGEST_CALL_SECS = 3600.0  # stop waiting for a final status after this (Twilio never reported back)


@dataclass(frozen=True)
class Attempt:
    """What one outbound call for a callback request gave."""

    reached: bool  # a person took the call (the bot spoke with them)
    transferred: bool
    detail: str


def can_place(settings: Settings) -> bool:
    """Twilio callbacks need Twilio on, its credentials, our public address and a number to call from."""
    tw = settings.twilio
    return bool(tw.enabled and tw.account_sid and tw.auth_token and tw.public_url and tw.caller_id)


class TwilioCallbacks:
    def __init__(self, settings: Settings, rest: TwilioRest, outcomes: LegOutcomes, poll_secs: float = 0.5) -> None:
        self.settings = settings
        self.rest = rest
        self.outcomes = outcomes
        self.poll_secs = poll_secs

    async def call_out(self, request: CallbackRequest) -> Attempt:
        root = self.settings.twilio.public_url.rstrip("/")
        to = request.number if request.number.startswith("+") else f"+{request.number}"  # Twilio wants E.164
        ring = self.settings.callbacks.ring_timeout_secs
        created = await self.rest.create_call(
            to, self.settings.twilio.caller_id, with_query(f"{root}/twilio/voice", callback=request.id),
            with_query(f"{root}/twilio/callback-status", callback=request.id), ring)
        if not created.ok:
            return Attempt(False, False, created.detail)
        status = await self._final_status(created.sid, ring + LONGEST_CALL_SECS)
        if status != "completed":
            return Attempt(False, False, f"{status or 'no final status'} (Twilio call {created.sid})")
        outcome = await self.outcomes.get(created.sid)
        if outcome is not None and outcome.detail == VOICEMAIL:  # an answering machine: nobody to help
            return Attempt(False, False, f"voicemail (an answering machine took Twilio call {created.sid})")
        transferred = outcome is not None and outcome.disposition == "transfer"
        return Attempt(True, transferred, f"completed (Twilio call {created.sid})")

    async def _final_status(self, call_sid: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        status = ""
        while time.monotonic() < deadline:
            status = await self.outcomes.status(call_sid)
            if status in FINAL_STATUSES:
                return status
            await asyncio.sleep(self.poll_secs)
        return status
