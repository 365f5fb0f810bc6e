"""Callback requests (outside the human line's hours): `callbacks` zset of open requests by due time,
`callbacks:closed` by closing time, `callback:{id}` JSON. Every change is published on `ch:callbacks`
(the worklist's live updates)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis.asyncio as aioredis

from voicebot.store.buffer import WriteBuffer
from voicebot.store.calls import CallStore
from voicebot.store.keys import Keys
from voicebot.store.redact import redact_value

# Offered callback times start on local half hours (voicebot/dialog/callback_capture.py); with a whole- or
# half-hour UTC offset those are epoch multiples of this too.
HALF_HOUR_S = 1800


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
    handoff_id: str = ""  # the package written when the request was taken: the agent gets it on the callback
    status: str = "open"  # open | calling | reached | transferred | no_answer | wrong_number | failed
    attempts: int = 0  # outbound calls placed so far
    last_result: str = ""  # what the last attempt gave ("busy (486)", "no answer", "reached")
    claimed_by: str = ""  # the agent working on it from the worklist
    notes: str = ""
    closed_at: float = 0.0
    channel: str = ""  # the line the request came in on (sip | twilio | ...): a Twilio caller is called over Twilio


OPEN_STATUSES = ("open", "calling")
# Outcomes an agent records on the worklist (and the dialer's own: transferred, failed).
OUTCOMES = ("reached", "no_answer", "wrong_number")


class CallbackStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, buffer: WriteBuffer | None = None,
                 redact: Callable[[str], str] | None = None) -> None:
        self.client = client
        self.keys = keys
        self.redact = redact  # the call store's redactor: topic, reason and collected slots lose their PII
        # `is not None`: an empty WriteBuffer is falsy (it has __len__).
        self.buffer = buffer if buffer is not None else WriteBuffer()  # an outage must not lose a promise

    async def add(self, request: CallbackRequest) -> str:
        await self.buffer.write(f"callback {request.id}", lambda: self.save(request))
        return request.id

    async def save(self, request: CallbackRequest) -> None:
        """Store a changed request: open ones stay in the due queue (at their due time), closed ones move out."""
        data = asdict(request)
        if self.redact is not None:  # the number stays: it is the one the agent calls back
            data = redact_value(data, self.redact, (request.number,) if request.number else ())
        async with self.client.pipeline(transaction=True) as p:
            p.set(self.keys.callback(request.id), json.dumps(data, ensure_ascii=False))
            if request.status in OPEN_STATUSES:
                p.zadd(self.keys.callbacks, {request.id: request.due})
                p.zrem(self.keys.callbacks_closed, request.id)
            else:
                p.zrem(self.keys.callbacks, request.id)
                p.zadd(self.keys.callbacks_closed, {request.id: request.closed_at or time.time()})
            p.publish(self.keys.channel_callbacks, _event(request.id, request.status))
            await p.execute()

    async def attach_handoff(self, callback_id: str, handoff_id: str) -> None:
        """The handoff package written for the call that booked it: what the agent gets on the callback."""
        request = await self.get(callback_id)
        if request is not None and not request.handoff_id:
            request.handoff_id = handoff_id
            await self.save(request)

    async def closed(self, limit: int = 100) -> list[CallbackRequest]:
        """Recently closed requests, newest first."""
        ids = await self.client.zrevrange(self.keys.callbacks_closed, 0, limit - 1)
        found = [await self.get(i) for i in ids]
        return [r for r in found if r is not None]

    async def delete_closed_before(self, cutoff: float) -> int:
        """Retention: forget requests closed before `cutoff` (epoch s); open ones stay until they are done."""
        ids = await self.client.zrangebyscore(self.keys.callbacks_closed, "-inf", f"({cutoff}")
        if ids:
            async with self.client.pipeline(transaction=True) as p:
                p.delete(*(self.keys.callback(i) for i in ids))
                p.zrem(self.keys.callbacks_closed, *ids)
                await p.execute()
        return len(ids)

    async def delete_for_number(self, number: str) -> int:
        """Forget every request (open or closed) for `number` (privacy: a caller asked to be forgotten); "+48 500"
        and "48500" are the same number. CallerStore.forget calls it with the rest of what a number leaves."""
        if not _digits(number):  # a withheld number ("anonymous") is nobody's: never all of them
            return 0
        await self.buffer.settle()
        deleted = 0
        for zset in (self.keys.callbacks, self.keys.callbacks_closed):
            for callback_id in await self.client.zrange(zset, 0, -1):
                request = await self.get(callback_id)
                if request is None or _digits(request.number) != _digits(number):
                    continue
                async with self.client.pipeline(transaction=True) as p:
                    p.delete(self.keys.callback(callback_id))
                    p.zrem(self.keys.callbacks, callback_id)
                    p.zrem(self.keys.callbacks_closed, callback_id)
                    p.publish(self.keys.channel_callbacks, _event(callback_id, "deleted"))
                    await p.execute()
                deleted += 1
        return deleted

    async def get(self, callback_id: str) -> CallbackRequest | None:
        await self.buffer.settle()
        raw = await self.client.get(self.keys.callback(callback_id))
        return CallbackRequest(**json.loads(raw)) if raw else None

    async def full_half_hours(self, start: float, end: float, capacity: int) -> frozenset[int]:
        """Starts (epoch seconds) of the half hours between `start` and `end` that already hold `capacity` open
        requests: a new caller is not offered them."""
        await self.buffer.settle()
        booked = await self.client.zrangebyscore(self.keys.callbacks, start, end, withscores=True)
        counts = Counter(int(due // HALF_HOUR_S) * HALF_HOUR_S for _id, due in booked)
        return frozenset(t for t, n in counts.items() if n >= capacity)

    async def due(self, until: float | None = None, limit: int = 100) -> list[CallbackRequest]:
        """Requests due by `until` (default: all), earliest first."""
        await self.buffer.settle()
        ids = await self.client.zrangebyscore(self.keys.callbacks, "-inf", until if until is not None else "+inf",
                                              start=0, num=limit)
        found = [await self.get(i) for i in ids]
        return [r for r in found if r is not None]


def callback_store(calls: CallStore) -> CallbackStore:
    """Requests next to the call records, through their write buffer (an outage keeps the promise) and their
    redactor (topic, notes and collected slots lose their PII)."""
    return CallbackStore(calls.client, calls.keys, calls.buffer, redact=calls.redact)


def _event(callback_id: str, status: str) -> str:
    """What `ch:callbacks` carries: which request changed and its status now (no PII)."""
    return json.dumps({"event": "callback", "id": callback_id, "status": status})


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())
