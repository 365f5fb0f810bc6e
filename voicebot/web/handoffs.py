"""`GET /api/handoffs/{handoff_id}`: the handoff package as JSON, for the agent desktop's screen-pop."""

from __future__ import annotations

import functools
import json

import redis
from aiohttp import web

from voicebot.appkeys import CALL_STORE, REDIS, STORE_KEYS
from voicebot.store.handoffs import HANDOFF_ID, HandoffStore
from voicebot.web.security import agents_too

routes = web.RouteTableDef()


@routes.get("/api/handoffs/{handoff_id}")
@agents_too
async def get_handoff(request: web.Request) -> web.Response:
    handoff_id = request.match_info["handoff_id"]
    if not HANDOFF_ID.match(handoff_id):
        return web.json_response({"error": "bad handoff id"}, status=400)
    store = HandoffStore(request.app[REDIS], request.app[STORE_KEYS], redact=request.app[CALL_STORE].redact)
    try:
        package = await store.get(handoff_id)
    except (redis.RedisError, OSError):
        return web.json_response({"error": "store unavailable, try again"}, status=503)
    if package is None:
        return web.json_response({"error": f"no handoff {handoff_id}"}, status=404)
    # Polish text stays readable in the agent's tools and logs.
    return web.json_response(package, dumps=functools.partial(json.dumps, ensure_ascii=False))
