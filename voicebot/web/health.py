"""`GET /health` (load balancers, `make run` checks) and `GET /metrics` (Prometheus text format via prometheus_client;
only from web.metrics_allowed addresses or with the web.metrics_token bearer token)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psutil
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest
from prometheus_client.core import GaugeMetricFamily

from voicebot.appkeys import CALL_STORE, MODELS, REDIS
from voicebot.store.connection import ping
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
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_AppMetrics(request.app))
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


class _AppMetrics:
    """A prometheus_client collector reading this app's state at scrape time."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        yield GaugeMetricFamily("voicebot_process_rss_bytes", "Resident memory of the server process.",
                                value=psutil.Process(os.getpid()).memory_info().rss)
        yield GaugeMetricFamily("voicebot_buffered_redis_writes", "Store writes waiting for Redis.",
                                value=len(app[CALL_STORE].buffer) if CALL_STORE in app else 0)
        models = app.get(MODELS)
        if models is not None:
            yield from models.metric_families()
