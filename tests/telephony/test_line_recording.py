"""Recording on other lines and when it fails: an Asterisk AudioSocket call is recorded like a SIP call (the
recorder sits where every line kind meets the pipeline); a call whose recording cannot start (the recordings
directory unusable) goes on unrecorded, and the caller is not told it is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from tests.support.media_callers import AudioSocketCaller
from tests.support.media_server import ended_call_record
from tests.support.sip_helpers import (
    RtpCapture,
    espeak_ulaw,
    finished_call,
    run_sipp,
    ulaw_to_pcm,
    voiced_seconds,
    write_pcap,
)
from voicebot.app import assemble_services
from voicebot.config import Settings
from voicebot.lines.audiosocket import AudioSocketServer
from voicebot.lines.leg_outcome import LegOutcomes
from voicebot.lines.sip import SipLine
from voicebot.pipeline.call import run_call
from voicebot.store.calls import CallStore
from voicebot.store.recordings import RecordingIndex

pytestmark = [pytest.mark.models, pytest.mark.slow]


def recording_to(settings: Settings, directory: Path) -> Settings:
    privacy = settings.privacy.model_copy(update={"record_audio": True, "recordings_dir": str(directory)})
    return settings.model_copy(update={"privacy": privacy})


async def test_audiosocket_call_is_recorded_both_ways(line_settings: Settings, call_store: CallStore, sip_models,
                                                      tmp_path: Path) -> None:
    settings = recording_to(line_settings, tmp_path / "recordings")
    services = assemble_services(settings, sip_models, call_store)
    server = AudioSocketServer("127.0.0.1", 0, lambda media, info: run_call(media, info, services),
                               LegOutcomes(call_store.client, call_store.keys))
    await server.start()
    caller = AudioSocketCaller()  # Asterisk's side of the wire, sending 20 ms frames in real time
    speech = ulaw_to_pcm(espeak_ulaw("What are your opening hours?", tmp_path)).tobytes()
    try:
        await caller.connect("127.0.0.1", server.port)
        await caller.wait_bot_quiet(quiet=1.0, timeout=60)
        heard = len(caller.bot_audio)
        await caller.say(speech, trailing_silence=0.5)
        await caller.wait_bot_quiet(quiet=1.2, timeout=60, heard_from=heard)
    finally:
        await caller.hangup()
    try:
        record = await ended_call_record(call_store, caller.call_uuid, timeout=30)
        assert record["channel"] == "audiosocket"
        found = await RecordingIndex(call_store).get(caller.call_uuid)
        assert found is not None and found.state == "complete", found
        audio, rate = soundfile.read(found.path, dtype="int16")
        assert rate == 8000 and audio.shape[1] == 2
        assert voiced_seconds(audio[:, 0]) > 0.8  # the caller's question
        assert voiced_seconds(audio[:, 1]) > 3.0  # the greeting and the answer
    finally:
        await server.close()
        await services.dialog.close()


async def test_recording_that_cannot_start_is_not_announced_and_the_call_goes_on(
        line_settings: Settings, call_store: CallStore, sip_models, tmp_path: Path) -> None:
    blocked = tmp_path / "recordings"
    blocked.write_text("a file where the recordings directory should be")
    settings = recording_to(line_settings, blocked)
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
