"""A flow's own `settings.escalation` (YAML, edited by admins) changes the policy for that flow's calls only."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from voicebot.call_session import CallSession
from voicebot.config import PROJECT_ROOT, load_settings
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.escalation import make_tracker

NOON = datetime.fromisoformat("2026-11-25T12:00:00+01:00")


async def test_yaml_flow_override_applies_to_its_calls(tmp_path: Path) -> None:
    flows = tmp_path / "dialogs"
    flows.mkdir()
    source = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")
    assert "\nsettings:\n" in source
    # A stricter line: the first misunderstanding goes to a person, and barge-in counts for more.
    strict = source.replace("\nsettings:\n", "\nsettings:\n  escalation:\n    no_match_turns: 1\n"
                                             "    signal_weights: {barge_in: 0.4}\n", 1)
    (flows / "customer_service.en.yaml").write_text(strict, encoding="utf-8")
    shutil.copytree(PROJECT_ROOT / "dialogs" / "faq", flows / "faq")
    settings = load_settings(tmp_path / "none.toml", {"VOICEBOT_DIALOG_FLOWS_DIR": str(flows),
                                                      "VOICEBOT_ESCALATION_LEXICONS_DIR":
                                                      str(PROJECT_ROOT / "dialogs" / "lexicons")})
    engine = load_engine(settings, make_tracker, clock=fixed_clock(NOON), strict=True)
    info = CallInfo(call_id="strict", language="en", flow_id="customer_service")
    session = CallSession(info, engine.new_session(info))
    await session.begin()
    reply = await session.on_event(CallerSaid("what is the capital of France", language="en", barge_in=True))
    await engine.close()
    assert reply.action == "transfer" and reply.reason == "no_match"
    assert reply.signals["barge_in"] == 0.4
