"""Handoff packages in Redis: what a human agent sees when a transferred call rings (layout in `keys.py`).

`P handoff:{id}` holds the package as JSON (TTL escalation.handoff_ttl_days), `P handoffs:by_time` lists
them, the call record gets `handoff_id`, and the whole package is published on `P ch:handoffs` so agent
desktops can pop it up. Writes go through the call store's `WriteBuffer`: during a Redis outage the
package is kept and written (and published) when Redis returns; the transfer does not wait for it.

The package goes through the same redaction as the transcript, on the way in and on the way out (for
packages stored before redaction covered them): slots, summary, transcript, everything but ids and the
caller's own number.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from voicebot.store.buffer import WriteBuffer
from voicebot.store.keys import Keys
from voicebot.store.redact import redact_value

HANDOFF_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _as_is(text: str) -> str:
    return text


def _same_id(call_id: str) -> str:
    return call_id


class HandoffStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, buffer: WriteBuffer | None = None,
                 ttl_secs: int = 30 * 86400, redact: Callable[[str], str] = _as_is,
                 stored_id: Callable[[str], str] = _same_id) -> None:
        self.client = client
        self.keys = keys
        self.buffer = buffer if buffer is not None else WriteBuffer()  # an empty buffer is falsy
        self.ttl_secs = ttl_secs
        self.redact = redact
        self.stored_id = stored_id  # CallStore.stored_id: the call record the live call really writes to

    def clean(self, package: dict[str, Any]) -> dict[str, Any]:
        if self.redact is _as_is:
            return package
        number = package.get("caller_number")
        return redact_value(package, self.redact, (number,) if isinstance(number, str) and number else ())

    async def save(self, package: dict[str, Any]) -> bool:
        """Store and publish `package` (needs handoff_id and call_id). True = in Redis now, False = buffered."""
        handoff_id, call_id = package["handoff_id"], package["call_id"]
        if not HANDOFF_ID.match(handoff_id):
            raise ValueError(f"bad handoff id {handoff_id!r}")
        package = self.clean(package)
        created = float(package.get("created_at") or time.time())

        async def op() -> None:
            stored = self.stored_id(call_id)
            body = json.dumps({**package, "call_id": stored}, ensure_ascii=False, default=str)
            async with self.client.pipeline(transaction=True) as p:
                p.set(self.keys.handoff(handoff_id), body, ex=self.ttl_secs)
                p.zadd(self.keys.handoffs_by_time, {handoff_id: created})
                p.hset(self.keys.call(stored), mapping={"handoff_id": handoff_id})
                p.publish(self.keys.channel_handoffs, body)
                await p.execute()

        return await self.buffer.write(f"handoff {handoff_id}", op)

    async def get(self, handoff_id: str) -> dict[str, Any] | None:
        if not HANDOFF_ID.match(handoff_id):
            return None
        await self.buffer.settle()
        raw = await self.client.get(self.keys.handoff(handoff_id))
        package = json.loads(raw) if raw else None
        return self.clean(package) if isinstance(package, dict) else package

    async def recent_ids(self, limit: int = 50) -> list[str]:
        return await self.client.zrevrange(self.keys.handoffs_by_time, 0, limit - 1)
