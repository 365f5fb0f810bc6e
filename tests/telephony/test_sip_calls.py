"""Whole calls over SIP/RTP from real SIP peers (sipp, baresip) through the real pipeline: whisper
hears the caller, the dialog answers, piper speaks back; transfers reach the human line with the
handoff id, and RFC 4733 DTMF reaches the dialog.
"""

from __future__ import annotations

import asyncio
import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.support.ports import UDP, free_port
from tests.support.sip_helpers import (
    RtpCapture,
    baresip_config,
    espeak_ulaw,
    finished_call,
    run_sipp,
    sox_tone_ulaw,
    tone_seconds,
    ulaw_to_pcm,
    voiced_seconds,
    write_pcap,
)
from tests.support.sipp_caller import sipp_call
from voicebot.lines.sip import SipLine
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

GREETING_MS = 8000  # the default flow's greeting takes ~6.5 s; the caller waits for it like a person


async def test_sipp_caller_hears_the_bot_answer(sip_line: SipLine, call_store: CallStore, tmp_path: Path) -> None:
    capture = await RtpCapture.open()
    speech = espeak_ulaw("I would like to check the status of my order.", tmp_path)
    write_pcap(tmp_path / "caller.pcap", speech)
    try:
        result = await run_sipp("caller_speaks", sip_line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "caller.pcap"),
            "greeting_ms": str(GREETING_MS), "listen_ms": "14000"}, timeout=60)
    finally:
        capture.close()
    assert result.returncode == 0, result.stdout + result.log

    # What the caller heard: the greeting before speaking, and an answer after finishing.
    start = capture.packets[0].arrival
    spoke_until = start + GREETING_MS / 1000 + len(speech) / 8000
    greeting = ulaw_to_pcm(b"".join(p.payload for p in capture.packets if p.arrival < start + GREETING_MS / 1000))
    assert voiced_seconds(greeting) > 2.0
    assert voiced_seconds(capture.audio(since=spoke_until + 0.3)) > 1.0, "no spoken answer after the caller's turn"

    # The bot's RTP: one stream, no gaps in seq/timestamp, paced at 20 ms.
    pkts = capture.packets
    assert {p.ssrc for p in pkts} == {pkts[0].ssrc} and {p.payload_type for p in pkts} == {0}
    assert all((b.seq - a.seq) & 0xFFFF == 1 for a, b in itertools.pairwise(pkts))
    assert all((b.timestamp - a.timestamp) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(pkts))
    gaps_ms = np.diff([p.arrival for p in pkts]) * 1000
    assert 19 < float(np.median(gaps_ms)) < 21
    assert len(pkts) == pytest.approx((pkts[-1].arrival - start) / 0.02, rel=0.05)

    # What the supervisor sees: a SIP call with the caller's number and what whisper heard.
    call_id = await finished_call(sip_line)
    record = await call_store.get_call(call_id)
    assert record is not None and record["channel"] == "sip" and record["caller_number"] == "48500100200"
    caller_turns = [t.text.lower() for t in await call_store.turns(call_id) if t.role == "caller"]
    assert any("order" in t for t in caller_turns), caller_turns


async def test_dtmf_zero_transfers_by_refer_with_the_handoff_id(
        sip_line: SipLine, call_store: CallStore, tmp_path: Path) -> None:
    write_pcap(tmp_path / "keypad.pcap", digits="0", lead_silence_s=0.5)  # "press 0 to reach a person"
    call = await sipp_call(sip_line, call_store, tmp_path, "caller_transfer", {
        "pcap": str(tmp_path / "keypad.pcap"), "greeting_ms": str(GREETING_MS)}, timeout=60)
    result, record, turns = call.result, call.record, call.turns
    assert result.returncode == 0, result.stdout + result.log
    handoff_id = result.log.split("HANDOFF=")[1].split()[0]
    assert f";handoff={handoff_id}" in result.log  # also a Refer-To URI parameter

    assert any(t.role == "caller" and "DTMF 0" in t.text for t in turns), [t.text for t in turns]
    assert record is not None and record["outcome"] == "transferred" and record["handoff_id"] == handoff_id
    assert await call_store.client.exists(call_store.keys.handoff(handoff_id))


async def test_refused_refer_falls_back_to_a_bridge_to_the_human_line(
        sip_line: SipLine, line_settings, call_store: CallStore, tmp_path: Path) -> None:
    agent_port = int(line_settings.sip.human_line_uri.rsplit(":", 1)[1])
    # The human line: a sipp UAS that answers and echoes the media it gets back.
    agent = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(agent_port), "-mp", str(free_port(UDP) & ~1),
        "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "60s", "-trace_msg", "-message_file",
        str(tmp_path / "agent.log"), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path)
    capture = await RtpCapture.open()
    write_pcap(tmp_path / "ask.pcap", espeak_ulaw("I want to talk to a person.", tmp_path))
    write_pcap(tmp_path / "probe.pcap", sox_tone_ulaw(tmp_path, 1.5))  # what the caller says to the agent
    try:
        result = await run_sipp("caller_refuses_refer", sip_line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "ask.pcap"),
            "pcap2": str(tmp_path / "probe.pcap"), "greeting_ms": str(GREETING_MS), "listen_ms": "3000"},
            timeout=60)
        await asyncio.wait_for(agent.wait(), 15)  # it ends when the bridge passes on the caller's BYE
    finally:
        capture.close()
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert result.returncode == 0, result.stdout + result.log
    handoff_id = result.log.split("HANDOFF=")[1].split()[0]
    agent_log = (tmp_path / "agent.log").read_text(errors="replace")
    assert f"X-Voicebot-Handoff: {handoff_id}" in agent_log  # the agent's INVITE carries the handoff id
    assert agent.returncode == 0  # the agent got a full call: INVITE, ACK, BYE
    # The caller's probe tone went to the agent and came back through the bridge.
    assert tone_seconds(capture.audio()) > 1.0
    assert await call_store.client.exists(call_store.keys.handoff(handoff_id))


async def test_baresip_completes_a_call(sip_line: SipLine, call_store: CallStore, tmp_path: Path) -> None:
    wav = tmp_path / "say.wav"
    proc = await asyncio.create_subprocess_exec("espeak-ng", "-v", "en-us", "-s", "150", "-w", str(tmp_path / "e.wav"),
                                                "I want to check my order status.")
    await proc.wait()
    # 8 kHz 16-bit mono (the wav aufile plays): silent while the greeting plays, the sentence, then
    # silence while the bot answers. baresip hangs up when the file ends.
    proc = await asyncio.create_subprocess_exec("sox", str(tmp_path / "e.wav"), "-r", "8000", "-c", "1", "-b", "16",
                                                str(wav), "pad", str(GREETING_MS / 1000), "14")
    await proc.wait()
    conf = baresip_config(tmp_path, wav, free_port(UDP), rtp_low=30000 + 2 * (free_port() % 5000))
    baresip = await asyncio.create_subprocess_exec(
        "baresip", "-f", str(conf), "-t", "60", "-e", f"/dial sip:voicebot@127.0.0.1:{sip_line.port}",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        call_id = await finished_call(sip_line, timeout=50)  # baresip hangs up when its file ends
    finally:
        baresip.terminate()  # it would otherwise idle until -t; SIGTERM closes its dumps cleanly
        out, _ = await asyncio.wait_for(baresip.communicate(), 15)
    text = out.decode(errors="replace")
    assert "Call established" in text, text[-2000:]

    record = await call_store.get_call(call_id)
    assert record is not None and record["caller_number"] == "48700800900"
    turns = await call_store.turns(call_id)
    caller = [t.text.lower() for t in turns if t.role == "caller"]
    assert any("order" in t for t in caller), caller
    assert sum(t.role == "bot" for t in turns) >= 2  # greeting + the answer

    assert voiced_seconds(baresip_heard(tmp_path)) > 3.0  # the bot's voice reached baresip


def baresip_heard(tmp: Path) -> np.ndarray:
    """baresip's sndfile dump of the audio it received."""
    heard = next(p for p in tmp.iterdir() if p.name.endswith("-dec.wav"))
    with wave.open(str(heard)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
