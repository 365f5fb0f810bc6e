"""Skill routing on a phone call: two human lines, each a sipp agent (UAS) on its own port. A caller who
complains (espeak-ng voice, 8 kHz SIP/RTP, through whisper and the dialog) is sent to the complaints agent, a
Polish caller with a payment problem to the payments agent: the REFER's Refer-To names the skill's line, and when the
caller's phone refuses the REFER the bot bridges the call to that line itself — the agent's INVITE carries the
handoff id whose package names the skill."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import UDP, free_port
from tests.support.sip_helpers import SIPP_DIR, espeak_ulaw, run_sipp, sox_tone_ulaw, write_pcap
from tests.telephony.conftest import line_services
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.escalation.routing import Router
from voicebot.lines.sip import SipLine
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

GREETING_MS = 8000


class Agent:
    """A sipp UAS answering one call on `port` (echoing its media), with every message it saw in `log`."""

    def __init__(self, name: str, tmp: Path, busy: bool = False) -> None:
        self.busy = busy  # answers 486 Busy Here instead (tests/support/sipp/agent_busy.xml)
        self.port = free_port(UDP)
        self.uri = f"sip:{name}@127.0.0.1:{self.port}"
        self.log = tmp / f"agent-{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        scenario = ["-sf", str(SIPP_DIR / "agent_busy.xml")] if self.busy else ["-sn", "uas"]
        self.proc = await asyncio.create_subprocess_exec(
            "sipp", *scenario, "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(free_port(UDP) & ~1),
            "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "180s", "-trace_msg", "-message_file", str(self.log),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=self.log.parent)

    def seen(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def answered(self, timeout: float = 20) -> int | None:
        """The agent's exit status once its one call ended (0 = INVITE, ACK and BYE all seen)."""
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            return None

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def agents(tmp_path: Path) -> AsyncIterator[dict[str, Agent]]:
    agents = {name: Agent(name, tmp_path) for name in ("complaints", "payments")}
    for agent in agents.values():
        await agent.start()
    yield agents
    for agent in agents.values():
        await agent.stop()


@asynccontextmanager
async def line_to(agents: dict[str, Agent], settings: Settings, call_store: CallStore,
                  sip_models: Any) -> AsyncIterator[SipLine]:
    """A SIP line whose human lines are `agents` (skill -> agent), routed like `voicebot serve` routes."""
    data = settings.model_dump()
    data["escalation"]["lines"] = {name: {"target": agent.uri} for name, agent in agents.items()}
    settings = Settings.model_validate(data)
    services = line_services(settings, call_store, sip_models)
    services.callbacks = CallbackOffer.for_store(settings, call_store)
    services.router = Router.for_store(settings, call_store)
    line = SipLine(settings, services)
    await line.start()
    try:
        yield line
    finally:
        await line.stop()


@pytest.fixture
async def routed_line(line_settings: Settings, agents: dict[str, Agent], call_store: CallStore,
                      sip_models: Any) -> AsyncIterator[SipLine]:
    async with line_to(agents, line_settings, call_store, sip_models) as line:
        yield line


async def caller_says(line: SipLine, words: str, tmp: Path, scenario: str = "caller_refuses_refer",
                      voice: str = "en-us") -> tuple[str, str]:
    """One caller: greeting, `words`, a refused REFER, then a tone on the bridge. (handoff id, Refer-To)."""
    await asyncio.to_thread(tmp.mkdir)
    write_pcap(tmp / "ask.pcap", espeak_ulaw(words, tmp, voice))
    write_pcap(tmp / "probe.pcap", sox_tone_ulaw(tmp, 1.5))
    before = len(line.finished)
    result = await run_sipp(scenario, line.port, tmp, {
        "capture_port": str(free_port(UDP)), "pcap": str(tmp / "ask.pcap"), "pcap2": str(tmp / "probe.pcap"),
        "greeting_ms": str(GREETING_MS), "listen_ms": "2000"}, timeout=90)
    for _ in range(100):
        if result.returncode == 0 or len(line.finished) > before:
            break
        await asyncio.sleep(0.1)
    if result.returncode != 0 and len(line.finished) > before:  # what the bot heard and said tells why
        store = line.services.store
        assert store is not None
        turns = [(t.role, t.text) for t in await store.turns(line.finished[-1][0].call_id)]
        pytest.fail(f"{turns}\n{result.stdout}{result.log}")
    assert result.returncode == 0, result.stdout + result.log
    if scenario != "caller_refuses_refer":
        return result.log.split("HANDOFF2=")[1].split()[0], result.log.split("REFER2-TO=")[1].splitlines()[0]
    return result.log.split("HANDOFF=")[1].split()[0], result.log.split("REFER-TO=")[1].splitlines()[0]


async def test_complaint_reaches_the_complaints_agent_and_payment_the_payments_agent(
        routed_line: SipLine, agents: dict[str, Agent], call_store: CallStore, tmp_path: Path) -> None:
    complaints, payments = agents["complaints"], agents["payments"]

    handoff, refer_to = await caller_says(routed_line, "I want to make a complaint about a broken kettle.",
                                          tmp_path / "complaint")
    assert f"<{complaints.uri};skill=complaints;" in refer_to, refer_to
    assert await complaints.answered() == 0, complaints.seen()  # the complaints agent took the whole call
    assert f"X-Voicebot-Handoff: {handoff}" in complaints.seen()
    assert "INVITE" not in payments.seen()  # the payments agent's phone never rang
    package = json.loads(await call_store.client.get(call_store.keys.handoff(handoff)) or "{}")
    assert package["skill"] == "complaints" and package["reason"] == "complaint"

    # A Polish caller on the same (English) number: whisper hears Polish, the Polish flow takes over.
    handoff, refer_to = await caller_says(routed_line, "Mam problem z płatnością.",
                                          tmp_path / "payment", voice="pl")
    assert f"<{payments.uri};skill=payments;" in refer_to, refer_to
    assert await payments.answered() == 0, payments.seen()
    assert f"X-Voicebot-Handoff: {handoff}" in payments.seen()
    assert f"X-Voicebot-Handoff: {handoff}" not in complaints.seen()
    package = json.loads(await call_store.client.get(call_store.keys.handoff(handoff)) or "{}")
    assert package["skill"] == "payments" and package["reason"] == "payment_problem"
    assert package["language"] == "pl"

    # The supervisor's call records name the line each caller went to.
    for _ in range(150):
        if len(routed_line.finished) == 2:
            break
        await asyncio.sleep(0.1)
    skills = set()
    for info, _ in routed_line.finished:
        record = await call_store.get_call(info.call_id)
        assert record is not None and record["outcome"] == "transferred"
        skills.add(record.get("skill"))
    assert skills == {"complaints", "payments"}


async def test_a_busy_complaints_line_passes_the_caller_to_the_general_line(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    agents = {"complaints": Agent("complaints", tmp_path, busy=True), "general": Agent("general", tmp_path)}
    for agent in agents.values():
        await agent.start()
    try:
        async with line_to(agents, line_settings, call_store, sip_models) as line:
            handoff, refer_to = await caller_says(line, "I want to make a complaint about a broken kettle.",
                                                  tmp_path / "busy", scenario="caller_refuses_two_refers")
        assert await agents["complaints"].answered() == 0, agents["complaints"].seen()  # INVITE, 486, ACK
        assert f"<{agents['general'].uri};skill=general;" in refer_to, refer_to
        assert await agents["general"].answered() == 0, agents["general"].seen()
        assert f"X-Voicebot-Handoff: {handoff}" in agents["general"].seen()
    finally:
        for agent in agents.values():
            await agent.stop()
    package = json.loads(await call_store.client.get(call_store.keys.handoff(handoff)) or "{}")
    assert package["skill"] == "general" and package["routing"] == "complaints: did not take the call"
    [(info, _)] = line.finished
    turns = await call_store.turns(info.call_id)
    assert any("another colleague" in t.text for t in turns if t.role == "bot"), [t.text for t in turns]
