"""Returning callers: one profile per phone number (`caller:{number}` hash, `callers:by_time` index).

A profile holds what the next call from that number should know: the caller's name (from the CRM), the
language of their last call, their last few contacts and the case they left open (a return, a complaint;
what counts as a case is flow data, see dialogs/README.md). The dialog reads it at the start of a call and
updates it when the call ends. Withheld and anonymous numbers ("anonymous", "", "client:alice") get no
profile: they cannot be told apart.

Profiles are PII: their texts go through the redactor, they are deleted with the calls at retention
(`delete_old_profiles`) and on request (`forget`: profile, calls, handoff packages, callbacks and the survey's
"asked" marker of the number).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from voicebot.store.audit import AuditLog
from voicebot.store.buffer import WriteBuffer
from voicebot.store.callbacks import CallbackStore
from voicebot.store.calls import CallStore
from voicebot.store.keys import Keys
from voicebot.store.recordings import RecordingIndex
from voicebot.store.redact import redact_value

MAX_CONTACTS = 5  # last contacts kept per caller
_SEPARATORS = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"^\+?\d{5,16}$")
_BATCH = 500  # ids read per round when forgetting a number


def profile_number(number: str) -> str | None:
    """The number a profile is kept under (its digits), or None for a withheld/anonymous/non-phone caller id.

    "+48 600-100-200", "+48600100200" and "48600100200" (a SIP From without the +) are one caller; "tel:" /
    "sip:" prefixes and a SIP host are dropped."""
    text = _SEPARATORS.sub("", (number or "").strip().lower())
    for prefix in ("tel:", "sip:"):
        text = text.removeprefix(prefix)
    text = text.split("@", 1)[0]
    return text.removeprefix("+") if _PHONE.match(text) else None


def _same_caller(stored: object, number: str) -> bool:
    return isinstance(stored, str) and profile_number(stored) == number


def _as_is(text: str) -> str:
    return text


class CallerStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, buffer: WriteBuffer | None = None,
                 redact: Callable[[str], str] = _as_is) -> None:
        self.client = client
        self.keys = keys
        self.buffer = buffer if buffer is not None else WriteBuffer()  # an empty buffer is falsy
        self.redact = redact

    async def get(self, number: str) -> dict[str, Any] | None:
        """The profile of `number` (name, language, calls, last_call_at, contacts, case), or None."""
        key = profile_number(number)
        if key is None:
            return None
        raw = await self.client.hgetall(self.keys.caller(key))
        if not raw:
            return None
        return {
            "number": key, "name": raw.get("name", ""), "language": raw.get("language", ""),
            "calls": int(raw.get("calls", "0") or 0), "last_call_at": float(raw.get("last_call_at", "0") or 0),
            "contacts": json.loads(raw.get("contacts") or "[]"),
            "case": json.loads(raw["case"]) if raw.get("case") else None,
        }

    async def record_call(self, number: str, *, call_id: str, outcome: str, language: str, topic: str = "",
                          name: str = "", case: dict[str, Any] | None = None, close_case: bool = False,
                          at: float | None = None) -> bool:
        """Add a finished call to the number's profile. `case` opens (replaces) the open case, `close_case`
        drops it; `name` is kept once known. False when the number gets no profile (withheld)."""
        key = profile_number(number)
        if key is None:
            return False
        now = time.time() if at is None else at
        contact = self._clean({"call_id": call_id, "at": now, "outcome": outcome, "topic": topic})
        opened = self._clean({**case, "opened_at": now, "call_id": call_id}) if case else None
        name = self.redact(name.strip()) if name else ""

        async def op() -> None:
            pkey = self.keys.caller(key)
            contacts = [contact, *json.loads(await self.client.hget(pkey, "contacts") or "[]")][:MAX_CONTACTS]
            fields = {"number": key, "language": language, "last_call_at": str(now),
                      "contacts": json.dumps(contacts, ensure_ascii=False)}
            if name:
                fields["name"] = name
            if opened:
                fields["case"] = json.dumps(opened, ensure_ascii=False)
            async with self.client.pipeline(transaction=True) as p:
                p.hset(pkey, mapping=fields)
                p.hincrby(pkey, "calls", 1)  # two calls from one number ending together both count
                if close_case and not opened:
                    p.hdel(pkey, "case")
                p.zadd(self.keys.callers_by_time, {key: now})
                await p.execute()

        await self.buffer.write(f"caller profile {call_id}", op)
        return True

    def _clean(self, data: dict[str, Any]) -> dict[str, Any]:
        return redact_value(data, self.redact, (), frozenset({"call_id", "at", "opened_at", "outcome"}))

    async def delete_old_profiles(self, retention_days: int, now: float | None = None) -> int:
        """Delete profiles whose last call is older than the retention period; returns how many."""
        cutoff = (time.time() if now is None else now) - retention_days * 86400
        deleted = 0
        while numbers := await self.client.zrangebyscore(self.keys.callers_by_time, "-inf", f"({cutoff}",
                                                         start=0, num=_BATCH):
            async with self.client.pipeline(transaction=True) as p:
                p.delete(*[self.keys.caller(n) for n in numbers])
                p.zrem(self.keys.callers_by_time, *numbers)
                await p.execute()
            deleted += len(numbers)
        return deleted

    async def forget(self, number: str) -> dict[str, int]:
        """Delete everything kept about `number`: profile, call records, transcripts and recordings, handoff
        packages, callback requests, the survey's "asked" marker. Returns how many of each. Raises ValueError for a
        number no profile could have."""
        key = profile_number(number)
        if key is None:
            raise ValueError(f"not a phone number: {number!r}")
        await self.buffer.settle()
        profile = await self.client.delete(self.keys.caller(key))
        await self.client.zrem(self.keys.callers_by_time, key)
        calls, live = await self._forget_calls(key)
        recordings = await RecordingIndex(CallStore(self.client, self.keys)).delete(calls)
        handoffs = await self._forget_json(self.keys.handoffs_by_time, self.keys.handoff, "caller_number", key)
        # open and closed requests alike; the callback worklist hears of each deletion
        callbacks = await CallbackStore(self.client, self.keys, self.buffer).delete_for_number(key)
        survey = await self.client.delete(self.keys.survey_asked(key))  # "asked before": the number is kept there
        counts = {"profile": profile, "calls": len(calls), "recordings": recordings, "handoffs": handoffs,
                  "callbacks": callbacks, "survey marker": survey}
        return counts | ({"calls in progress, not deleted": live} if live else {})

    async def _forget_calls(self, number: str) -> tuple[list[str], int]:
        """(ids of the calls deleted, how many of the number's calls are still in progress). A call in progress
        is kept: it would write its record again, outside the index that retention follows; forget the number
        again once it ended."""
        ids = await self.client.zrange(self.keys.calls_by_time, 0, -1)
        live = await self.client.smembers(self.keys.calls_live)
        gone: list[str] = []
        for i in range(0, len(ids), _BATCH):
            batch = ids[i:i + _BATCH]
            async with self.client.pipeline(transaction=False) as p:
                for cid in batch:
                    p.hget(self.keys.call(cid), "caller_number")
                callers = await p.execute()
            gone += [cid for cid, caller in zip(batch, callers, strict=True) if _same_caller(caller, number)]
        kept = [cid for cid in gone if cid in live]
        gone = [cid for cid in gone if cid not in live]
        for i in range(0, len(gone), _BATCH):
            batch = gone[i:i + _BATCH]
            async with self.client.pipeline(transaction=True) as p:
                for cid in batch:
                    p.delete(self.keys.call(cid), self.keys.turns(cid))
                p.zrem(self.keys.calls_by_time, *batch)
                await p.execute()
        return gone, len(kept)

    async def _forget_json(self, index: str, key_of: Callable[[str], str], field: str, number: str) -> int:
        """Entries of a zset index whose JSON document names `number` in `field`: deleted with their index entry."""
        ids = await self.client.zrange(index, 0, -1)
        gone: list[str] = []
        for i in range(0, len(ids), _BATCH):
            batch = ids[i:i + _BATCH]
            docs = await self.client.mget([key_of(x) for x in batch])
            for item_id, raw in zip(batch, docs, strict=True):
                try:
                    doc = json.loads(raw) if raw else None
                except ValueError:
                    continue
                if isinstance(doc, dict) and _same_caller(doc.get(field), number):
                    gone.append(item_id)
        for i in range(0, len(gone), _BATCH):
            batch = gone[i:i + _BATCH]
            async with self.client.pipeline(transaction=True) as p:
                p.delete(*[key_of(x) for x in batch])
                p.zrem(index, *batch)
                await p.execute()
        return len(gone)


async def forget_caller(callers: CallerStore, audit: AuditLog, number: str, who: str) -> dict[str, int]:
    """`forget`, then the audit entry (who, the number, what was deleted): the CLI and the admin page."""
    counts = await callers.forget(number)
    await audit.record(who, "privacy.forget", profile_number(number) or number,
                       ", ".join(f"{n} {what}" for what, n in counts.items()))
    return counts
