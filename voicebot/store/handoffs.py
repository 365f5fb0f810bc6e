"""Handoff packages in Redis: what a human agent sees when a transferred call rings (layout in `keys.py`).

`P handoff:{id}` holds the package as JSON (TTL escalation.handoff_ttl_days), `P handoffs:by_time` lists
them, the call record gets `handoff_id`, and the whole package is published on `P ch:handoffs` so agent
desktops can pop it up. Writes go through the call store's `WriteBuffer`: during a Redis outage the
package is kept and written (and published) when Redis returns; the transfer does not wait for it.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import redis.asyncio as aioredis

from voicebot.store.buffer import WriteBuffer
from voicebot.store.keys import Keys

HANDOFF_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class HandoffStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, buffer: WriteBuffer | None = None,
                 ttl_secs: int = 30 * 86400) -> None:
        self.client = client
        self.keys = keys
        self.buffer = buffer or WriteBuffer()
        self.ttl_secs = ttl_secs

    async def save(self, package: dict[str, Any]) -> bool:
        """Store and publish `package` (needs handoff_id and call_id). True = in Redis now, False = buffered."""
        handoff_id, call_id = package["handoff_id"], package["call_id"]
        if not HANDOFF_ID.match(handoff_id):
            raise ValueError(f"bad handoff id {handoff_id!r}")
        body = json.dumps(package, ensure_ascii=False, default=str)
        created = float(package.get("created_at") or time.time())

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as p:
                p.set(self.keys.handoff(handoff_id), body, ex=self.ttl_secs)
                p.zadd(self.keys.handoffs_by_time, {handoff_id: created})
                p.hset(self.keys.call(call_id), mapping={"handoff_id": handoff_id})
                p.publish(self.keys.channel_handoffs, body)
                await p.execute()

        return await self.buffer.write(f"handoff {handoff_id}", op)

    async def get(self, handoff_id: str) -> dict[str, Any] | None:
        if not HANDOFF_ID.match(handoff_id):
            return None
        raw = await self.client.get(self.keys.handoff(handoff_id))
        return json.loads(raw) if raw else None

    async def recent_ids(self, limit: int = 50) -> list[str]:
        return await self.client.zrevrange(self.keys.handoffs_by_time, 0, limit - 1)
