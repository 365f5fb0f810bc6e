"""Flow test conversations (dialogs/tests/*.yaml): scripted caller turns with the expected intent, node
and action of every bot turn. `voicebot flows test` runs them; the web UI calls `run_flow_tests` before
publishing a flow version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicebot.config import Settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.flow_session import FlowSession, Runtime
from voicebot.dialog.loader import _NoEscalation, fixed_clock
from voicebot.dialog.registry import LoadedFlow, build_loaded, compile_flow
from voicebot.dialog.schema import Flow
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo

DEFAULT_NOW = "2026-11-25T10:00"  # a Wednesday morning: the human line is open


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    say: str | None = None
    dtmf: str | None = None
    intent: str | None = None
    node: str | None = None
    action: str | None = None
    reason: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    reply_contains: str | None = None
    reply_lacks: str | None = None  # words the reply must not say (e.g. an introduction heard already)

    @model_validator(mode="after")
    def _one_input(self) -> Expect:
        if (self.say is None) == (self.dtmf is None):
            raise ValueError("each turn needs exactly one of 'say' or 'dtmf'")
        return self


class TestCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    now: str | None = None
    # A returning caller's profile the call starts with ({caller.name}, {caller.case.kind}, ...; see the flow's
    # `profile` section), and a text the greeting must contain.
    caller: dict[str, Any] | None = None
    greeting_contains: str | None = None
    turns: list[Expect] = Field(min_length=1)


class TestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow: str
    language: str
    now: str = DEFAULT_NOW
    cases: list[TestCase]


@dataclass
class CaseResult:
    flow: str
    language: str
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)  # "turn 2: node 'menu', expected 'ask_order'"


def load_test_files(directory: Path, flow_id: str | None = None) -> list[TestFile]:
    files = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            tf = TestFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except Exception as exc:
            raise ValueError(f"{path}: not a valid flow test file: {exc}") from exc
        if flow_id is None or tf.flow == flow_id:
            files.append(tf)
    return files


async def run_flow_tests(flow: str | Flow | LoadedFlow, cases: str | dict | TestFile | list[TestCase], *,
                         settings: Settings | None = None, crm_url: str | None = None) -> list[CaseResult]:
    """Run conversations against one flow (YAML text, model or compiled); `cases` is a test file (YAML
    text, dict or model) or a list of cases. The demo CRM serves webhooks unless `crm_url` is given.
    Raises FlowInvalid for a flow that does not validate, ValueError for malformed cases."""
    settings = settings or Settings()
    if isinstance(cases, str):
        cases = yaml.safe_load(cases)
    if isinstance(cases, dict):
        try:
            cases = TestFile.model_validate(cases)
        except ValueError as exc:
            raise ValueError(f"not a valid flow test file: {exc}") from exc
    if isinstance(flow, str):
        loaded = compile_flow(flow, "<draft>", settings.business_hours,
                              flows_dir=settings.path(settings.dialog.flows_dir))
    elif isinstance(flow, Flow):
        loaded = build_loaded(flow, "", "<model>", settings.business_hours)
    else:
        loaded = flow
    default_now = cases.now if isinstance(cases, TestFile) else DEFAULT_NOW
    case_list = cases.cases if isinstance(cases, TestFile) else cases
    crm = None if crm_url else await start_demo_crm()
    try:
        async with aiohttp.ClientSession() as http:
            variables = {"crm_url": (crm_url or crm.url).rstrip("/"),  # type: ignore[union-attr]
                         "record_audio": settings.privacy.record_audio}
            results = []
            for case in case_list:
                if crm:
                    crm.reset()  # each case starts on the sample data, whatever the one before booked or cancelled
                results.append(await _run_case(loaded, case, http, variables, default_now))
            return results
    finally:
        if crm:
            await crm.stop()


async def _run_case(loaded: LoadedFlow, case: TestCase, http: aiohttp.ClientSession, variables: dict[str, Any],
                    default_now: str) -> CaseResult:
    clock = fixed_clock(datetime.fromisoformat(case.now or default_now))
    runtime = Runtime(http=lambda: http, actions={}, clock=clock, callbacks=None, variables=variables)
    info = CallInfo(call_id=f"test-{case.name}", caller_number="+48600100200", language=loaded.flow.language,
                    flow_id=loaded.flow.id)
    session = FlowSession(loaded, info, runtime, _NoEscalation())
    session.profile = case.caller
    greeting = await session.start()
    failures: list[str] = []
    if case.greeting_contains and case.greeting_contains.lower() not in greeting.text.lower():
        failures.append(f"greeting {greeting.text!r} lacks {case.greeting_contains!r}")
    for n, turn in enumerate(case.turns, start=1):
        event = CallerSaid(turn.say) if turn.say is not None else CallerDtmf(turn.dtmf or "")
        reply = await session.handle(event)
        got = {"intent": reply.intent, "node": reply.node, "action": reply.action, "reason": reply.reason}
        for key, value in got.items():
            want = getattr(turn, key)
            if want is not None and want != value:
                failures.append(f"turn {n} ({turn.say or turn.dtmf!r}): {key} {value!r}, expected {want!r}")
        for slot, want in turn.slots.items():
            if reply.slots.get(slot) != want:
                failures.append(f"turn {n}: slot {slot} = {reply.slots.get(slot)!r}, expected {want!r}")
        if turn.reply_contains and turn.reply_contains.lower() not in reply.text.lower():
            failures.append(f"turn {n}: reply {reply.text!r} lacks {turn.reply_contains!r}")
        if turn.reply_lacks and turn.reply_lacks.lower() in reply.text.lower():
            failures.append(f"turn {n}: reply {reply.text!r} says {turn.reply_lacks!r}")
    return CaseResult(loaded.flow.id, loaded.flow.language, case.name, not failures, failures)
