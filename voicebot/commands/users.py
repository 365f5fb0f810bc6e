"""`voicebot users add|list|delete|token`: web accounts (supervisor, admin)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from voicebot.config import Settings
from voicebot.store.audit import AuditLog
from voicebot.store.connection import connect, resolve_redis_url
from voicebot.store.errors import StoreError
from voicebot.store.keys import Keys
from voicebot.store.logins import SessionStore
from voicebot.store.users import UserStore


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="manage web UI users (roles: supervisor, admin)")
    actions = p.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (prompts for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=("supervisor", "admin"), required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    add.add_argument("--replace", action="store_true", help="replace an existing user (e.g. new password)")
    actions.add_parser("list", help="list users")
    delete = actions.add_parser("delete", help="delete a user and end their sessions")
    delete.add_argument("name")
    token = actions.add_parser("token", help="issue an API token for scripts (printed once)")
    token.add_argument("name")
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
    try:
        if args.users_action == "add":
            user = await users.add(args.name, password, args.role, replace=args.replace)
            await audit.record("cli", "user.add", f"user:{user.name}", user.role)
            return f"user {user.name} ({user.role}) saved"
        if args.users_action == "list":
            return "\n".join(f"{u.name}\t{u.role}" for u in await users.list()) or "(no users)"
        if args.users_action == "delete":
            await users.delete(args.name)
            await SessionStore(client, keys, settings.web.session_ttl_secs).delete_for_user(args.name)
            await audit.record("cli", "user.delete", f"user:{args.name}")
            return f"user {args.name} deleted"
        token = await users.issue_token(args.name)
        await audit.record("cli", "token.issue", f"user:{args.name}")
        return token
    finally:
        await client.aclose()
        if embedded:
            embedded.stop()
