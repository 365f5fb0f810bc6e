"""Web login sessions (`session:{token}`, expiring) and the login rate limit (`ratelimit:login:{who}`)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from voicebot.store.keys import Keys
from voicebot.store.users import User


@dataclass(frozen=True)
class LoginSession:
    token: str
    user: str
    role: str
    csrf: str  # per-session CSRF token: every form and state-changing API call must echo it
    created_at: float
    epoch: int = 0  # the user's epoch at login (store/users.py); a newer epoch ends the session


class LoginSessionStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_secs: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl_secs = ttl_secs

    async def create(self, user: User, epoch: int) -> LoginSession:
        s = LoginSession(token=secrets.token_urlsafe(32), user=user.name, role=user.role,
                    csrf=secrets.token_urlsafe(32), created_at=time.time(), epoch=epoch)
        key = self.keys.login_session(s.token)
        async with self.client.pipeline(transaction=True) as p:
            p.hset(key, mapping={"user": s.user, "role": s.role, "csrf": s.csrf, "created_at": str(s.created_at),
                                 "epoch": str(epoch)})
            p.expire(key, self.ttl_secs)
            await p.execute()
        return s

    async def get(self, token: str) -> LoginSession | None:
        if not token or len(token) > 128:
            return None
        data = await self.client.hgetall(self.keys.login_session(token))
        if not data:
            return None
        return LoginSession(token=token, user=data["user"], role=data["role"], csrf=data["csrf"],
                       created_at=float(data["created_at"]), epoch=int(data.get("epoch", 0)))

    async def delete(self, token: str) -> None:
        await self.client.delete(self.keys.login_session(token))

    async def delete_for_user(self, name: str, keep: str = "") -> int:
        """Log a user out everywhere but session `keep` (their sessions are dead anyway once the user's epoch
        moved on: this only tidies Redis)."""
        doomed = [k async for k in self.client.scan_iter(match=self.keys.login_session("*"), count=500)
                  if k != self.keys.login_session(keep) and await self.client.hget(k, "user") == name]
        return int(await self.client.delete(*doomed)) if doomed else 0


# Check every bucket and count the attempt in one step, so parallel attempts cannot all pass the check
# before any of them is counted. KEYS: bucket counters; ARGV[1]: window (s); ARGV[2..]: limit per bucket.
# Returns 0 (go ahead, counted) or the 1-based index of the full bucket (not counted).
_ATTEMPT = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""
# A right password gives the attempt back: KEYS[1] (user+address) is cleared, KEYS[2] (address) decremented.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
"""
WINDOW_SECS = 60


class LoginRateLimit:
    """Login attempts per minute: `per_user_address` for one user name from one address, and
    `per_address` from one address whatever the names.

    There is deliberately no bucket per user name alone: then anyone could lock a user out by typing
    wrong passwords for it. Guessing one user's password from many addresses is slowed by argon2 and by
    each address's own budgets; failed logins are in the audit trail.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys, per_user_address: int, per_address: int) -> None:
        self.client = client
        self.keys = keys
        self.limits = (per_user_address, per_address)
        self._attempt = client.register_script(_ATTEMPT)
        self._succeeded = client.register_script(_SUCCEEDED)

    def _buckets(self, name: str, address: str) -> list[str]:
        return [self.keys.login_attempts(f"user:{name[:100]}|ip:{address}"), self.keys.login_attempts(f"ip:{address}")]

    async def attempt(self, name: str, address: str) -> bool:
        """Count an attempt before checking the password; False = too many, do not check it."""
        full = await self._attempt(keys=self._buckets(name, address), args=[WINDOW_SECS, *self.limits])
        return int(full) == 0

    async def succeeded(self, name: str, address: str) -> None:
        await self._succeeded(keys=self._buckets(name, address))
