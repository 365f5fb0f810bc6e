"""`GET /health` (load balancers, `make run` checks) and `GET /metrics` (Prometheus text format; only from
web.metrics_allowed addresses or with the web.metrics_token bearer token)."""

from __future__ import annotations

import os

import psutil
from aiohttp import web

from voicebot.drain import Drain
from voicebot.store.connection import ping
from voicebot.web.keys import CALL_STORE, DRAIN, MODELS, REDIS
from voicebot.web.security import check_metrics_access, public

routes = web.RouteTableDef()


@routes.get("/health")
@public
async def health(request: web.Request) -> web.Response:
    app = request.app
    models = app.get(MODELS)
    redis_ok = await ping(app[REDIS]) if REDIS in app else False
    drain = app[DRAIN]
    body = {
        # "draining": the worker finishes its calls and takes no new ones (SIGTERM; voicebot/drain.py).
        "status": "draining" if drain.draining else "ok",
        "worker": drain.worker,
        "active_calls": drain.active_calls,
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
        *_worker_lines(app[DRAIN]),
    ]
    models = app.get(MODELS)
    if models is not None:
        lines += models.prometheus_lines()
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def _worker_lines(drain: Drain) -> list[str]:
    """Which worker this is (a label: several workers behind one proxy), its calls and whether it drains."""
    label = drain.worker.replace("\\", "\\\\").replace('"', '\\"')
    return [
        "# HELP voicebot_worker_info This worker's id (cluster.worker_id).",
        "# TYPE voicebot_worker_info gauge",
        f'voicebot_worker_info{{worker="{label}"}} 1',
        "# HELP voicebot_active_calls Calls running on this worker (every line).",
        "# TYPE voicebot_active_calls gauge",
        f'voicebot_active_calls{{worker="{label}"}} {drain.active_calls}',
        "# HELP voicebot_draining 1 while the worker drains (SIGTERM): no new calls.",
        "# TYPE voicebot_draining gauge",
        f'voicebot_draining{{worker="{label}"}} {int(drain.draining)}',
    ]
