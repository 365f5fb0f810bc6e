"""Flow versions in Redis: every saved edit is a new version; one version per flow+language is live.

`flow:{flow}:{lang}:versions` is a list of JSON versions (version n is at index n-1, never rewritten),
`flow:{flow}:{lang}:live` holds the live version number. Publishing or rolling back moves the pointer and
announces it on `ch:flows`, so every server process switches; a call already running keeps the flow object
it started with, so nobody is cut off mid-call by a publication.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from voicebot.store.errors import Invalid, NotFound
from voicebot.store.keys import Keys

FLOW_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_VERSION = 2**31 - 1  # far more versions than anyone saves; bigger numbers cannot exist


@dataclass(frozen=True)
class FlowVersion:
    flow_id: str
    lang: str
    version: int
    yaml: str
    author: str
    created_at: float
    note: str = ""


@dataclass(frozen=True)
class FlowSummary:
    flow_id: str
    lang: str
    versions: int
    live: int | None


def check_ids(flow_id: str, lang: str) -> None:
    if not FLOW_ID.match(flow_id) or not FLOW_ID.match(lang):
        raise Invalid("flow id and language: lower-case letters, digits, _ or -")


class FlowStore:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def save(self, flow_id: str, lang: str, text: str, author: str, note: str = "") -> FlowVersion:
        """Append a new version (not live yet). The caller validates first."""
        check_ids(flow_id, lang)
        key = self.keys.flow_versions(flow_id, lang)
        # RPUSH returns the new length, which is the version number: no race between two editors.
        draft = {"yaml": text, "author": author, "created_at": time.time(), "note": note}
        n = await self.client.rpush(key, json.dumps(draft))
        return FlowVersion(flow_id, lang, int(n), text, author, draft["created_at"], note)

    async def get(self, flow_id: str, lang: str, version: int) -> FlowVersion:
        check_ids(flow_id, lang)
        if not 1 <= version <= MAX_VERSION:  # Redis list indexes are 64-bit: a huge number would be an error
            raise NotFound(f"flow {flow_id}/{lang} has no version {version}")
        raw = await self.client.lindex(self.keys.flow_versions(flow_id, lang), version - 1)
        if raw is None:
            raise NotFound(f"flow {flow_id}/{lang} has no version {version}")
        d = json.loads(raw)
        return FlowVersion(flow_id, lang, version, d["yaml"], d["author"], float(d["created_at"]), d.get("note", ""))

    async def versions(self, flow_id: str, lang: str) -> list[FlowVersion]:
        check_ids(flow_id, lang)
        raws = await self.client.lrange(self.keys.flow_versions(flow_id, lang), 0, -1)
        out = []
        for i, raw in enumerate(raws, start=1):
            d = json.loads(raw)
            out.append(FlowVersion(flow_id, lang, i, d["yaml"], d["author"], float(d["created_at"]), d.get("note", "")))
        return out

    async def latest(self, flow_id: str, lang: str) -> FlowVersion:
        n = await self.client.llen(self.keys.flow_versions(flow_id, lang))
        return await self.get(flow_id, lang, int(n))

    async def live_version(self, flow_id: str, lang: str) -> int | None:
        v = await self.client.get(self.keys.flow_live(flow_id, lang))
        return int(v) if v else None

    async def live(self, flow_id: str, lang: str) -> FlowVersion | None:
        v = await self.live_version(flow_id, lang)
        return await self.get(flow_id, lang, v) if v else None

    async def set_live(self, flow_id: str, lang: str, version: int, *, action: str, who: str) -> FlowVersion:
        """Make `version` live and tell every process. The caller has run the flow's tests."""
        fv = await self.get(flow_id, lang, version)
        event = {"event": action, "flow_id": flow_id, "lang": lang, "version": version, "who": who}
        async with self.client.pipeline(transaction=True) as p:
            p.set(self.keys.flow_live(flow_id, lang), version)
            p.publish(self.keys.channel_flows, json.dumps(event))
            await p.execute()
        return fv

    async def list(self) -> list[FlowSummary]:
        pattern = self.keys.flow_versions("*", "*")
        found = []
        async for key in self.client.scan_iter(match=pattern, count=500):
            middle = key[len(self.keys.prefix) + len("flow:"): -len(":versions")]
            flow_id, _, lang = middle.rpartition(":")
            found.append((flow_id, lang))
        out = []
        for flow_id, lang in sorted(found):
            n = await self.client.llen(self.keys.flow_versions(flow_id, lang))
            out.append(FlowSummary(flow_id, lang, int(n), await self.live_version(flow_id, lang)))
        return out

    async def seed(self, flow_id: str, lang: str, text: str) -> bool:
        """Import a flow file as version 1, live, if Redis has no versions of it yet."""
        if await self.client.llen(self.keys.flow_versions(flow_id, lang)):
            return False
        await self.save(flow_id, lang, text, author="system:files", note="imported from dialogs/")
        await self.client.set(self.keys.flow_live(flow_id, lang), 1, nx=True)
        return True


def diff(old: FlowVersion, new: FlowVersion) -> str:
    return "".join(difflib.unified_diff(
        old.yaml.splitlines(keepends=True), new.yaml.splitlines(keepends=True),
        fromfile=f"v{old.version}", tofile=f"v{new.version}",
    ))
