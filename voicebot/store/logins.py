"""Web login sessions (`session:{token}`, expiring) and the login rate limit (`ratelimit:login:{who}`)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from voicebot.store.keys import Keys
from voicebot.store.users import User


@dataclass(frozen=True)
class Session:
    token: str
    user: str
    role: str
    csrf: str  # per-session CSRF token: every form and state-changing API call must echo it
    created_at: float


class SessionStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_secs: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl_secs = ttl_secs

    async def create(self, user: User) -> Session:
        s = Session(token=secrets.token_urlsafe(32), user=user.name, role=user.role,
                    csrf=secrets.token_urlsafe(32), created_at=time.time())
        key = self.keys.session(s.token)
        async with self.client.pipeline(transaction=True) as p:
            p.hset(key, mapping={"user": s.user, "role": s.role, "csrf": s.csrf, "created_at": str(s.created_at)})
            p.expire(key, self.ttl_secs)
            await p.execute()
        return s

    async def get(self, token: str) -> Session | None:
        if not token or len(token) > 128:
            return None
        data = await self.client.hgetall(self.keys.session(token))
        if not data:
            return None
        return Session(token=token, user=data["user"], role=data["role"], csrf=data["csrf"],
                       created_at=float(data["created_at"]))

    async def delete(self, token: str) -> None:
        await self.client.delete(self.keys.session(token))

    async def delete_for_user(self, name: str) -> int:
        """Log a user out everywhere (after deletion or a role change)."""
        doomed = [k async for k in self.client.scan_iter(match=self.keys.session("*"), count=500)
                  if await self.client.hget(k, "user") == name]
        return int(await self.client.delete(*doomed)) if doomed else 0


class LoginRateLimit:
    """At most `per_minute` failed attempts per user name and per client address."""

    def __init__(self, client: aioredis.Redis, keys: Keys, per_minute: int) -> None:
        self.client = client
        self.keys = keys
        self.per_minute = per_minute

    async def blocked(self, *who: str) -> bool:
        values = await self.client.mget([self.keys.login_attempts(w) for w in who])
        return any(int(v or 0) >= self.per_minute for v in values)

    async def failed(self, *who: str) -> None:
        async with self.client.pipeline(transaction=False) as p:
            for w in who:
                p.incr(self.keys.login_attempts(w))
                p.expire(self.keys.login_attempts(w), 60, nx=True)
            await p.execute()
