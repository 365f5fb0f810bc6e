"""Broken input on every way in — SIP, RTP, AudioSocket, Twilio — never takes the server down.

Runs against a real `voicebot serve` (speech models, SIP, AudioSocket, Twilio endpoints). Each test
throws one kind of junk, then shows the same server still serves an ordinary call on that line.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from telephony.twilio_signature import signature
from tests.support.malformed_inputs import (
    audiosocket_garbage,
    rtp_garbage,
    sdp_offer,
    sip_mutations,
    sip_request,
    twilio_garbage,
)
from tests.support.media_callers import AudioSocketCaller, TwilioCaller, rms_dbfs
from tests.support.media_server import TWILIO_TOKEN, FakeTwilioApi, ServeProcess
from tests.support.media_sip_probe import ProbeCall, SipProbe, open_udp, status_of
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]


def assert_alive(server: ServeProcess) -> None:
    assert server.proc is not None and server.proc.poll() is None, f"server died:\n{server.log_text()[-3000:]}"


async def test_sip_survives_240_mutated_messages_and_garbage_rtp(media_serve: ServeProcess) -> None:
    sip = await open_udp()
    rtp = await open_udp()
    probe = SipProbe(media_serve.sip_port, sip)
    try:
        seeds = [
            sip_request("INVITE", "127.0.0.1", media_serve.sip_port, "fuzz-invite", sdp_offer(rtp.port),
                        local_port=sip.port),
            sip_request("OPTIONS", "127.0.0.1", media_serve.sip_port, "fuzz-options", local_port=sip.port),
            sip_request("BYE", "127.0.0.1", media_serve.sip_port, "fuzz-bye", local_port=sip.port),
            sip_request("REGISTER", "127.0.0.1", media_serve.sip_port, "fuzz-register", local_port=sip.port),
        ]
        mutations = list(sip_mutations(seeds, count=240))
        assert len(mutations) >= 240
        for n, (_, data) in enumerate(mutations):
            probe.send(data)
            if n % 10 == 9:
                await asyncio.sleep(0.05)
                probe.end_accepted_calls()
        # Let the answers come in (the machine may be busy with other calls): until quiet for 1 s.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            before = sum(probe.statuses.values())
            await asyncio.sleep(1.0)
            probe.end_accepted_calls()
            if sum(probe.statuses.values()) == before:
                break
        assert_alive(media_serve)
        # The junk reached the user agent: it answered what it could address (400 for the broken ones)
        # and silently dropped the rest.
        assert sum(probe.statuses.values()) >= 50 and probe.statuses[400] >= 10, probe.statuses

        options = await probe.request("OPTIONS", "after-fuzz")
        assert status_of(options)[0] == 200, "the user agent still answers"

        call = ProbeCall(probe, rtp)
        await call.start()
        greeting = await call.hear_speech(seconds=1.0, timeout=30)
        assert len(greeting) >= 16000, "an ordinary call after the junk hears the bot's greeting"
        for seq, (_, junk) in enumerate(rtp_garbage(60)):
            call.send_rtp(junk)
            call.send_rtp(call.silence_packet(seq))
            await asyncio.sleep(0.005)
        packets_after, _ = await call.listen(1.5)
        assert packets_after > 40, "the bot keeps sending real-time RTP after garbage packets"
        assert await call.bye() == 200
        assert_alive(media_serve)
    finally:
        sip.close()
        rtp.close()


async def _send_and_wait_close(port: int, data: bytes, timeout: float = 3.0) -> bool:
    """Send raw bytes on a fresh AudioSocket connection; True once the server has closed it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        for half_close in (False, True):
            if half_close:  # some junk only ends when the peer's stream does (e.g. a length that lies)
                with contextlib.suppress(OSError):
                    writer.write_eof()
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), left)
                except TimeoutError:
                    break
                except ConnectionError:
                    return True
                if not chunk:
                    return True
        return False
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def test_audiosocket_survives_frames_asterisk_never_sends(media_serve: ServeProcess) -> None:
    for name, data in audiosocket_garbage():
        assert await _send_and_wait_close(media_serve.audiosocket_port, data), f"{name}: connection left hanging"
    # Junk that starts with a valid UUID ended that leg without a "hang up" word: the dialplan queues
    # the caller for a person rather than dropping them.
    assert_alive(media_serve)

    caller = AudioSocketCaller()
    await caller.connect("127.0.0.1", media_serve.audiosocket_port)
    try:
        greeting = await caller.wait_bot_quiet(quiet=1.0, timeout=60)
        assert rms_dbfs(greeting) > -35
        await caller.dtmf("0")
        await asyncio.wait_for(caller.ended.wait(), 60)
    finally:
        await caller.hangup()
    assert caller.hangup_received
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{media_serve.base_url}/api/audiosocket/{caller.call_uuid}/handoff") as r:
            assert r.status == 200 and await r.text()


async def test_twilio_stream_ignores_bad_messages_and_the_call_goes_on(
    media_serve: ServeProcess, media_twilio_api: FakeTwilioApi, media_store: CallStore
) -> None:
    async with aiohttp.ClientSession() as http:
        # A stream that is nothing but junk and is then dropped must not disturb anything.
        url = f"ws://127.0.0.1:{media_serve.http_port}/twilio/media"
        ws = await http.ws_connect(url, headers={"X-Twilio-Signature": signature(url, {}, TWILIO_TOKEN)})
        for _, junk in twilio_garbage("MZjunk"):
            await (ws.send_bytes(junk) if isinstance(junk, bytes) else ws.send_str(junk))
        await ws.close()

        caller = TwilioCaller()
        await caller.connect(http, f"ws://127.0.0.1:{media_serve.http_port}/twilio/media", TWILIO_TOKEN)
        try:
            greeting = await caller.wait_bot_quiet(quiet=1.0, timeout=60)
            assert rms_dbfs(greeting) > -35
            for _, junk in twilio_garbage(caller.stream_sid):
                await (caller.ws.send_bytes(junk) if isinstance(junk, bytes) else caller.send_raw(junk))
            await caller.dtmf("0")  # the same stream still reaches the dialog
            await asyncio.wait_for(caller.ended.wait(), 60)
        finally:
            await caller.hangup()
    update = next((u for u in media_twilio_api.updates if u["call_sid"] == caller.call_sid), None)
    assert update is not None, "the call survived the junk and was transferred"
    assert "X-Voicebot-Handoff=" in (ET.fromstring(update["Twiml"]).findtext("./Dial/Sip") or "")
    turns = await media_store.turns(caller.call_sid)
    assert any("DTMF 0" in t.text for t in turns)
    assert_alive(media_serve)


def test_server_log_has_no_unhandled_errors(media_serve: ServeProcess) -> None:
    """Junk is logged as junk; nothing escapes as an unhandled task exception."""
    log = media_serve.log_text()
    assert "Task exception was never retrieved" not in log
    assert "Unhandled exception" not in log
    with socket.create_connection(("127.0.0.1", media_serve.http_port), timeout=2):
        pass
