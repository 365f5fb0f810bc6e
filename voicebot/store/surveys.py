"""Which calls hear the post-call survey, and who is not asked again (`survey:asked:{number}`, keys.py).

A call is picked with probability `survey.share` unless its number was asked within `survey.ask_again_days`
(whatever the caller did then: answered, said no, or hung up; at most privacy.retention_days). A slow or absent
Redis never delays the greeting: the check gives up after a moment and the call is simply not surveyed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import redis.asyncio as aioredis

from voicebot.config import SurveySettings
from voicebot.store.callers import profile_number
from voicebot.store.keys import Keys

log = logging.getLogger(__name__)
REDIS_WAIT_S = 0.3  # the check runs before the greeting: the caller must not wait for it


class SurveyPicker:
    def __init__(self, client: aioredis.Redis, keys: Keys, settings: SurveySettings,
                 draw: Callable[[], float] = random.random, retention_days: int | None = None) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings
        self.draw = draw
        # A number is never kept longer than the calls it came from (privacy.retention_days).
        self.keep_days = min(settings.ask_again_days, retention_days or settings.ask_again_days)

    async def offer(self, number: str) -> bool:
        """Ask this call the survey (if the bot serves it)?"""
        if not self.settings.enabled or self.draw() >= self.settings.share:
            return False
        key = profile_number(number)  # one caller with or without the "+", as profiles and forget see it
        if key is None:
            return True  # a withheld number cannot be remembered, so it cannot have said no before
        try:
            return not await asyncio.wait_for(self.client.exists(self.keys.survey_asked(key)), REDIS_WAIT_S)
        except Exception as exc:  # Redis down or slow: better no survey than a caller asked twice
            log.warning("survey: cannot check whether %s was asked before (%s): not asking", number[-4:], exc)
            return False

    async def asked(self, number: str) -> None:
        """The survey started on a call from `number`: do not ask it again for survey.ask_again_days."""
        key = profile_number(number)
        if key is None:
            return
        try:
            await asyncio.wait_for(self.client.set(self.keys.survey_asked(key), "1",
                                                   ex=self.keep_days * 86400), REDIS_WAIT_S)
        except Exception as exc:
            log.warning("survey: could not remember that %s was asked (%s)", number[-4:], exc)
