"""Web users: name, role and an argon2 password hash in Redis (`user:{name}`, `users`, `userepoch:{name}`).

argon2 is deliberately slow (tens of ms) so a stolen Redis dump does not give passwords away cheaply;
the hashing runs in a thread so a login does not stall live calls on the same event loop.

Every user has an epoch (`userepoch:{name}`), raised when the password or the role changes and when the
user is deleted. Sessions and API tokens remember the epoch they were made in and stop working when it
moves on. The counter outlives the user on purpose: a user deleted and created again (perhaps as admin)
must not revive the old user's sessions or tokens.
"""

from __future__ import annotations

import asyncio
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

Role = Literal["supervisor", "admin", "agent"]
# agent: only their screen-pops, the callback worklist and their own account (voicebot/web/security.py).
ROLES: tuple[Role, ...] = ("supervisor", "admin", "agent")
MIN_PASSWORD_LEN = 12
MAX_PASSWORD_LEN = 256  # argon2 hashes whatever it gets: a megabyte password costs the server, not the attacker
_MIN_DISTINCT_CHARS = 5
# The most common passwords that pass the length rule; anything an attacker tries first.
_COMMON_PASSWORDS = frozenset({
    "password1234", "password12345", "password123456", "passwordpassword", "qwertyuiop12", "qwertyuiop123",
    "qwerty123456", "1q2w3e4r5t6y", "1qaz2wsx3edc", "iloveyou1234", "administrator", "admin1234567",
    "letmein12345", "welcome12345", "changeme1234", "zaq12wsxcde3", "haslo1234567", "qwertyuiopasdfgh",
    "abcdefghijkl", "abc123abc123",
})
_NAME_RE = re.compile(r"^[a-zA-Z0-9_.@-]{2,64}$")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: float = 0.0
    must_change_password: bool = False  # set for the first admin and after an admin reset the password

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"


def check_password(password: str, name: str = "") -> None:
    """Raise Invalid saying what is wrong with a new password (the same rules for the web, API and CLI)."""
    if len(password) > MAX_PASSWORD_LEN:
        raise Invalid(f"password: at most {MAX_PASSWORD_LEN} characters")
    if len(password) < MIN_PASSWORD_LEN:
        raise Invalid(f"password: at least {MIN_PASSWORD_LEN} characters")
    if not password.strip():
        raise Invalid("password: must not be only spaces")
    if password.strip().isdigit():
        raise Invalid("password: must not be only digits")
    if len(set(password.lower())) < _MIN_DISTINCT_CHARS:
        raise Invalid(f"password: needs at least {_MIN_DISTINCT_CHARS} different characters")
    if password.lower() in _COMMON_PASSWORDS or password.lower() == name.lower():
        raise Invalid("password: too easy to guess (a common password, or the user name)")


class UserStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, hasher: PasswordHasher | None = None) -> None:
        self.client = client
        self.keys = keys
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash = ""  # made on first use (hashing is slow; not at every start-up)

    async def add(self, name: str, password: str, role: str, *, replace: bool = False,
                  must_change: bool = False) -> User:
        if not _NAME_RE.match(name):
            raise Invalid("user name: 2-64 letters, digits or _ . @ -")
        _check_role(role)
        check_password(password, name)
        existed = await self.client.exists(self.keys.user(name))
        if existed and not replace:
            raise Conflict(f"user {name!r} already exists")
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        user = User(name=name, role=cast(Role, role), created_at=time.time(), must_change_password=must_change)
        async with self.client.pipeline(transaction=True) as p:
            p.delete(self.keys.user(name))
            p.hset(self.keys.user(name), mapping={"role": role, "password": hashed, "created_at": str(user.created_at),
                                                  "must_change": "1" if must_change else "0"})
            p.sadd(self.keys.users, name)
            if existed:  # a replaced user: whatever the old password or role opened is closed
                p.incr(self.keys.user_epoch(name))
            await p.execute()
        return user

    async def set_password(self, name: str, password: str, *, must_change: bool = False) -> None:
        """New password; every session and API token of the user stops working (the caller makes a new
        session for the browser that asked)."""
        await self.require(name)
        check_password(password, name)
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        async with self.client.pipeline(transaction=True) as p:
            p.hset(self.keys.user(name), mapping={"password": hashed, "must_change": "1" if must_change else "0"})
            p.incr(self.keys.user_epoch(name))
            await p.execute()

    async def set_role(self, name: str, role: str) -> User:
        """New role; sessions and tokens made under the old role stop working."""
        _check_role(role)
        await self.require(name)
        async with self.client.pipeline(transaction=True) as p:
            p.hset(self.keys.user(name), "role", role)
            p.incr(self.keys.user_epoch(name))
            await p.execute()
        return await self.require(name)

    async def epoch(self, name: str) -> int:
        return int(await self.client.get(self.keys.user_epoch(name)) or 0)

    async def get(self, name: str) -> User | None:
        data = await self.client.hgetall(self.keys.user(name))
        if not data:
            return None
        return User(name=name, role=cast(Role, data["role"]), created_at=float(data.get("created_at", 0)),
                    must_change_password=data.get("must_change") == "1")

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
            p.incr(self.keys.user_epoch(name))  # kept after the user is gone (see the module doc)
            removed, _, _ = await p.execute()
        if not removed:
            raise NotFound(f"no user {name!r}")

    async def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same work either way)."""
        if len(password) > MAX_PASSWORD_LEN:  # never hash megabytes for a guess
            return None
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


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"role must be one of: {', '.join(ROLES)}")
