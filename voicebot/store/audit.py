"""The audit trail (`audit` stream): who changed what, when. Append-only; read by admins."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from voicebot.store.keys import Keys

MAX_ENTRIES = 100_000  # approximate cap so the stream cannot grow without bound


@dataclass(frozen=True)
class AuditEntry:
    ts: float
    who: str
    action: str  # e.g. flow.save, flow.publish, flow.rollback, user.add
    target: str
    detail: str = ""


class AuditLog:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def record(self, who: str, action: str, target: str, detail: str = "") -> None:
        await self.client.xadd(
            self.keys.audit,
            {"ts": str(time.time()), "who": who, "action": action, "target": target, "detail": detail},
            maxlen=MAX_ENTRIES, approximate=True,
        )

    async def recent(self, count: int = 200, target: str | None = None) -> list[AuditEntry]:
        entries = await self.client.xrevrange(self.keys.audit, count=count if target is None else 10 * count)
        out = [AuditEntry(ts=float(f["ts"]), who=f["who"], action=f["action"], target=f["target"],
                          detail=f.get("detail", "")) for _, f in entries]
        return [e for e in out if target is None or e.target == target][:count]
