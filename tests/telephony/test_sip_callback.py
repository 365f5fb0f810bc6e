"""A SIP caller (sipp) presses 0 for a person, its phone refuses REFER and nobody answers the human line:
the real pipeline books a callback in Redis, says so on the RTP stream, then hangs up with BYE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.sip_helpers import voiced_seconds, write_pcap
from tests.support.sipp_caller import sipp_call
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.escalation.handoff import handoff_writer
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

GREETING_MS = 8000  # the default flow's greeting takes ~6.5 s; the caller waits for it like a person


async def test_nobody_on_the_human_line_gets_the_caller_a_spoken_callback_then_bye(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    # line_settings' human line is a free port nobody listens on; give up on it after 2 s.
    settings = line_settings.model_copy(update={"sip": line_settings.sip.model_copy(
        update={"transfer_timeout_secs": 2.0})})
    callbacks = CallbackOffer.for_store(settings, call_store)
    services = CallServices(settings=settings, models=sip_models, store=call_store, callbacks=callbacks,
                            dialog=load_engine(settings, callbacks=callbacks.store),
                            write_handoff=handoff_writer(settings))
    line = SipLine(settings, services)
    await line.start()
    write_pcap(tmp_path / "keypad.pcap", digits="0", lead_silence_s=0.5)  # "press 0 to reach a person"
    try:
        sipp = await sipp_call(line, call_store, tmp_path, "caller_refused_hears_callback", {
            "pcap": str(tmp_path / "keypad.pcap"), "greeting_ms": str(GREETING_MS)}, timeout=60)
    finally:
        await line.stop()
    result, record = sipp.result, sipp.record
    assert result.returncode == 0, result.stdout + result.log  # REFER refused, then the bot's BYE
    _info, call = line.finished[0]
    assert [t.ok for t in call.transfers] == [False]

    assert record is not None and record["outcome"] == "callback", record
    assert "did not answer" in record["transfer_failure"]
    request = await callbacks.store.get(record["callback_id"])
    assert request is not None and request.number == "48500100200" and request.reason == "transfer_failed"
    # Everything the bot said was heard on the line, the callback booking included.
    said = [t.text for t in sipp.turns if t.role == "bot"]
    assert "call you back" in said[-1]
    expected = sum([voiced_seconds(np.frombuffer(await sip_models.tts.synthesize(text, "en", 8000), np.int16))
                    for text in said])
    assert voiced_seconds(sipp.heard.audio()) > 0.85 * expected
