"""Callback requests (outside the human line's hours): `callbacks` zset by due time + `callback:{id}` JSON."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis.asyncio as aioredis

from voicebot.store.buffer import WriteBuffer
from voicebot.store.keys import Keys
from voicebot.store.redact import redact_value


@dataclass
class CallbackRequest:
    number: str
    topic: str
    preferred_time: str  # ISO 8601 with offset, or "" when the line never opens
    call_id: str = ""
    language: str = "en"
    reason: str = ""
    context: dict = field(default_factory=dict)  # slots and facts already collected
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    created_at: float = field(default_factory=time.time)
    due: float = 0.0  # epoch seconds of preferred_time (0 = as soon as possible)


class CallbackStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, buffer: WriteBuffer | None = None,
                 redact: Callable[[str], str] | None = None) -> None:
        self.client = client
        self.keys = keys
        self.redact = redact  # the call store's redactor: topic, reason and collected slots lose their PII
        # `is not None`: an empty WriteBuffer is falsy (it has __len__).
        self.buffer = buffer if buffer is not None else WriteBuffer()  # an outage must not lose a promise

    async def add(self, request: CallbackRequest) -> str:
        data = asdict(request)
        if self.redact is not None:  # the number stays: it is the one the agent calls back
            data = redact_value(data, self.redact, (request.number,) if request.number else ())
        payload = json.dumps(data, ensure_ascii=False)

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as p:
                p.set(self.keys.callback(request.id), payload)
                p.zadd(self.keys.callbacks, {request.id: request.due})
                await p.execute()

        await self.buffer.write(f"callback {request.id}", op)
        return request.id

    async def get(self, callback_id: str) -> CallbackRequest | None:
        await self.buffer.settle()
        raw = await self.client.get(self.keys.callback(callback_id))
        return CallbackRequest(**json.loads(raw)) if raw else None

    async def due(self, until: float | None = None, limit: int = 100) -> list[CallbackRequest]:
        """Requests due by `until` (default: all), earliest first."""
        await self.buffer.settle()
        ids = await self.client.zrangebyscore(self.keys.callbacks, "-inf", until if until is not None else "+inf",
                                              start=0, num=limit)
        found = [await self.get(i) for i in ids]
        return [r for r in found if r is not None]
