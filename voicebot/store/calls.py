"""Calls and their transcripts in Redis (layout in `keys.py`).

A live call only ever writes to a record it created: `start_call` creates the record atomically and only
if no record (or transcript) with that id exists. A line whose ids come from outside (a Twilio callSid, an
Asterisk UUID) could otherwise name an existing call and overwrite or append to it; such a call is stored
under a fresh id (`<id>-<suffix>`, logged) and every later write of that call follows it there.

Everything written goes through the redactor (when privacy.redact_pii is on): turn texts and the call
record's fields alike, except the caller's own number.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import redis.asyncio as aioredis

from voicebot.store.buffer import WriteBuffer
from voicebot.store.keys import Keys
from voicebot.store.redact import redact_value

log = logging.getLogger(__name__)

# Create the call record unless one exists: KEYS call hash, turns stream, calls_by_time, calls_live;
# ARGV record JSON, started, call id, channel, event JSON. Returns 1 if created, 0 if the id is taken.
_CREATE_CALL = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for k, v in pairs(cjson.decode(ARGV[1])) do redis.call('HSET', KEYS[1], k, v) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""


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
# Call record fields that are identifiers, times or codes, never free text.
_KEEP_CALL_FIELDS = frozenset({"call_id", "caller_number", "handoff_id", "callback_id", "started_at", "ended_at",
                               "language", "flow_id", "channel", "outcome", "last_node", "transfer_reason",
                               "frustration", "csat"})


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
        self._create_call = client.register_script(_CREATE_CALL)
        self._stored_as: dict[str, str] = {}  # live call id -> id its record was created under, if another

    def stored_id(self, call_id: str) -> str:
        """The id a live call's record really has (see `start_call`)."""
        return self._stored_as.get(call_id, call_id)

    def clean_record(self, fields: dict[str, str]) -> dict[str, str]:
        """Call record fields through the redactor (identifiers and the caller's own number kept)."""
        if self.redact is _no_redaction:
            return fields
        keep = (fields["caller_number"],) if fields.get("caller_number") else ()
        return {k: str(v) for k, v in redact_value(fields, self.redact, keep, _KEEP_CALL_FIELDS).items()}

    # -- writes (buffered) -------------------------------------------------------------------
    async def start_call(self, call_id: str, **fields: Any) -> None:
        started = time.time()
        given = self.clean_record({k: str(v) for k, v in fields.items()})

        async def op() -> None:
            stored = call_id
            while True:
                record = {"call_id": stored, "started_at": str(started), **given}
                created = await self._create_call(
                    keys=[self.keys.call(stored), self.keys.turns(stored), self.keys.calls_by_time,
                          self.keys.calls_live],
                    args=[json.dumps(record), started, stored, self.keys.channel_calls,
                          json.dumps({"event": "started", **record})],
                    client=self.client)  # the client, not the one registered with: tests swap it
                if created:
                    break
                stored = f"{call_id}-{uuid.uuid4().hex[:8]}"
                log.warning("call id %r already has a record: this call is stored as %r", call_id, stored)
            if stored != call_id:
                self._stored_as[call_id] = stored

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
            stored = self.stored_id(call_id)
            async with self.client.pipeline(transaction=True) as p:
                p.xadd(self.keys.turns(stored), fields)
                p.publish(self.keys.channel_calls, json.dumps({"event": "turn", "call_id": stored, **public}))
                await p.execute()

        await self.buffer.write(f"turn {call_id}", op)

    async def update_call(self, call_id: str, **fields: Any) -> None:
        mapping = self.clean_record(
            {k: (json.dumps(v) if isinstance(v, dict | list) else str(v)) for k, v in fields.items()})

        async def op() -> None:
            await self.client.hset(self.keys.call(self.stored_id(call_id)), mapping=mapping)

        await self.buffer.write(f"update_call {call_id}", op)

    async def end_call(self, call_id: str, outcome: str, **fields: Any) -> None:
        mapping = self.clean_record({"ended_at": str(time.time()), "outcome": outcome,
                                     **{k: str(v) for k, v in fields.items()}})

        async def op() -> None:
            stored = self._stored_as.pop(call_id, call_id)
            async with self.client.pipeline(transaction=True) as p:
                p.hset(self.keys.call(stored), mapping=mapping)
                p.srem(self.keys.calls_live, stored)
                p.publish(self.keys.channel_calls, json.dumps({"event": "ended", "call_id": stored, **mapping}))
                await p.execute()

        await self.buffer.write(f"end_call {call_id}", op)

    # -- reads -------------------------------------------------------------------------------
    async def get_call(self, call_id: str) -> dict[str, str] | None:
        await self.buffer.settle()
        data = await self.client.hgetall(self.keys.call(call_id))
        return data or None

    async def turns(self, call_id: str) -> list[TurnRecord]:
        await self.buffer.settle()
        entries = await self.client.xrange(self.keys.turns(call_id))
        return [TurnRecord.from_fields(fields) for _, fields in entries]

    async def recent_call_ids(self, limit: int = 100, since: float = 0, until: float = float("inf")) -> list[str]:
        return await self.client.zrevrangebyscore(
            self.keys.calls_by_time, until, since, start=0, num=limit
        )
