"""`run_flow_tests`: what the web UI calls before publishing a draft flow."""

from __future__ import annotations

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.dialog.flowtests import run_flow_tests
from voicebot.dialog.validate import FlowInvalid

EN = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")
CASES = """
flow: customer_service
language: en
cases:
  - name: complaint goes to a person
    turns:
      - {say: "I want to make a complaint", action: transfer, reason: complaint}
  - name: order lookup
    turns:
      - {say: "where is my order 48152", node: anything_else, reply_contains: shipped}
"""


async def test_shipped_flow_passes() -> None:
    results = await run_flow_tests(EN, CASES)
    assert [(r.name, r.passed) for r in results] == [("complaint goes to a person", True), ("order lookup", True)]


async def test_draft_that_changes_behaviour_fails_with_reasons() -> None:
    draft = EN.replace("goto: complaint_transfer", "goto: menu")
    with pytest.raises(FlowInvalid) as exc:  # complaint_transfer is now unreachable: refused before any test
        await run_flow_tests(draft, CASES)
    assert exc.value.errors[0].rule == "unreachable_node"
    draft = EN.replace("has been shipped", "is on its way")
    first, second = await run_flow_tests(draft, CASES)
    assert first.passed and not second.passed
    assert "lacks 'shipped'" in second.failures[0]


async def test_malformed_cases_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="exactly one of 'say' or 'dtmf'"):
        await run_flow_tests(EN, {"flow": "customer_service", "language": "en",
                                  "cases": [{"name": "x", "turns": [{"node": "menu"}]}]})
