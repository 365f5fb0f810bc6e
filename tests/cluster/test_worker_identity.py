"""Each worker says who it is in /health and /metrics (several workers share one Redis and one proxy)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from tests.support.env import TEST_REDIS_URL
from voicebot.app import create_app
from voicebot.config import load_settings
from voicebot.drain import worker_id
from voicebot.store.keys import Keys


async def test_health_and_metrics_name_the_worker_and_its_drain_state(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml", {"REDIS_URL": TEST_REDIS_URL, "VOICEBOT_HTTP_PORT": "0",
                                                      "VOICEBOT_REDIS_PREFIX": "test:identity:",
                                                      "VOICEBOT_CLUSTER_WORKER_ID": "bot-a"})
    async with TestClient(TestServer(create_app(settings, load_models=False))) as client:
        health = await (await client.get("/health")).json()
        metrics = await (await client.get("/metrics")).text()
    assert health["worker"] == "bot-a" and health["status"] == "ok" and health["active_calls"] == 0
    assert 'voicebot_worker_info{worker="bot-a"} 1.0' in metrics
    assert 'voicebot_active_calls{worker="bot-a"} 0.0' in metrics
    assert 'voicebot_draining{worker="bot-a"} 0.0' in metrics


def test_the_default_worker_id_is_host_name_and_sip_port(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml", {"VOICEBOT_SIP_PORT": "5071"})
    assert worker_id(settings) == f"{socket.gethostname()}:5071"


async def test_two_workers_on_one_redis_run_the_retention_job_once(tmp_path: Path) -> None:
    prefix = f"test:jobs{uuid.uuid4().hex[:8]}:"
    client = aioredis.from_url(TEST_REDIS_URL, decode_responses=True)
    keys = Keys(prefix)
    await client.zadd(keys.calls_by_time, {"old-call": time.time() - 400 * 86400})
    await client.hset(keys.call("old-call"), mapping={"caller_number": "48500100200"})
    apps = []
    for name in ("bot-a", "bot-b"):
        settings = load_settings(tmp_path / "none.toml", {
            "REDIS_URL": TEST_REDIS_URL, "VOICEBOT_HTTP_PORT": "0", "VOICEBOT_REDIS_PREFIX": prefix,
            "VOICEBOT_CLUSTER_WORKER_ID": name,
            "VOICEBOT_WEB_FIRST_ADMIN_PASSWORD_FILE": str(tmp_path / f"{name}-admin")})
        apps.append(create_app(settings, load_models=False, bootstrap=True))
    try:
        async with TestClient(TestServer(apps[0])), TestClient(TestServer(apps[1])):
            await asyncio.sleep(1)  # both retention loops ran their first round
            owner = await client.get(keys.job("retention"))
            runs = [e for _, e in await client.xrange(keys.audit) if e.get("action") == "retention.delete"]
        assert owner in ("bot-a", "bot-b")
        assert len(runs) == 1 and not await client.exists(keys.call("old-call"))
    finally:
        await client.delete(*[k async for k in client.scan_iter(f"{prefix}*")])
        await client.aclose()
