"""Web users: name, role and an argon2 password hash in Redis (`user:{name}`, `users`, `apitoken:{sha}`).

argon2 is deliberately slow (tens of ms) so a stolen Redis dump does not give passwords away cheaply;
the hashing runs in a thread so a login does not stall live calls on the same event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal, cast

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from voicebot.store.errors import Conflict, Invalid, NotFound
from voicebot.store.keys import Keys

Role = Literal["supervisor", "admin"]
ROLES: tuple[Role, ...] = ("supervisor", "admin")
MIN_PASSWORD_LEN = 10
_NAME_RE = re.compile(r"^[a-zA-Z0-9_.@-]{2,64}$")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: float = 0.0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, hasher: PasswordHasher | None = None) -> None:
        self.client = client
        self.keys = keys
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash = ""  # made on first use (hashing is slow; not at every start-up)

    async def add(self, name: str, password: str, role: str, *, replace: bool = False) -> User:
        if not _NAME_RE.match(name):
            raise Invalid("user name: 2-64 letters, digits or _ . @ -")
        if role not in ROLES:
            raise Invalid(f"role must be one of: {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_LEN:
            raise Invalid(f"password must have at least {MIN_PASSWORD_LEN} characters")
        if not replace and await self.client.exists(self.keys.user(name)):
            raise Conflict(f"user {name!r} already exists")
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        user = User(name=name, role=cast(Role, role), created_at=time.time())
        async with self.client.pipeline(transaction=True) as p:
            p.hset(self.keys.user(name), mapping={"role": role, "password": hashed, "created_at": str(user.created_at)})
            p.sadd(self.keys.users, name)
            await p.execute()
        return user

    async def get(self, name: str) -> User | None:
        data = await self.client.hgetall(self.keys.user(name))
        if not data:
            return None
        return User(name=name, role=cast(Role, data["role"]), created_at=float(data.get("created_at", 0)))

    async def require(self, name: str) -> User:
        user = await self.get(name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        return user

    async def list(self) -> list[User]:
        names = sorted(await self.client.smembers(self.keys.users))
        users = [await self.get(n) for n in names]
        return [u for u in users if u is not None]

    async def count(self) -> int:
        return int(await self.client.scard(self.keys.users))

    async def delete(self, name: str) -> None:
        async with self.client.pipeline(transaction=True) as p:
            p.delete(self.keys.user(name))
            p.srem(self.keys.users, name)
            removed, _ = await p.execute()
        if not removed:
            raise NotFound(f"no user {name!r}")

    async def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same work either way)."""
        stored = await self.client.hget(self.keys.user(name), "password") if _NAME_RE.match(name) else None
        if not stored and not self._dummy_hash:
            self._dummy_hash = await asyncio.to_thread(self.hasher.hash, secrets.token_hex(8))
        try:
            # An unknown user is checked against a dummy hash, so the answer time does not reveal
            # which user names exist.
            await asyncio.to_thread(self.hasher.verify, stored or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return await self.get(name) if stored else None

    # -- API tokens for scripts (sent as `Authorization: Bearer <token>`) --------------------
    async def issue_token(self, name: str) -> str:
        await self.require(name)
        token = "vbt_" + secrets.token_urlsafe(32)
        await self.client.set(self.keys.api_token(_token_hash(token)), name)
        return token

    async def user_for_token(self, token: str) -> User | None:
        name = await self.client.get(self.keys.api_token(_token_hash(token)))
        return await self.get(name) if name else None
