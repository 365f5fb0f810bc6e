"""Deleting calls older than privacy.retention_days: record, transcript and index entries."""

from __future__ import annotations

import time

from voicebot.store.calls import CallStore


async def delete_old_calls(store: CallStore, retention_days: int, now: float | None = None) -> int:
    """Delete every call that started before the cut-off; returns how many. Live calls are kept."""
    cutoff = (time.time() if now is None else now) - retention_days * 86400
    deleted = 0
    while True:
        ids = await store.client.zrangebyscore(store.keys.calls_by_time, "-inf", f"({cutoff}", start=0, num=500)
        live = await store.client.smembers(store.keys.calls_live)
        ids = [i for i in ids if i not in live]
        if not ids:
            return deleted
        async with store.client.pipeline(transaction=True) as p:
            for cid in ids:
                p.delete(store.keys.call(cid), store.keys.turns(cid))
            p.zrem(store.keys.calls_by_time, *ids)
            await p.execute()
        deleted += len(ids)
