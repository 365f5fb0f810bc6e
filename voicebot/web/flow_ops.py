"""Flow changes shared by the editor pages and the REST API: validate, save, publish, roll back, audit."""

from __future__ import annotations

import asyncio

from aiohttp import web

from voicebot.appkeys import AUDIT, FLOW_CHECKER, FLOW_STORE
from voicebot.store.errors import Conflict, Invalid
from voicebot.store.flows import FlowVersion

MAX_FLOW_BYTES = 512 * 1024


async def save_version(app: web.Application, who: str, flow_id: str, lang: str, text: str,
                       note: str = "") -> FlowVersion:
    """Validate with the dialog engine, then store as a new (not yet live) version."""
    if len(text.encode()) > MAX_FLOW_BYTES:
        raise Invalid(f"flow text is larger than {MAX_FLOW_BYTES // 1024} KiB")
    # In a thread: a large or hostile flow must not freeze every call and page on the event loop.
    problems = await asyncio.to_thread(app[FLOW_CHECKER].validate, flow_id, lang, text)
    if problems:
        raise Invalid(f"the flow has {len(problems)} problem(s); nothing was saved",
                      [(p.line, p.message) for p in problems])
    version = await app[FLOW_STORE].save(flow_id, lang, text, author=who, note=note[:200])
    await app[AUDIT].record(who, "flow.save", f"flow:{flow_id}:{lang}", f"version {version.version} {note[:200]}")
    return version


async def publish(app: web.Application, who: str, flow_id: str, lang: str, version: int,
                  *, action: str = "published") -> FlowVersion:
    """Run the flow's test cases on this version; refuse on any failure; else make it live everywhere.

    A rollback is the same operation on an older version: it is tested again, because the flow tests or
    the engine may have changed since that version was live.
    """
    store = app[FLOW_STORE]
    fv = await store.get(flow_id, lang, version)
    previous = await store.live_version(flow_id, lang)
    if action == "rolled_back" and version == previous:
        raise Conflict(f"version {version} is already live")
    problems = await asyncio.to_thread(app[FLOW_CHECKER].validate, flow_id, lang, fv.yaml)
    if problems:
        raise Invalid(f"version {version} does not validate; not published", [(p.line, p.message) for p in problems])
    report = await app[FLOW_CHECKER].run_tests(flow_id, lang, fv.yaml)
    verb = "flow.publish" if action == "published" else "flow.rollback"
    if not report.ok:
        await app[AUDIT].record(who, f"{verb}_refused", f"flow:{flow_id}:{lang}",
                                f"version {version}: {len(report.failures)} test(s) failed")
        raise Conflict(f"version {version} not made live: {len(report.failures)} flow test(s) failed: "
                       + "; ".join(report.failures[:10]))
    await store.set_live(flow_id, lang, version, action=action, who=who)
    await app[AUDIT].record(who, verb, f"flow:{flow_id}:{lang}",
                            f"version {previous} -> {version} ({report.passed} test(s) passed)")
    return fv


async def rollback(app: web.Application, who: str, flow_id: str, lang: str, version: int) -> FlowVersion:
    return await publish(app, who, flow_id, lang, version, action="rolled_back")
