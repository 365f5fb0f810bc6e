"""Deleting calls older than privacy.retention_days: record, transcript, index entries and recordings."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from voicebot.store.calls import CallStore
from voicebot.store.recordings import RecordingIndex, delete_stale_files


async def delete_old_calls(store: CallStore, retention_days: int, now: float | None = None,
                           recordings_dir: Path | None = None) -> int:
    """Delete every call that started before the cut-off, with its recording; returns how many. Live calls
    are kept. Recording files in `recordings_dir` older than the cut-off go too, indexed or not."""
    cutoff = (time.time() if now is None else now) - retention_days * 86400
    recordings = RecordingIndex(store)
    deleted = 0
    while True:
        ids = await store.client.zrangebyscore(store.keys.calls_by_time, "-inf", f"({cutoff}", start=0, num=500)
        live = await store.client.smembers(store.keys.calls_live)
        ids = [i for i in ids if i not in live]
        if not ids:
            break
        await recordings.delete(ids)
        async with store.client.pipeline(transaction=True) as p:
            for cid in ids:
                p.delete(store.keys.call(cid), store.keys.turns(cid))
            p.zrem(store.keys.calls_by_time, *ids)
            await p.execute()
        deleted += len(ids)
    if recordings_dir is not None:
        await asyncio.to_thread(delete_stale_files, recordings_dir, cutoff)
    return deleted
