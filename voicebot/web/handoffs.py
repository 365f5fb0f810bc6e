"""`GET /api/handoffs/{handoff_id}`: the handoff package as JSON, for the agent desktop's screen-pop."""

from __future__ import annotations

import redis
from aiohttp import web

from voicebot.appkeys import CALL_STORE, REDIS, STORE_KEYS
from voicebot.store.errors import NotFound
from voicebot.store.handoffs import HandoffStore
from voicebot.web.api_models import HandoffPackage, HandoffPath
from voicebot.web.openapi import operation
from voicebot.web.security import agents_too, http_error

routes = web.RouteTableDef()


@routes.get("/api/handoffs/{handoff_id}")
@agents_too
@operation("Handoff package for the agent screen-pop", HandoffPackage, path=HandoffPath, errors=(404, 503))
async def get_handoff(request: web.Request, path: HandoffPath) -> HandoffPackage:
    store = HandoffStore(request.app[REDIS], request.app[STORE_KEYS], redact=request.app[CALL_STORE].redact)
    try:
        package = await store.get(path.handoff_id)
    except (redis.RedisError, OSError) as exc:
        raise http_error(request, web.HTTPServiceUnavailable, "store unavailable, try again") from exc
    if package is None:
        raise NotFound(f"no handoff {path.handoff_id}")
    return package  # JSON as UTF-8: Polish text stays readable in the agent's tools and logs
