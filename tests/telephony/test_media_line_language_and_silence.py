"""Two line kinds besides SIP against a real `voicebot serve` (real models, real Redis): the number a Twilio caller
dialled (`To`) picks the call's language from `[languages] numbers`, and a silent AudioSocket caller is asked
again after `[dialog] no_input_secs` (the serve's default, 6 s), as on SIP (test_sip_no_input.py)."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from telephony.twilio_signature import signature
from tests.support.media_callers import AudioSocketCaller, TwilioCaller, rms_dbfs
from tests.support.media_server import TWILIO_TOKEN, ServeProcess, ended_call_record
from voicebot.config import Settings
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

NO_INPUT_S = Settings().dialog.no_input_secs  # what the serve runs with (no config override)


async def twilio_call_to(server: ServeProcess, http: aiohttp.ClientSession, dialled: str) -> TwilioCaller:
    """Twilio's side of a call to `dialled`: the signed voice webhook, then the media stream its TwiML names."""
    caller = TwilioCaller()
    form = {"From": caller.caller_number, "To": dialled, "CallSid": caller.call_sid}
    url = f"{server.base_url}/twilio/voice"
    async with http.post(url, data=form, headers={"X-Twilio-Signature": signature(url, form, TWILIO_TOKEN)}) as r:
        assert r.status == 200, await r.text()
        stream = ET.fromstring(await r.text()).find("./Connect/Stream")
    assert stream is not None
    parameters = {str(p.get("name")): str(p.get("value")) for p in stream.findall("Parameter")}
    await caller.connect(http, f"ws://127.0.0.1:{server.http_port}/twilio/media", TWILIO_TOKEN, parameters)
    return caller


@pytest.mark.parametrize(("dialled", "language", "greeting"), [
    ("+48221234567", "pl", "Dzień dobry"),  # "+4822" = "pl" in the serve's [languages] numbers
    ("+48612345678", "en", "Hello"),  # no prefix matches: dialog.default_language
])
async def test_the_twilio_to_number_picks_the_language(
        media_serve, media_store: CallStore, dialled: str, language: str, greeting: str) -> None:
    async with aiohttp.ClientSession() as http:
        caller = await twilio_call_to(media_serve, http, dialled)
        try:
            heard = await caller.wait_bot_quiet(quiet=1.0, timeout=60)
        finally:
            await caller.hangup()
    assert len(heard) / 16000 > 1.0 and rms_dbfs(heard) > -35, "the greeting is spoken audibly"
    record = await ended_call_record(media_store, caller.call_sid)
    assert record["channel"] == "twilio" and record["language"] == language, record
    bot = [t for t in await media_store.turns(caller.call_sid) if t.role == "bot"]
    assert bot and bot[0].text.startswith(greeting) and bot[0].language == language, [t.text for t in bot]


async def test_a_silent_audiosocket_caller_is_asked_again_after_the_no_input_time(
        media_serve, media_store: CallStore) -> None:
    caller = AudioSocketCaller()
    async with aiohttp.ClientSession() as http:  # the dialplan's CURL() before AudioSocket()
        async with http.post(f"{media_serve.base_url}/api/audiosocket/{caller.call_uuid}/caller",
                             data={"number": "+48600100200"}) as r:
            assert r.status == 200
    await caller.connect("127.0.0.1", media_serve.audiosocket_port)
    try:
        await caller.wait_bot_quiet(quiet=1.0, timeout=60)  # the greeting; then the caller sends only silence
        greeted_until = caller.audible_until
        deadline = time.monotonic() + NO_INPUT_S + 30
        while (again := caller.first_speech_after(greeted_until + 0.5)) is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert again is not None, "the silent caller was never asked again"
        await caller.wait_bot_quiet(quiet=1.0, timeout=60)  # the re-prompt heard out
    finally:
        await caller.hangup()
    # The configured silence, plus the time to start speaking (up to a few seconds on a busy shared machine).
    assert NO_INPUT_S - 0.3 < again - greeted_until < NO_INPUT_S + 5.0, again - greeted_until
    assert not caller.hangup_received, "asked again, not hung up on"
    turns = await media_store.turns(caller.call_uuid)
    said = [(t.role, t.text) for t in turns]
    assert ("caller", f"[silence {NO_INPUT_S:.0f} s]") in said, said
    reprompt = next(t for r, t in said if r == "bot" and t.startswith("Are you still there?"))
    assert "How can I help you today?" in reprompt, said
