"""On a real SIP call: when the bot's speech recognition is overloaded, a new caller hears "all lines are busy"
over RTP and is handed to the human line by REFER, instead of silence or slow answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.overload import asr_backlog
from tests.support.sip_helpers import RtpCapture, espeak_ulaw, run_sipp, ulaw_to_pcm, voiced_seconds
from tests.telephony.conftest import line_services
from tests.telephony.test_sip_calls import finished_call
from voicebot.config import Settings
from voicebot.lines.sip import SipLine
from voicebot.pipeline.pcm import resample, to_float
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]


async def test_an_overloaded_bot_answers_a_sip_caller_with_the_busy_message_and_a_transfer(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    pcm = ulaw_to_pcm(espeak_ulaw("I would like to check the status of my order and change my delivery address,"
                                  " the order number is four eight one seven two.", tmp_path)).tobytes()
    line = SipLine(line_settings, line_services(line_settings, call_store, sip_models))
    await line.start()
    capture = await RtpCapture.open()
    try:
        async with asr_backlog(sip_models, to_float(resample(pcm, 8000, 16000))):
            result = await run_sipp("caller_gets_refer_at_once", line.port, tmp_path,
                                    {"capture_port": str(capture.port)}, timeout=60)
        await finished_call(line)
    finally:
        capture.close()
        await line.stop()

    assert result.returncode == 0, result.stdout + result.log  # REFER, NOTIFY 200, BYE: transferred
    assert voiced_seconds(capture.audio()) > 1.0, "the caller heard silence before the transfer"
    info, call = line.finished[0]
    assert [t.ok for t in call.transfers] == [True]
    stored = await call_store.get_call(info.call_id)
    assert stored is not None and stored.get("transfer_reason") == "overload"
