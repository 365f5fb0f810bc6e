"""Smoke and sparks go to a person as a safety hazard, not as the technical fault the NLU reads in the words: the
escalation's own reason wins over the flow's routine transfer of the same turn (its line, the colleague's handoff)."""

from __future__ import annotations

import pytest

from voicebot.escalation import make_tracker


@pytest.mark.parametrize(("lang", "words", "reason"), [
    ("en", "smoke coming out and sparks", "safety_hazard"),
    ("pl", "dymi się i iskrzy", "safety_hazard"),
    ("pl", "toster zaczął dymić i z wtyczki lecą iskry", "safety_hazard"),
    # a plain fault keeps its own reason
    ("en", "the fridge I bought stopped cooling", "technical_fault"),
    ("pl", "lodówka przestała chłodzić", "technical_fault"),
])
async def test_smoke_and_sparks_are_a_safety_hazard_a_plain_fault_a_fault(call, lang, words, reason) -> None:
    c = call(lang, tracker_factory=make_tracker)
    await c.start()
    reply = await c.say(words)
    assert reply.action == "transfer" and reply.reason == reason
