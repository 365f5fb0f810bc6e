"""`voicebot privacy purge`: delete calls (and returning-caller profiles) older than privacy.retention_days now
(cron, or before an audit); `voicebot privacy forget NUMBER`: delete everything kept about one caller.

`voicebot serve` also purges every hour; this command is for deployments that want it on their schedule.
"""

from __future__ import annotations

import argparse
import asyncio

from voicebot.config import Settings
from voicebot.store.audit import AuditLog
from voicebot.store.callers import CallerStore, forget_caller, profile_number
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect, resolve_redis_url
from voicebot.store.keys import Keys
from voicebot.store.retention import delete_old_calls


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("privacy", help="privacy jobs (retention)")
    actions = p.add_subparsers(dest="privacy_action", required=True, metavar="ACTION")
    purge = actions.add_parser("purge", help="delete calls older than privacy.retention_days")
    purge.add_argument("--days", type=int, help="override privacy.retention_days for this run")
    forget = actions.add_parser("forget", help="delete a caller's profile, calls, handoff packages and callbacks "
                                "(audited)")
    forget.add_argument("number", help="the caller's phone number, e.g. +48600100200")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.privacy_action == "forget":
        if profile_number(args.number) is None:
            print(f"voicebot privacy forget: {args.number!r} is not a phone number")
            return 2
        counts = asyncio.run(_forget(settings, args.number))
        print(f"forgot {args.number}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        return 0
    days = args.days if args.days is not None else settings.privacy.retention_days
    if days < 1:
        print("voicebot privacy: --days must be at least 1")
        return 2
    print(f"deleted {asyncio.run(_purge(settings, days))} call(s) older than {days} days")
    return 0


async def _purge(settings: Settings, days: int) -> int:
    url, embedded = await asyncio.to_thread(resolve_redis_url, settings)
    client = connect(url)
    keys = Keys(settings.redis.prefix)
    try:
        n = await delete_old_calls(CallStore(client, keys), days,
                                   recordings_dir=settings.path(settings.privacy.recordings_dir))
        await AuditLog(client, keys).record("cli", "retention.delete", "calls", f"{n} older than {days} days")
        profiles = await CallerStore(client, keys).delete_old_profiles(days)
        if profiles:
            await AuditLog(client, keys).record("cli", "retention.delete", "caller profiles",
                                                f"{profiles} older than {days} days")
        return n
    finally:
        await client.aclose()
        if embedded:
            embedded.stop()


async def _forget(settings: Settings, number: str) -> dict[str, int]:
    url, embedded = await asyncio.to_thread(resolve_redis_url, settings)
    client = connect(url)
    try:
        return await forget_caller(CallerStore(client, Keys(settings.redis.prefix)),
                                   AuditLog(client, Keys(settings.redis.prefix)), number, who="cli")
    finally:
        await client.aclose()
        if embedded:
            embedded.stop()
