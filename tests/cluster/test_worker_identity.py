"""Each worker says who it is in /health and /metrics (several workers share one Redis and one proxy)."""

from __future__ import annotations

import socket
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import TEST_REDIS_URL
from voicebot.config import load_settings
from voicebot.drain import worker_id
from voicebot.web.app import create_app


async def test_health_and_metrics_name_the_worker_and_its_drain_state(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml", {"REDIS_URL": TEST_REDIS_URL, "VOICEBOT_HTTP_PORT": "0",
                                                      "VOICEBOT_REDIS_PREFIX": "test:identity:",
                                                      "VOICEBOT_CLUSTER_WORKER_ID": "bot-a"})
    async with TestClient(TestServer(create_app(settings, load_models=False))) as client:
        health = await (await client.get("/health")).json()
        metrics = await (await client.get("/metrics")).text()
    assert health["worker"] == "bot-a" and health["status"] == "ok" and health["active_calls"] == 0
    assert 'voicebot_worker_info{worker="bot-a"} 1' in metrics
    assert 'voicebot_draining{worker="bot-a"} 0' in metrics


def test_the_default_worker_id_is_host_name_and_sip_port(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml", {"VOICEBOT_SIP_PORT": "5071"})
    assert worker_id(settings) == f"{socket.gethostname()}:5071"
