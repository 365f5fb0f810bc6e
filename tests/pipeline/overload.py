"""Test helper: real overload of the speech side (many callers' finished turns queued for whisper at once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np


@asynccontextmanager
async def asr_backlog(models: Any, turn: np.ndarray, per_worker: int = 6) -> AsyncIterator[None]:
    """Queue `per_worker` real transcriptions of `turn` (float32, 16 kHz) per whisper worker, and wait until
    finished turns wait longer than the admission threshold. On exit, wait for the backlog to clear and the
    measured delay to fade, so later calls in the same test session get in."""
    asr, threshold_s = models.asr, models.calls.admit_queue_delay_ms / 1000
    backlog = [asyncio.create_task(asr.transcribe(turn, "en")) for _ in range(per_worker * asr.workers)]
    try:
        for _ in range(600):
            if asr.queue_delay_s() > threshold_s:
                break
            await asyncio.sleep(0.05)
        assert asr.queue_delay_s() > threshold_s, "the backlog did not delay speech recognition"
        yield
    finally:
        await asyncio.gather(*backlog, return_exceptions=True)
        for _ in range(600):
            if asr.queue_delay_s() <= threshold_s / 2:
                break
            await asyncio.sleep(0.1)
