"""`GET /health` (load balancers, `make run` checks) and `GET /metrics` (Prometheus text format; only from
web.metrics_allowed addresses or with the web.metrics_token bearer token)."""

from __future__ import annotations

import os

import psutil
from aiohttp import web

from voicebot.store.connection import ping
from voicebot.web.keys import CALL_STORE, MODELS, REDIS
from voicebot.web.security import check_metrics_access, public

routes = web.RouteTableDef()


@routes.get("/health")
@public
async def health(request: web.Request) -> web.Response:
    app = request.app
    models = app.get(MODELS)
    redis_ok = await ping(app[REDIS]) if REDIS in app else False
    body = {
        "status": "ok",
        "redis": "ok" if redis_ok else "down (buffering writes)",
        "models": models.describe() if models is not None else "not loaded",
        "buffered_writes": len(app[CALL_STORE].buffer) if CALL_STORE in app else 0,
    }
    return web.json_response(body)


@routes.get("/metrics")
@public
async def metrics(request: web.Request) -> web.Response:
    check_metrics_access(request)  # memory and counters are not for everyone: web.metrics_allowed/_token
    app = request.app
    proc = psutil.Process(os.getpid())
    lines = [
        "# HELP voicebot_process_rss_bytes Resident memory of the server process.",
        "# TYPE voicebot_process_rss_bytes gauge",
        f"voicebot_process_rss_bytes {proc.memory_info().rss}",
        "# HELP voicebot_buffered_redis_writes Store writes waiting for Redis.",
        "# TYPE voicebot_buffered_redis_writes gauge",
        f"voicebot_buffered_redis_writes {len(app[CALL_STORE].buffer) if CALL_STORE in app else 0}",
    ]
    models = app.get(MODELS)
    if models is not None:
        lines += models.prometheus_lines()
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
