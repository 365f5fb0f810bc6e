"""API tokens for scripts (`Authorization: Bearer vbt_...`): expiring, scoped, revocable, bound to the user.

Only the SHA-256 of a token is stored (`apitoken:{sha}`, with the token's lifetime as TTL), so a Redis dump
does not hand out working tokens. A token carries
* a scope, at most its user's role: `read` (GET only), `supervisor`, `admin`;
* the user's epoch when it was issued (store/users.py): a password or role change, or deleting the user,
  kills every token of that user, also when a user of the same name is created again later;
* an id shown in listings, so the user or an admin can revoke it without knowing the secret.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from voicebot.store.errors import Invalid, NotFound
from voicebot.store.keys import Keys
from voicebot.store.users import Role, User, UserStore

SCOPES = ("read", "agent", "supervisor", "admin")  # weakest first
TOKEN_PREFIX = "vbt_"
MAX_LABEL = 80


@dataclass(frozen=True)
class ApiToken:
    id: str
    user: str
    scope: str
    created_at: float
    expires_at: float
    label: str = ""

    @property
    def read_only(self) -> bool:
        return self.scope == "read"


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _rank(scope: str) -> int:
    return SCOPES.index(scope)


class TokenStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, users: UserStore) -> None:
        self.client = client
        self.keys = keys
        self.users = users

    async def issue(self, name: str, *, days: int, scope: str = "", label: str = "") -> tuple[str, ApiToken]:
        """A new token (the secret is returned once, never stored) and its public description."""
        user = await self.users.require(name)
        scope = scope or user.role
        if scope not in SCOPES:
            raise Invalid(f"scope must be one of: {', '.join(SCOPES)}")
        if _rank(scope) > _rank(user.role):
            raise Invalid(f"scope: a {user.role} cannot issue a token with scope {scope}")
        if len(label) > MAX_LABEL or not label.isprintable():
            raise Invalid(f"label: at most {MAX_LABEL} printable characters")
        epoch = await self.users.epoch(name)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        token = ApiToken(id=secrets.token_hex(6), user=name, scope=scope, created_at=now,
                         expires_at=now + days * 86400, label=label)
        key = self.keys.api_token(_sha(secret))
        async with self.client.pipeline(transaction=True) as p:
            p.hset(key, mapping={"user": name, "scope": scope, "epoch": str(epoch), "id": token.id,
                                 "created_at": str(now), "expires_at": str(token.expires_at), "label": label})
            p.expire(key, days * 86400)
            p.hset(self.keys.api_tokens_of(name), token.id, _sha(secret))
            await p.execute()
        return secret, token

    async def authenticate(self, secret: str) -> tuple[User, ApiToken] | None:
        """The user a live token acts as (with the token's scope as role, never more) and the token."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
            return None
        token, epoch = await self._load(_sha(secret))
        if token is None or token.expires_at <= time.time():
            return None
        user = await self.users.get(token.user)
        if user is None or epoch != await self.users.epoch(token.user):
            return None
        # The weaker of the user's role and the token's scope; a read token reads what a supervisor (or, for
        # an agent, the agent) may read.
        role = min(user.role, "supervisor" if token.scope == "read" else token.scope, key=_rank)
        return User(user.name, cast(Role, role), user.created_at, user.must_change_password), token

    async def list(self, name: str) -> list[ApiToken]:
        """The user's live tokens, newest first; dead ones (expired, older epoch) are forgotten on the way."""
        epoch = await self.users.epoch(name)
        out: list[ApiToken] = []
        for token_id, sha in (await self.client.hgetall(self.keys.api_tokens_of(name))).items():
            token, token_epoch = await self._load(sha)
            if token is None or token_epoch != epoch or token.expires_at <= time.time():
                await self._forget(name, token_id, sha)
            else:
                out.append(token)
        return sorted(out, key=lambda t: t.created_at, reverse=True)

    async def revoke(self, name: str, token_id: str) -> None:
        sha = await self.client.hget(self.keys.api_tokens_of(name), token_id) if len(token_id) <= 64 else None
        if not sha:
            raise NotFound(f"no API token {token_id!r} for user {name!r}")
        await self._forget(name, token_id, sha)

    async def revoke_all(self, name: str) -> int:
        shas = await self.client.hgetall(self.keys.api_tokens_of(name))
        async with self.client.pipeline(transaction=True) as p:
            for sha in shas.values():
                p.delete(self.keys.api_token(sha))
            p.delete(self.keys.api_tokens_of(name))
            await p.execute()
        return len(shas)

    async def _load(self, sha: str) -> tuple[ApiToken | None, int]:
        try:
            d = await self.client.hgetall(self.keys.api_token(sha))
        except ResponseError:  # a token from before tokens expired (a plain string): no longer valid
            return None, -1
        if not d or d.get("scope") not in SCOPES:
            return None, -1
        return ApiToken(id=d["id"], user=d["user"], scope=d["scope"], created_at=float(d["created_at"]),
                        expires_at=float(d["expires_at"]), label=d.get("label", "")), int(d["epoch"])

    async def _forget(self, name: str, token_id: str, sha: str) -> None:
        async with self.client.pipeline(transaction=True) as p:
            p.delete(self.keys.api_token(sha))
            p.hdel(self.keys.api_tokens_of(name), token_id)
            await p.execute()
