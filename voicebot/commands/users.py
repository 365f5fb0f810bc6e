"""`voicebot users add|list|delete|token|tokens|revoke`: web accounts (supervisor, admin, agent) and API tokens."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time

from voicebot.config import Settings
from voicebot.store.audit import AuditLog
from voicebot.store.connection import connect, resolve_redis_url
from voicebot.store.errors import Invalid, StoreError
from voicebot.store.keys import Keys
from voicebot.store.logins import LoginSessionStore
from voicebot.store.tokens import TokenStore
from voicebot.store.users import UserStore


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="manage web UI users (roles: supervisor, admin, agent)")
    actions = p.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (prompts for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=("supervisor", "admin", "agent"), required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    add.add_argument("--replace", action="store_true",
                     help="replace an existing user (new password/role; ends their sessions and API tokens)")
    actions.add_parser("list", help="list users")
    delete = actions.add_parser("delete", help="delete a user and end their sessions and API tokens")
    delete.add_argument("name")
    token = actions.add_parser("token", help="issue an API token for scripts (printed once)")
    token.add_argument("name")
    token.add_argument("--scope", default="", help="read (GET only), supervisor or admin; default and most: the "
                       "user's role")
    token.add_argument("--days", type=int, help="lifetime (default web.api_token_days, at most web.api_token_max_days)")
    token.add_argument("--label", default="", help="what the token is for, shown in listings")
    tokens = actions.add_parser("tokens", help="list a user's live API tokens")
    tokens.add_argument("name")
    revoke = actions.add_parser("revoke", help="revoke one of a user's API tokens by its id")
    revoke.add_argument("name")
    revoke.add_argument("token_id")
    p.set_defaults(func=_run)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the passwords differ")
    return first


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        password = _read_password(args) if args.users_action == "add" else ""
        print(asyncio.run(_act(args, settings, password)))
    except (StoreError, ValueError) as exc:
        print(f"voicebot users: {exc}", file=sys.stderr)
        return 1
    return 0


async def _act(args: argparse.Namespace, settings: Settings, password: str) -> str:
    url, embedded = await asyncio.to_thread(resolve_redis_url, settings)
    client = connect(url)
    keys = Keys(settings.redis.prefix)
    users, audit = UserStore(client, keys), AuditLog(client, keys)
    tokens = TokenStore(client, keys, users)
    try:
        if args.users_action == "add":
            user = await users.add(args.name, password, args.role, replace=args.replace)
            await audit.record("cli", "user.add", f"user:{user.name}", user.role)
            return f"user {user.name} ({user.role}) saved"
        if args.users_action == "list":
            return "\n".join(f"{u.name}\t{u.role}" for u in await users.list()) or "(no users)"
        if args.users_action == "delete":
            await users.delete(args.name)
            await LoginSessionStore(client, keys, settings.web.session_ttl_secs).delete_for_user(args.name)
            await tokens.revoke_all(args.name)
            await audit.record("cli", "user.delete", f"user:{args.name}")
            return f"user {args.name} deleted"
        if args.users_action == "tokens":
            await users.require(args.name)
            return "\n".join(f"{t.id}\t{t.scope}\texpires {time.strftime('%Y-%m-%d', time.gmtime(t.expires_at))}"
                             f"\t{t.label}" for t in await tokens.list(args.name)) or "(no tokens)"
        if args.users_action == "revoke":
            await tokens.revoke(args.name, args.token_id)
            await audit.record("cli", "token.revoke", f"user:{args.name}", f"id {args.token_id}")
            return f"token {args.token_id} of {args.name} revoked"
        days = settings.web.api_token_days if args.days is None else args.days
        if not 1 <= days <= settings.web.api_token_max_days:
            raise Invalid(f"--days: 1..{settings.web.api_token_max_days}")
        secret, token = await tokens.issue(args.name, days=days, scope=args.scope, label=args.label)
        await audit.record("cli", "token.issue", f"user:{args.name}", f"id {token.id}, scope {token.scope}")
        return secret
    finally:
        await client.aclose()
        if embedded:
            embedded.stop()
