"""Fixtures for the dialog tests: the real demo CRM on a free port, engines on the shipped flows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest

from voicebot.config import PROJECT_ROOT, Settings
from voicebot.dialog.crm_server import RunningCrm, start_demo_crm
from voicebot.dialog.loader import FlowEngine, fixed_clock, load_engine
from voicebot.dialog.registry import FlowRegistry
from voicebot.dialog.types import BotReply, CallerDtmf, CallerSaid, CallInfo, Prosody

OPEN = datetime(2026, 11, 25, 10, 0)  # Wednesday 10:00 Warsaw: the human line is staffed
CLOSED = datetime(2026, 11, 25, 22, 30)


@pytest.fixture
async def crm() -> AsyncIterator[RunningCrm]:
    running = await start_demo_crm()
    yield running
    await running.stop()


@pytest.fixture(scope="session")
def shipped_flows() -> FlowRegistry:
    """The flows under dialogs/, compiled once for the whole test session."""
    registry = FlowRegistry(PROJECT_ROOT / "dialogs")
    assert registry.reload() == []
    return registry


@pytest.fixture
def engine_factory(settings: Settings, shipped_flows: FlowRegistry) -> Callable[..., FlowEngine]:
    def make(crm_url: str = "http://127.0.0.1:9", now: datetime = OPEN, flows_dir: str | None = None,
             **kwargs) -> FlowEngine:
        dialog = {"crm_url": crm_url} | ({"flows_dir": flows_dir} if flows_dir else {})
        s = settings.model_copy(update={"dialog": settings.dialog.model_copy(update=dialog)})
        if flows_dir is None and "actions" not in kwargs:
            kwargs.setdefault("registry", shipped_flows)
        return load_engine(s, clock=fixed_clock(now), **kwargs)

    return make


class Caller:
    """Drives one call like a phone line would: greeting, then caller turns."""

    def __init__(self, engine: FlowEngine, language: str, number: str = "+48600100200") -> None:
        self.engine = engine
        self.session = engine.new_session(CallInfo(call_id="t1", caller_number=number, language=language))

    async def start(self) -> BotReply:
        return await self.session.start()

    async def say(self, text: str, asr_confidence: float | None = None, prosody: Prosody | None = None) -> BotReply:
        """`asr_confidence`: whisper's score of a spoken turn (None: typed text); `prosody`: its measured voice."""
        return await self.session.handle(CallerSaid(text, asr_confidence=asr_confidence, prosody=prosody))

    async def press(self, digits: str) -> BotReply:
        return await self.session.handle(CallerDtmf(digits))


@pytest.fixture
async def call(engine_factory, crm) -> AsyncIterator[Callable[..., Caller]]:
    made: list[Caller] = []

    def start_call(language: str = "en", now: datetime = OPEN, crm_url: str | None = None, **kwargs) -> Caller:
        caller = Caller(engine_factory(crm_url or crm.url, now, **kwargs), language)
        made.append(caller)
        return caller

    yield start_call
    for c in made:
        await c.engine.close()
