"""How a phone leg left the bot — transfer (with the handoff id) or hang-up — for the telephony side to act on.

Neither AudioSocket nor a Twilio stream can carry data back to the switch when the bot lets go of a call,
so the line records the outcome under `line:{call_id}` (store/keys.py) and the switch asks for it: the
Asterisk dialplan with CURL() right after AudioSocket() returns. The same record carries what the switch
tells us before the leg connects (the caller's number, which AudioSocket itself cannot carry).

The record is written straight to Redis (not through the write buffer) because the dialplan reads it
within milliseconds. If Redis is down, a bounded in-process copy still answers this process's endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
import typing
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Literal

import redis.asyncio as aioredis

from voicebot.config import DialogSettings
from voicebot.store.buffer import REDIS_DOWN
from voicebot.store.keys import Keys

log = logging.getLogger(__name__)

Disposition = Literal["transfer", "hangup"]
# Languages a switch may ask for: those the configuration allows for flows.
LANGUAGES: tuple[str, ...] = typing.get_args(DialogSettings.model_fields["default_language"].annotation)


@dataclass(frozen=True)
class LegOutcome:
    disposition: Disposition
    handoff_id: str = ""
    channel: str = ""
    detail: str = ""  # why, e.g. "caller asked for a person", "protocol error: ..."
    ts: float = 0.0


@dataclass(frozen=True)
class LegAnnouncement:
    """Call details the switch sends ahead of the media (empty = not announced)."""

    caller_number: str = ""
    language: str = ""


class LegOutcomes:
    def __init__(
        self, client: aioredis.Redis | None, keys: Keys, ttl_secs: int = 3600, memory_size: int = 1000
    ) -> None:
        self.client = client
        self.keys = keys
        self.ttl_secs = ttl_secs
        self._recent: OrderedDict[str, LegOutcome] = OrderedDict()
        self._memory_size = memory_size

    async def record(self, call_id: str, outcome: LegOutcome) -> bool:
        """Remember the outcome; True if Redis has it (other processes can read it)."""
        if not outcome.ts:
            outcome = LegOutcome(**{**asdict(outcome), "ts": time.time()})
        self._recent[call_id] = outcome
        self._recent.move_to_end(call_id)
        while len(self._recent) > self._memory_size:
            self._recent.popitem(last=False)
        if self.client is None:
            return False
        key = self.keys.line(call_id)
        try:
            async with self.client.pipeline(transaction=True) as p:
                p.hset(key, mapping={k: str(v) for k, v in asdict(outcome).items()})
                p.expire(key, self.ttl_secs)
                await p.execute()
            return True
        except REDIS_DOWN as exc:
            log.warning("call %s: could not store the leg outcome in redis (%s); kept in memory", call_id, exc)
            return False

    async def announce(self, call_id: str, announced: LegAnnouncement) -> None:
        """The switch tells us about the caller before the leg connects (AudioSocket carries no caller id)."""
        if self.client is None:
            return
        key = self.keys.line(call_id)
        fields = {k: v for k, v in asdict(announced).items() if v}
        async with self.client.pipeline(transaction=True) as p:
            if fields:
                p.hset(key, mapping=fields)
            p.expire(key, self.ttl_secs)
            await p.execute()

    async def announcement(self, call_id: str, timeout: float = 0.5) -> LegAnnouncement:
        """What the switch announced, or nothing (unknown, or Redis too slow: the call must not wait)."""
        if self.client is None:
            return LegAnnouncement()
        try:
            data = await asyncio.wait_for(self.client.hgetall(self.keys.line(call_id)), timeout)
        except (*REDIS_DOWN, TimeoutError) as exc:
            log.warning("call %s: caller details unavailable (%s)", call_id, exc)
            return LegAnnouncement()
        return LegAnnouncement(caller_number=data.get("caller_number", ""), language=data.get("language", ""))

    async def record_status(self, call_id: str, status: str) -> None:
        """Call progress the switch reports (Twilio's status callback: ringing, busy, no-answer, completed...),
        for the process that placed the call, which may not be the one Twilio's request reached."""
        if self.client is None:
            return
        key = self.keys.line(call_id)
        async with self.client.pipeline(transaction=True) as p:
            p.hset(key, "call_status", status)
            p.expire(key, self.ttl_secs)
            await p.execute()

    async def status(self, call_id: str) -> str:
        """The last progress recorded for the call ("" = none yet, or Redis unavailable)."""
        if self.client is None:
            return ""
        try:
            return await self.client.hget(self.keys.line(call_id), "call_status") or ""
        except REDIS_DOWN as exc:
            log.warning("call %s: call progress unavailable (%s)", call_id, exc)
            return ""

    async def get(self, call_id: str) -> LegOutcome | None:
        if self.client is not None:
            try:
                data = await self.client.hgetall(self.keys.line(call_id))
            except REDIS_DOWN as exc:
                log.warning("leg outcome of %s: redis unavailable (%s); using this process's copy", call_id, exc)
                data = {}
            if data.get("disposition") in ("transfer", "hangup"):
                return LegOutcome(
                    disposition=data["disposition"],  # type: ignore[arg-type]
                    handoff_id=data.get("handoff_id", ""), channel=data.get("channel", ""),
                    detail=data.get("detail", ""), ts=float(data.get("ts") or 0),
                )
        return self._recent.get(call_id)
