"""A call whose recording cannot start (privacy.record_audio on, the recordings directory unusable) goes on
unrecorded, and the caller is not told it is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sip_helpers import RtpCapture, espeak_ulaw, finished_call, run_sipp, write_pcap
from voicebot.app import assemble_services
from voicebot.config import Settings
from voicebot.lines.sip import SipLine
from voicebot.store.calls import CallStore
from voicebot.store.recordings import RecordingIndex

pytestmark = [pytest.mark.models, pytest.mark.slow]


async def test_recording_that_cannot_start_is_not_announced_and_the_call_goes_on(
        line_settings: Settings, call_store: CallStore, sip_models, tmp_path: Path) -> None:
    blocked = tmp_path / "recordings"
    blocked.write_text("a file where the recordings directory should be")
    privacy = line_settings.privacy.model_copy(update={"record_audio": True, "recordings_dir": str(blocked)})
    settings = line_settings.model_copy(update={"privacy": privacy})
    services = assemble_services(settings, sip_models, call_store)
    assert services.recordings is not None  # recording is on: only the directory is in the way
    line = SipLine(settings, services)
    await line.start()
    capture = await RtpCapture.open()
    write_pcap(tmp_path / "caller.pcap", espeak_ulaw("I would like to check the status of my order.", tmp_path))
    try:
        result = await run_sipp("caller_speaks", line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "caller.pcap"),
            "greeting_ms": "8000", "listen_ms": "10000"}, timeout=60)
        assert result.returncode == 0, result.stdout + result.log
        call_id = await finished_call(line)
    finally:
        capture.close()
        await line.stop()
        await services.dialog.close()

    turns = await call_store.turns(call_id)
    assert "This call is not recorded." in turns[0].text
    assert [t.role for t in turns[:3]] == ["bot", "caller", "bot"]  # heard and answered: the call went on
    assert await RecordingIndex(call_store).get(call_id) is None
