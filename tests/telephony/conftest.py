"""Fixtures for the AudioSocket / Twilio / malformed-input tests: one real `voicebot serve` per test session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import TEST_REDIS_URL
from tests.telephony.media_server import FakeTwilioApi, ServeProcess
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect
from voicebot.store.keys import Keys


@pytest.fixture(scope="session")
def media_twilio_api() -> Iterator[FakeTwilioApi]:
    api = FakeTwilioApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def media_serve(models_dir: Path, output_dir: Path, media_twilio_api: FakeTwilioApi) -> Iterator[ServeProcess]:
    """`voicebot serve` with speech models, AudioSocket, SIP, and Twilio pointed at the stand-in API."""
    prefix = f"test:media:{uuid.uuid4().hex[:8]}:"
    server = ServeProcess(TEST_REDIS_URL, prefix, f"http://127.0.0.1:{media_twilio_api.port}",
                          output_dir / "media-serve.log")
    server.start()
    yield server
    server.stop()
    client = redis.Redis.from_url(TEST_REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
async def media_store(media_serve: ServeProcess) -> AsyncIterator[CallStore]:
    """The serve process's call records (its own Redis prefix)."""
    client = connect(TEST_REDIS_URL)
    yield CallStore(client, Keys(media_serve.prefix))
    await client.aclose()


@pytest.fixture(scope="session")
def media_voice(models_dir: Path):
    """The caller's voice: piper (the same models the bot uses are installed; the caller is a separate instance)."""
    from piper import PiperVoice

    return PiperVoice.load(str(models_dir / "piper" / "en_US-joe-medium.onnx"))
