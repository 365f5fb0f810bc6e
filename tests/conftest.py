"""Shared fixtures: real Redis (own key prefix per test, cleaned up), settings, the installed models."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.support.env import TEST_REDIS_URL
from voicebot.config import PROJECT_ROOT, Settings, load_settings
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect
from voicebot.store.keys import Keys

OUTPUT_DIR = PROJECT_ROOT / "test-output"


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def settings(redis_prefix: str, tmp_path: Path) -> Settings:
    """Embedded defaults (no config.toml) with this test's own Redis prefix and free ports."""
    return load_settings(tmp_path / "none.toml", {
        "REDIS_URL": TEST_REDIS_URL,
        "VOICEBOT_REDIS_PREFIX": redis_prefix,
        "VOICEBOT_HTTP_PORT": "0",
        "VOICEBOT_SIP_PORT": "0",
    })


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = connect(TEST_REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"tests need a real Redis at {TEST_REDIS_URL}: {exc} (make test starts one)")
    yield client
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def call_store(redis_client: aioredis.Redis, redis_prefix: str) -> CallStore:
    return CallStore(redis_client, Keys(redis_prefix))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = PROJECT_ROOT / "models"
    if not (path / "whisper-base" / "model.bin").exists():
        pytest.fail("models are not installed: run `make models` (make test does it)")
    return path


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def shared_models(models_dir: Path) -> Iterator[object]:
    """whisper + piper + VAD loaded once for the whole test session, as once per process in production.

    One fixture for every test directory (pipeline, escalation, web), so a full run loads the models once.
    """
    from voicebot.pipeline.models import SharedModels

    models = SharedModels.load(load_settings(models_dir / "none.toml", {}))
    yield models
    models.close()
