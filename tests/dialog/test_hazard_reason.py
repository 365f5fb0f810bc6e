"""Smoke and sparks go to a person as a safety hazard, not as the technical fault the NLU reads in the words: the
escalation's own reason wins over the flow's routine transfer of the same turn (its line, the colleague's handoff)."""

from __future__ import annotations

import pytest

from voicebot.escalation import make_tracker


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "smoke coming out and sparks"),
    ("pl", "dymi się i iskrzy"),
    ("pl", "toster zaczął dymić i z wtyczki lecą iskry"),
])
async def test_smoke_and_sparks_are_a_safety_hazard(call, lang, words) -> None:
    c = call(lang, tracker_factory=make_tracker)
    await c.start()
    reply = await c.say(words)
    assert reply.action == "transfer" and reply.reason == "safety_hazard"


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "the fridge I bought stopped cooling"),
    ("pl", "lodówka przestała chłodzić"),
])
async def test_a_plain_fault_keeps_its_own_reason(call, lang, words) -> None:
    c = call(lang, tracker_factory=make_tracker)
    await c.start()
    reply = await c.say(words)
    assert reply.action == "transfer" and reply.reason == "technical_fault"
