"""What every test and bench run shares: the Redis to use, and settings with the human line staffed."""

from __future__ import annotations

import os

from voicebot.config import Settings

TEST_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def always_staffed(settings: Settings) -> Settings:
    """`settings` with the human line staffed whatever the wall clock says: without it a test that expects a
    transfer gets the after-hours callback when the suite runs after 20:00 Warsaw time."""
    hours = settings.business_hours.model_copy(update={"always_open": True})
    return settings.model_copy(update={"business_hours": hours})
