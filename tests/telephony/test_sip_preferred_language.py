"""A returning caller whose last call was in Polish is greeted in Polish over SIP, on a line that does not fix
the language; a line that fixes it (a number of the English service) keeps its language. Real sipp calls from
48500100200 asking "Kiedy jesteście otwarci?" (espeak-ng), the real pipeline, Redis profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.sip_helpers import espeak_ulaw, ulaw_to_pcm, write_pcap
from tests.support.sipp_caller import sipp_call
from tests.telephony.test_sip_polish import POLISH_PART_S, polish_share
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.escalation.handoff import handoff_writer
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices
from voicebot.store.callers import CallerStore
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

NUMBER = "48500100200"  # the From of tests/support/sipp/caller_dials_number.xml
GREETING_MS = 12000  # the Polish greeting by piper takes ~9 s; the English one ~6.5 s


async def _call(settings: Settings, store: CallStore, models: Any, tmp: Path, dialled: str
                ) -> tuple[dict[str, Any], list[Any], Any]:
    """One sipp call to `dialled`; the call record, its turns and what the caller heard before speaking."""
    callers = CallerStore(store.client, store.keys, store.buffer, store.redact)
    await callers.record_call(NUMBER, call_id="earlier-call", outcome="contained", language="pl")
    engine = load_engine(settings, callers=callers)
    line = SipLine(settings, CallServices(settings=settings, models=models, dialog=engine, store=store,
                                          write_handoff=handoff_writer(settings)))
    await line.start()
    write_pcap(tmp / "caller.pcap", espeak_ulaw("Kiedy jesteście otwarci?", tmp, voice="pl+f2"))
    try:
        done = await sipp_call(line, store, tmp, "caller_dials_number", {
            "pcap": str(tmp / "caller.pcap"), "greeting_ms": str(GREETING_MS), "listen_ms": "10000"},
            timeout=60, extra=["-s", dialled])
    finally:
        await line.stop()
        await engine.close()
    assert done.result.returncode == 0, [(t.role, t.text) for t in done.turns]
    assert done.record is not None
    start = done.heard.packets[0].arrival
    greeting = ulaw_to_pcm(b"".join(p.payload for p in done.heard.packets
                                    if p.arrival < start + POLISH_PART_S))
    return done.record, done.turns, greeting


async def test_a_returning_polish_caller_is_greeted_in_polish_on_a_line_that_does_not_fix_the_language(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    assert line_settings.dialog.default_language == "en"
    record, turns, greeting = await _call(line_settings, call_store, sip_models, tmp_path, "voicebot")
    bot = [t for t in turns if t.role == "bot"]
    assert bot[0].language == "pl" and bot[0].text.startswith("Dzień dobry"), bot[0].text
    assert record["language"] == "pl"
    assert [t.language for t in turns][:3] == ["pl", "pl", "pl"]  # greeting, the caller, the answer
    share, words = await polish_share(sip_models, greeting)  # the phone heard Polish, not a record of it
    assert share > 0.5, (share, words)


async def test_a_line_that_fixes_the_language_keeps_it_for_a_returning_caller(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    languages = line_settings.languages.model_copy(update={"numbers": {"+44": "en"}})
    settings = line_settings.model_copy(update={"languages": languages})
    record, turns, _ = await _call(settings, call_store, sip_models, tmp_path, "+442071234567")
    assert record["language"] == "en"
    assert next(t.language for t in turns if t.role == "bot") == "en"
    assert turns[0].text.startswith("Hello"), turns[0].text
