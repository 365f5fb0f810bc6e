"""Published flows reach every server process: Redis holds the live version, `ch:flows` says when it moves.

Each process's FlowRegistry (voicebot.dialog.registry) compiles the newly live version; calls already
running keep the LoadedFlow they started with, so a publication never drops or changes a live call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from voicebot.appkeys import FLOW_REGISTRY, FLOW_STORE, LIVE_HUB, SOFTPHONE
from voicebot.store.flows import FlowStore

log = logging.getLogger(__name__)


async def apply_live_flows(store: FlowStore, registry: Any) -> int:
    """Make the registry match Redis's live versions (at start-up, after the flow files were loaded)."""
    applied = 0
    for summary in await store.list():
        if summary.live is None:
            continue
        fv = await store.get(summary.flow_id, summary.lang, summary.live)
        try:
            await asyncio.to_thread(registry.publish, fv.yaml, f"redis:{fv.flow_id}.{fv.lang}:v{fv.version}")
        except ValueError as exc:  # FlowInvalid: keep the file's version rather than no flow at all
            log.error("live flow %s/%s v%d from Redis not loaded: %s", fv.flow_id, fv.lang, fv.version, exc)
            continue
        applied += 1
    return applied


def follow_published_flows(app: web.Application) -> None:
    """Listen on ch:flows; the registry is looked up per event because the engine may load after the web."""

    async def on_event(event: dict[str, Any]) -> None:
        softphone = app.get(SOFTPHONE)
        candidates = (app.get(FLOW_REGISTRY), getattr(softphone, "registry", None))
        # The softphone shares the phone lines' registry under `voicebot serve`: compile each one once.
        registries = list({id(r): r for r in candidates if r is not None}.values())
        if not registries:
            return
        fv = await app[FLOW_STORE].get(str(event["flow_id"]), str(event["lang"]), int(event["version"]))
        for registry in registries:
            # NLU training is CPU work: keep it off the event loop that carries live audio.
            loaded = await asyncio.to_thread(registry.publish, fv.yaml,
                                             f"redis:{fv.flow_id}.{fv.lang}:v{fv.version}")
            log.info("flow %s/%s: %s version %d is live here (registry version %s)", fv.flow_id, fv.lang,
                     event.get("event"), fv.version, getattr(loaded, "version", "?"))

    app[LIVE_HUB].on_flow_published(on_event)
