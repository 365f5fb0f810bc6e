"""Calls and their transcripts in Redis (layout in `keys.py`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import redis.asyncio as aioredis

from voicebot.store.buffer import WriteBuffer
from voicebot.store.keys import Keys


@dataclass
class TurnRecord:
    """One line of the transcript, as stored."""

    role: str  # "caller" | "bot"
    text: str
    ts: float = field(default_factory=time.time)
    intent: str | None = None
    confidence: float | None = None
    asr_confidence: float | None = None
    language: str | None = None
    node: str | None = None
    action: str | None = None
    reason: str | None = None
    frustration: float | None = None
    signals: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # ms, see pipeline.timings
    # The unredacted text, kept only when privacy.keep_originals_for_admins is on; shown to admins only.
    text_original: str | None = None

    def to_fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in asdict(self).items():
            if v is None:
                continue
            out[k] = json.dumps(v) if isinstance(v, dict) else str(v)
        return out

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> TurnRecord:
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name not in fields:
                continue
            raw = fields[name]
            if name in ("signals", "timings"):
                kwargs[name] = json.loads(raw)
            elif name in ("ts", "confidence", "asr_confidence", "frustration"):
                kwargs[name] = float(raw)
            else:
                kwargs[name] = raw
        return cls(**kwargs)


Redactor = Callable[[str], str]


def _no_redaction(text: str) -> str:
    return text


class CallStore:
    """Write side used by live calls (buffered through outages) and read side used by the web UI."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        buffer: WriteBuffer | None = None,
        redact: Redactor = _no_redaction,
        keep_originals: bool = False,
    ) -> None:
        self.client = client
        self.keys = keys
        self.buffer = buffer if buffer is not None else WriteBuffer()  # an empty buffer is falsy
        self.redact = redact
        self.keep_originals = keep_originals

    # -- writes (buffered) -------------------------------------------------------------------
    async def start_call(self, call_id: str, **fields: Any) -> None:
        started = time.time()
        record = {"call_id": call_id, "started_at": str(started), **{k: str(v) for k, v in fields.items()}}

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as p:
                p.hset(self.keys.call(call_id), mapping=record)
                p.zadd(self.keys.calls_by_time, {call_id: started})
                p.sadd(self.keys.calls_live, call_id)
                p.publish(self.keys.channel_calls, json.dumps({"event": "started", **record}))
                await p.execute()

        await self.buffer.write(f"start_call {call_id}", op)

    async def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        redacted = self.redact(turn.text)
        if self.keep_originals and redacted != turn.text:
            turn.text_original = turn.text
        turn.text = redacted
        fields = turn.to_fields()
        # Live viewers get the redacted text only; the original stays in Redis for admins.
        public = {k: v for k, v in fields.items() if k != "text_original"}

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as p:
                p.xadd(self.keys.turns(call_id), fields)
                p.publish(self.keys.channel_calls, json.dumps({"event": "turn", "call_id": call_id, **public}))
                await p.execute()

        await self.buffer.write(f"turn {call_id}", op)

    async def update_call(self, call_id: str, **fields: Any) -> None:
        mapping = {k: (json.dumps(v) if isinstance(v, dict | list) else str(v)) for k, v in fields.items()}

        async def op() -> None:
            await self.client.hset(self.keys.call(call_id), mapping=mapping)

        await self.buffer.write(f"update_call {call_id}", op)

    async def end_call(self, call_id: str, outcome: str, **fields: Any) -> None:
        mapping = {"ended_at": str(time.time()), "outcome": outcome, **{k: str(v) for k, v in fields.items()}}

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as p:
                p.hset(self.keys.call(call_id), mapping=mapping)
                p.srem(self.keys.calls_live, call_id)
                p.publish(self.keys.channel_calls, json.dumps({"event": "ended", "call_id": call_id, **mapping}))
                await p.execute()

        await self.buffer.write(f"end_call {call_id}", op)

    # -- reads -------------------------------------------------------------------------------
    async def get_call(self, call_id: str) -> dict[str, str] | None:
        data = await self.client.hgetall(self.keys.call(call_id))
        return data or None

    async def turns(self, call_id: str) -> list[TurnRecord]:
        entries = await self.client.xrange(self.keys.turns(call_id))
        return [TurnRecord.from_fields(fields) for _, fields in entries]

    async def recent_call_ids(self, limit: int = 100, since: float = 0, until: float = float("inf")) -> list[str]:
        return await self.client.zrevrangebyscore(
            self.keys.calls_by_time, until, since, start=0, num=limit
        )
