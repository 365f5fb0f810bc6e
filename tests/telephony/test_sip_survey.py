"""The post-call survey over a real phone line: sipp calls the bot over SIP/RTP (G.711, 8 kHz) and plays a script in
espeak-ng's voice (not the bot's own) with key presses (RFC 4733); the answers must land on the call record and in
the KPIs, as a supervisor would see them.

The caller speaks on a timer (sentences with silence between for the bot's answers), like
tests/telephony/test_phone_understanding.py, and stays on the line until the bot says goodbye and hangs up.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.sip_helpers import write_script_pcap
from tests.support.sipp_caller import espeak_script, silence, sipp_call
from tests.telephony.test_sip_calls import GREETING_MS
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.escalation.handoff import handoff_writer
from voicebot.escalation.tracker import make_tracker
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices
from voicebot.store.callers import profile_number
from voicebot.store.calls import CallStore
from voicebot.store.kpis import compute_kpis
from voicebot.store.surveys import SurveyPicker

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture
async def survey_line(line_settings: Settings, call_store: CallStore, sip_models) -> AsyncIterator[SipLine]:
    """A SIP line with the real pipeline and escalation rules, every served call asked the survey."""
    settings = line_settings.model_copy(update={"survey": line_settings.survey.model_copy(update={"enabled": True})})
    surveys = SurveyPicker(call_store.client, call_store.keys, settings.survey)
    services = CallServices(settings=settings, models=sip_models,
                            dialog=load_engine(settings, make_tracker, surveys=surveys), store=call_store,
                            write_handoff=handoff_writer(settings))
    line = SipLine(settings, services)
    await line.start()
    yield line
    await line.stop()
    await services.dialog.close()


async def test_survey_answered_by_voice_and_keypad_lands_in_the_kpis(
        survey_line: SipLine, call_store: CallStore, tmp_path: Path) -> None:
    parts: list[bytes | str] = [*espeak_script(tmp_path, [
        ("What are your opening hours?", 15),  # served: an answer, "anything else?"
        ("No, nothing else.", 18),  # the CSAT question follows instead of the goodbye
        ("My rating is four.", 12)])]  # CSAT by voice; then the NPS question
    parts += ["9", silence(15)]  # NPS on the keypad; then the bot thanks the caller and hangs up
    write_script_pcap(tmp_path / "script.pcap", parts)
    call = await sipp_call(survey_line, call_store, tmp_path, "caller_until_goodbye", {
        "pcap": str(tmp_path / "script.pcap"), "greeting_ms": str(GREETING_MS)}, timeout=180)
    result, record, turns = call.result, call.record, call.turns
    said = " | ".join(f"{t.role}: {t.text} ({t.reason or ''})" for t in turns)
    assert result.returncode == 0, said + result.log  # the bot ended the call with BYE, no transfer
    assert record is not None, said
    assert (record.get("csat"), record.get("nps"), record.get("survey")) == ("4", "9", "answered"), said
    assert record["outcome"] == "contained", said
    bot = [t.text for t in turns if t.role == "bot"]
    assert any("1 to 5" in t for t in bot) and any("0 to 10" in t for t in bot), said
    assert "Thank you for your answers" in bot[-1], said
    assert any(t.role == "caller" and t.text == "[DTMF 9]" for t in turns), said

    kpis = await compute_kpis(call_store, time.time() - 3600, time.time())
    assert (kpis.csat, kpis.csat_responses, kpis.nps, kpis.nps_responses) == (4.0, 1, 100.0, 1)  # 9 promotes
    assert kpis.containment == 1.0
    assert kpis.first_response_ms is not None and kpis.first_response_ms > 0  # the pipeline's turn timings


async def test_a_caller_who_hangs_up_at_the_survey_is_served_and_not_asked_again(
        survey_line: SipLine, call_store: CallStore, tmp_path: Path) -> None:
    secs = write_script_pcap(tmp_path / "script.pcap", list(espeak_script(tmp_path, [
        ("What are your opening hours?", 15), ("No, nothing else.", 9)])))
    # The caller hangs up while the CSAT question plays.
    call = await sipp_call(survey_line, call_store, tmp_path, "caller_speaks", {
        "pcap": str(tmp_path / "script.pcap"), "greeting_ms": str(GREETING_MS),
        "listen_ms": str(int(secs * 1000))}, timeout=120)
    result, record, turns = call.result, call.record, call.turns
    said = " | ".join(f"{t.role}: {t.text}" for t in turns)
    assert result.returncode == 0, said + result.log  # the caller, not the bot, ended the call
    assert record is not None and any("1 to 5" in t.text for t in turns if t.role == "bot"), said
    assert (record.get("survey"), record["outcome"]) == ("hung_up", "contained"), said  # served, then gone
    assert "csat" not in record
    assert await call_store.client.exists(call_store.keys.survey_asked(profile_number(record["caller_number"])))
