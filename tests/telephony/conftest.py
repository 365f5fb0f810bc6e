"""Fixtures for the SIP line tests: the speech models (once per session) and a line running the
real pipeline, dialog engine, escalation handoff writer and Redis store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from telephony.sip_line import SipLine
from voicebot.config import Settings, load_settings
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore


@pytest.fixture(scope="session")
def sip_models(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from voicebot.pipeline.models import SharedModels

    models = SharedModels.load(load_settings(tmp_path_factory.mktemp("cfg") / "none.toml", {}))
    yield models
    models.close()


@pytest.fixture
def line_settings(settings: Settings) -> Settings:
    """Defaults, with the human line on a free port and the call center open (transfers allowed)."""
    from tests.telephony.sip_helpers import free_port

    sip = settings.sip.model_copy(update={"human_line_uri": f"sip:agents@127.0.0.1:{free_port()}"})
    hours = settings.business_hours.model_copy(update={"always_open": True})
    return settings.model_copy(update={"sip": sip, "business_hours": hours})


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
