"""Line behaviour around the conversation: hold/resume, the concurrent-call limit, and what happens
when the pipeline itself fails (the caller goes to the human line, never into silence)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.sip_helpers import RawPeer, RtpCapture, SippResult, run_sipp, sip_request
from tests.telephony.conftest import line_services
from voicebot.config import Settings
from voicebot.lines.sip import SipLine
from voicebot.store.calls import CallStore

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


def _with_sip(settings: Settings, **sip: Any) -> Settings:
    return settings.model_copy(update={"sip": settings.sip.model_copy(update=sip)})


@pytest.mark.models
async def _call_until_done(line: SipLine, scenario: str, tmp_path: Path, extra: list[str] | None = None) -> SippResult:
    """Start `line`, let a sipp caller run `scenario` against it, wait until the line has closed the call."""
    await line.start()
    capture = await RtpCapture.open()
    try:
        result = await run_sipp(scenario, line.port, tmp_path, {"capture_port": str(capture.port)}, timeout=30,
                                extra=extra or [])
        for _ in range(50):
            if line.finished:
                break
            await asyncio.sleep(0.1)
    finally:
        capture.close()
        await line.stop()
    return result


async def test_hold_silences_the_bot_and_calls_over_the_limit_get_busy(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    settings = _with_sip(line_settings, max_calls=1)
    line = SipLine(settings, line_services(settings, call_store, sip_models))
    await line.start()
    capture = await RtpCapture.open()
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    try:
        caller = asyncio.create_task(run_sipp("caller_hold", line.port, tmp_path,
                                              {"capture_port": str(capture.port)}, timeout=30))
        for _ in range(100):  # wait until the first call is up
            if line.ua.calls:
                break
            await asyncio.sleep(0.1)
        busy = await peer.ask(sip_request("INVITE", peer.port, body=SDP), ("127.0.0.1", line.port))
        result = await caller
    finally:
        transport.close()
        capture.close()
        await line.stop()
    assert busy is not None and busy.status == 486
    assert result.returncode == 0, result.stdout + result.log
    assert "HOLD-ANSWER=a=recvonly" in result.log and "RESUME-ANSWER=a=sendrecv" in result.log
    arrivals = np.array([p.arrival for p in capture.packets])
    gaps = np.diff(arrivals)
    assert gaps.max() > 2.5  # nothing was sent while the caller held the bot (3 s)
    resumed = arrivals[np.argmax(gaps) + 1:]
    assert len(resumed) > 50  # ... and the stream came back after resume


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_failing_pipeline_hands_the_caller_to_the_human_line(
        line_settings: Settings, call_store: CallStore, tmp_path: Path, transport: str) -> None:
    # The speech models are missing (None): the pipeline fails as soon as the call starts.
    settings = _with_sip(line_settings, transport="both")
    line = SipLine(settings, line_services(settings, call_store, None))
    result = await _call_until_done(line, "caller_gets_refer_at_once", tmp_path,
                                    extra=["-t", "t1"] if transport == "tcp" else [])
    assert result.returncode == 0, result.stdout + result.log  # REFER, NOTIFY 200, BYE: transferred
    info, call = line.finished[0]
    assert f"HANDOFF={info.call_id}" in result.log  # the agent can find the call's transcript
    assert [t.ok for t in call.transfers] == [True]
    assert f"SIP/2.0/{transport.upper()} " in result.messages  # really over that transport


async def test_transfer_fails_cleanly_when_the_human_line_does_not_answer(
        line_settings: Settings, call_store: CallStore, tmp_path: Path) -> None:
    # Nobody listens on the human line; the caller's phone refuses REFER, so the bot tries to bridge.
    settings = _with_sip(line_settings, transfer_timeout_secs=2.0)
    line = SipLine(settings, line_services(settings, call_store, None))
    result = await _call_until_done(line, "caller_refuses_refer_at_once", tmp_path)
    assert result.returncode == 0, result.stdout + result.log  # REFER refused, then a clean BYE
    _, call = line.finished[0]
    assert len(call.transfers) == 1 and not call.transfers[0].ok
    assert "did not answer" in call.transfers[0].detail
