"""Fixtures for the telephony tests.

SIP line tests: the speech models (once per session) and a line running the real pipeline, dialog
engine, escalation handoff writer and Redis store.
AudioSocket / Twilio / malformed-input tests (`media_*`): one real `voicebot serve` per test session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.env import TEST_REDIS_URL, always_staffed
from tests.support.media_server import FakeTwilioApi, ServeProcess
from tests.support.ports import UDP, free_port
from voicebot.config import Settings, load_settings
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect
from voicebot.store.keys import Keys


# -- SIP line -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sip_models(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from voicebot.pipeline.models import SharedModels

    models = SharedModels.load(load_settings(tmp_path_factory.mktemp("cfg") / "none.toml", {}))
    yield models
    models.close()


@pytest.fixture
def line_settings(settings: Settings) -> Settings:
    """Defaults, with the human line on a free port and the call center open (transfers allowed)."""
    sip = settings.sip.model_copy(update={"human_line_uri": f"sip:agents@127.0.0.1:{free_port(UDP)}"})
    return always_staffed(settings.model_copy(update={"sip": sip}))


def line_services(settings: Settings, store: CallStore, models: Any) -> CallServices:
    from voicebot.dialog.loader import load_engine
    from voicebot.escalation.handoff import handoff_writer

    return CallServices(settings=settings, models=models, dialog=load_engine(settings), store=store,
                        write_handoff=handoff_writer(settings))


@pytest.fixture
async def sip_line(line_settings: Settings, call_store: CallStore, sip_models: Any) -> AsyncIterator[SipLine]:
    line = SipLine(line_settings, line_services(line_settings, call_store, sip_models))
    await line.start()
    yield line
    await line.stop()


# -- AudioSocket / Twilio / malformed input: a real `voicebot serve` ---------------------------------------
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
