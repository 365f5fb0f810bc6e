"""Offering a callback when the human line cannot take the caller (the transfer failed: nobody answered,
the switch refused, no Twilio credentials).

The caller was promised a person. Dropping them, or leaving them on a dead line, breaks that promise; the
next best thing is a recorded callback request (Redis, `voicebot/store/callbacks.py`, the same store the
dialog uses outside business hours) and a clear sentence about when to expect the call. The wording
lives here, in one place, for every line (SIP, AudioSocket, Twilio, the file caller).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voicebot.config import Settings
from voicebot.dialog.callback_capture import dialable
from voicebot.dialog.datetimes import say_datetime
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.types import BotReply, CallInfo
from voicebot.store.callbacks import CallbackRequest, CallbackStore, callback_store
from voicebot.store.calls import CallStore

log = logging.getLogger(__name__)

# {when}: "as soon as possible" while the human line is staffed, else its next opening time.
CALLBACK_TEXT = {
    "pl": {
        "soon": "Przepraszam, nie udało się połączyć z konsultantem. Zapisałem prośbę o kontakt: konsultant "
                "oddzwoni najszybciej, jak to możliwe. Do widzenia.",
        "at": "Przepraszam, nie udało się połączyć z konsultantem. Zapisałem prośbę o kontakt. Konsultant "
              "oddzwoni: {when}. Do widzenia.",
        # Nothing to call back (no caller number) or the request could not be recorded: never a false promise.
        "none": "Przepraszam, nie udało się połączyć z konsultantem. Prosimy zadzwonić ponownie później. "
                "Do widzenia.",
    },
    "en": {
        "soon": "Sorry, I could not connect you to a colleague. I have booked a callback: a consultant will call "
                "you back as soon as possible. Goodbye.",
        "at": "Sorry, I could not connect you to a colleague. I have booked a callback: a consultant will call "
              "you back on {when}. Goodbye.",
        "none": "Sorry, I could not connect you to a colleague. Please call us again later. Goodbye.",
    },
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CallbackOffer:
    """Books callbacks for calls whose transfer failed. One per process, shared by all calls."""

    store: CallbackStore
    hours: BusinessHours
    clock: Callable[[], datetime] = field(default=_now)

    @classmethod
    def for_store(cls, settings: Settings, calls: CallStore) -> CallbackOffer:
        """Requests go next to the call records, through their write buffer (an outage keeps the promise)."""
        return cls(callback_store(calls), BusinessHours.from_settings(settings.business_hours))

    async def book(self, info: CallInfo, *, topic: str, reason: str, detail: str,
                   context: dict[str, Any], hours: BusinessHours | None = None) -> tuple[BotReply, str | None]:
        """Record the request and return what to tell the caller (action "callback"), with the request id.

        Without a caller number, or when the request cannot be stored, the caller is asked to call again
        (action "hangup", id None) instead of being promised a call that will never come. `hours`: when the
        people who will call back work (the skill's line), if not the [business_hours].
        """
        texts = CALLBACK_TEXT.get(info.language, CALLBACK_TEXT["en"])
        if not dialable(info.caller_number):  # withheld ("anonymous"): nobody to call back
            return BotReply(text=texts["none"], action="hangup", reason=reason, language=info.language), None
        now = self.clock()
        hours = hours or self.hours
        due = None if hours.is_open(now) else hours.next_open(now)
        request = CallbackRequest(
            number=info.caller_number, topic=topic, preferred_time=due.isoformat() if due else "",
            call_id=info.call_id, language=info.language, reason="transfer_failed",
            context={**context, "transfer_reason": reason, "transfer_failure": detail},
            due=due.timestamp() if due else now.timestamp(), channel=info.channel,
        )
        try:
            callback_id = await self.store.add(request)
        except Exception:  # not an outage (those are buffered): a broken store must not promise a call
            log.exception("call %s: could not record the callback request", info.call_id)
            return BotReply(text=texts["none"], action="hangup", reason=reason, language=info.language), None
        text = texts["at"].format(when=say_datetime(due, info.language)) if due else texts["soon"]
        return BotReply(text=text, action="callback", reason=reason, language=info.language), callback_id
