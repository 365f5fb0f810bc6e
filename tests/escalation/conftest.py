"""Fixtures for escalation tests that run whole calls: the real dialog engine (flows + NLU, loaded once per
module), the demo CRM as the third-party fake, and a private redis-server that a test may stop and restart."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import redis

from tests.support.ports import free_port
from voicebot.config import Settings, load_settings
from voicebot.dialog.crm_server import RunningCrm, start_demo_crm
from voicebot.dialog.loader import FlowEngine, fixed_clock, load_engine
from voicebot.escalation import make_tracker

BUSINESS_TIME = datetime.fromisoformat("2026-11-25T10:00:00+01:00")  # Wednesday: the human line is open


@dataclass
class OwnRedis:
    """A redis-server child process on its own port; never the shared one on 6379."""

    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            # Persistence as in production (append-only file), so a restart keeps what was written before.
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--daemonize", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def crm_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def engine_settings(tmp_path_factory: pytest.TempPathFactory, crm_port: int) -> Settings:
    return load_settings(tmp_path_factory.mktemp("cfg") / "none.toml",
                         {"VOICEBOT_DIALOG_CRM_URL": f"http://127.0.0.1:{crm_port}"})


@pytest.fixture(scope="module")
def engine(engine_settings: Settings) -> FlowEngine:
    """Flows and NLU are compiled once per module (as once per process in production)."""
    return load_engine(engine_settings, make_tracker, clock=fixed_clock(BUSINESS_TIME))


@pytest.fixture
async def crm(engine: FlowEngine, crm_port: int) -> AsyncIterator[RunningCrm]:
    running = await start_demo_crm(port=crm_port)
    yield running
    await running.stop()
    await engine.close()  # its HTTP client belongs to this test's event loop
