""""Where is my order?" over a real phone line from the number the order was placed from: the bot offers that
order ("I can see your latest order on this phone number: 5 5 5 0 1, the kettle. Is it about that one?"), the
caller says yes and hears its status; no digits said over the 8 kHz line at all.

sipp calls from 48500100200 (tests/support/sipp/caller_until_goodbye.xml); the demo CRM of this test has the
kettle's order 55501 on file for that number. The caller speaks in espeak-ng's voice (not the bot's own) on a
timer, and stays on the line until the bot says goodbye and hangs up. Judged from the call record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.sip_helpers import write_script_pcap
from tests.support.sipp_caller import espeak_script, sipp_call
from tests.telephony.conftest import line_services
from tests.telephony.test_sip_calls import GREETING_MS
from voicebot.app import with_crm_url
from voicebot.config import Settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.demo_crm import CRM_DATA
from voicebot.lines.sip import SipLine
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

NUMBER = "48500100200"  # the From of the sipp scenarios


async def test_the_callers_latest_order_is_offered_and_a_yes_hears_its_status(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    crm = await start_demo_crm()
    crm.runner.app[CRM_DATA].customer_orders[NUMBER] = ["55501"]
    settings = with_crm_url(line_settings, crm.url)
    services = line_services(settings, call_store, sip_models)
    line = SipLine(settings, services)
    await line.start()
    try:
        write_script_pcap(tmp_path / "script.pcap", list(espeak_script(tmp_path, [
            ("Hi, where is my order?", 13),  # the offer: ~7 s of speech
            ("Yes, that's the one.", 14),  # the status and "anything else?"
            ("No, that's all, thank you.", 10)])))
        call = await sipp_call(line, call_store, tmp_path, "caller_until_goodbye", {
            "pcap": str(tmp_path / "script.pcap"), "greeting_ms": str(GREETING_MS)}, timeout=180)
    finally:
        await line.stop()
        await services.dialog.close()
        await crm.stop()
    said = " | ".join(f"{t.role}: {t.text} ({t.node})" for t in call.turns)
    assert call.result.returncode == 0, said + call.result.log  # the bot ended the call: no transfer
    bot = [t for t in call.turns if t.role == "bot"]
    assert any(t.node == "offer_latest_order" and "5 5 5 0 1, the kettle" in t.text for t in bot), said
    assert any("was delivered" in t.text for t in bot), said
    assert call.record is not None and call.record["outcome"] == "contained", said
