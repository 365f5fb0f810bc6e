"""Polish calls over SIP/RTP from a real SIP peer (sipp): the dialled number picks Polish ([languages] numbers), or
the caller's first words do (language detection on an English number);
and the caller hears Polish speech, greeting and answer, spoken by the default espeak-ng voice.

"Polish" is judged from what came back over RTP: there is speech (energy), and whisper, asked to choose
between Polish and English, hears Polish in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from telephony.sip_line import SipLine
from tests.telephony.conftest import line_services
from tests.telephony.sip_helpers import RtpCapture, espeak_ulaw, run_sipp, ulaw_to_pcm, voiced_seconds, write_pcap
from tests.telephony.test_sip_calls import finished_call
from voicebot.config import Settings
from voicebot.pipeline.asr import Detect
from voicebot.pipeline.pcm import resample, to_float
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

GREETING_MS = 12000  # the Polish greeting by espeak-ng takes ~9 s


async def polish_share(models: Any, pcm: np.ndarray) -> tuple[float, str]:
    audio = to_float(resample(pcm.astype(np.int16), 8000, 16000))
    heard = await models.asr.transcribe(audio, "en", Detect(("en", "pl"), 0.55))
    assert heard.language_shares is not None
    return heard.language_shares["pl"], heard.text


async def test_a_call_to_a_polish_number_is_answered_in_polish_speech(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    languages = line_settings.languages.model_copy(update={"numbers": {"+4822": "pl", "+44": "en"}})
    settings = line_settings.model_copy(update={"languages": languages})
    line = SipLine(settings, line_services(settings, call_store, sip_models))
    await line.start()
    capture = await RtpCapture.open()
    speech = espeak_ulaw("Kiedy jesteście otwarci?", tmp_path, voice="pl+f2")
    write_pcap(tmp_path / "caller.pcap", speech)
    try:
        result = await run_sipp("caller_dials_number", line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "caller.pcap"),
            "greeting_ms": str(GREETING_MS), "listen_ms": "12000"}, timeout=60, extra=["-s", "+48221234567"])
        call_id = await finished_call(line)
    finally:
        capture.close()
        await line.stop()
    turns = await call_store.turns(call_id)
    assert result.returncode == 0, [(t.role, t.text, t.intent, t.reason) for t in turns]

    start = capture.packets[0].arrival
    spoke_until = start + GREETING_MS / 1000 + len(speech) / 8000
    greeting = ulaw_to_pcm(b"".join(p.payload for p in capture.packets if p.arrival < start + GREETING_MS / 1000))
    answer = capture.audio(since=spoke_until + 0.3)
    assert voiced_seconds(greeting) > 3.0 and voiced_seconds(answer) > 1.0
    for heard in (greeting, answer):
        # English speech gets a Polish share of at most 0.13 here (bench/language_id.py); robotic Polish ~0.9.
        share, words = await polish_share(sip_models, heard)
        assert share > 0.7, (share, words)

    record = await call_store.get_call(call_id)
    assert record is not None and record["language"] == "pl" and record["channel"] == "sip"
    assert [t.language for t in turns if t.role == "bot"][:2] == ["pl", "pl"]
    assert [t.language for t in turns if t.role == "caller"] == ["pl"]


async def test_a_polish_caller_on_an_english_number_is_switched_to_polish_by_detection(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    line = SipLine(line_settings, line_services(line_settings, call_store, sip_models))  # no numbers: English
    await line.start()
    capture = await RtpCapture.open()
    speech = espeak_ulaw("Kiedy jesteście otwarci?", tmp_path, voice="pl+f2")
    write_pcap(tmp_path / "caller.pcap", speech)
    english_greeting_ms = 8000
    try:
        result = await run_sipp("caller_dials_number", line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "caller.pcap"),
            "greeting_ms": str(english_greeting_ms), "listen_ms": "12000"}, timeout=60, extra=["-s", "voicebot"])
        call_id = await finished_call(line)
    finally:
        capture.close()
        await line.stop()
    turns = await call_store.turns(call_id)
    assert result.returncode == 0, [(t.role, t.text, t.intent, t.reason) for t in turns]

    start = capture.packets[0].arrival
    answer = capture.audio(since=start + english_greeting_ms / 1000 + len(speech) / 8000 + 0.3)
    assert voiced_seconds(answer) > 1.0
    share, words = await polish_share(sip_models, answer)
    assert share > 0.7, (share, words)
    record = await call_store.get_call(call_id)
    assert record is not None and record["language"] == "pl"
    assert [(t.role, t.language) for t in turns][:3] == [("bot", "en"), ("caller", "pl"), ("bot", "pl")]
