"""Full calls over Twilio Media Streams against a real `voicebot serve` (real models, real Redis).

The test plays Twilio: it opens /twilio/media, sends connected/start (with the caller number as a stream
parameter), streams μ-law 8 kHz caller speech synthesized with piper as base64 media events in real
time, sends DTMF, plays the bot's audio on a real-time clock and echoes marks. Twilio's REST API is the
local stand-in started by the fixtures, so the transfer request the bot makes can be inspected.
"""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from tests.support.media_callers import TwilioCaller, rms_dbfs
from tests.support.media_server import TWILIO_TOKEN, FakeTwilioApi, ServeProcess, ended_call_record, synth_8k
from voicebot.store.callbacks import CallbackStore
from voicebot.store.calls import CallStore, TurnRecord

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def dial(server: ServeProcess, http: aiohttp.ClientSession) -> TwilioCaller:
    caller = TwilioCaller()
    await caller.connect(http, f"ws://127.0.0.1:{server.http_port}/twilio/media", TWILIO_TOKEN)
    greeting = await caller.wait_bot_quiet(quiet=1.0, timeout=60)
    assert len(greeting) / 16000 > 1.0 and rms_dbfs(greeting) > -35, "the bot greets the caller audibly"
    return caller


async def test_a_spoken_question_gets_a_spoken_answer(media_serve, media_voice, http, media_store: CallStore) -> None:
    caller = await dial(media_serve, http)
    try:
        heard = len(caller.bot_audio)
        await caller.say(synth_8k(media_voice, "What are your opening hours?"), trailing_silence=0.5)
        answer = await caller.wait_bot_quiet(quiet=1.2, timeout=60, heard_from=heard)
    finally:
        await caller.hangup()
    assert len(answer) / 16000 > 1.5 and rms_dbfs(answer) > -35, "the answer is spoken and audible"
    assert caller.marks_echoed, "the bot marks the end of what it says"
    assert not caller.wrong_stream
    turns = await media_store.turns(caller.call_sid)
    assert any("hours" in t.text.lower() for t in turns if t.role == "caller"), [t.text for t in turns]
    assert any(t.intent == "opening_hours" for t in turns if t.role == "bot")
    record = await media_store.get_call(caller.call_sid)
    assert record and record["channel"] == "twilio" and record["caller_number"] == caller.caller_number


async def test_pressing_zero_transfers_the_call_over_rest_with_the_handoff_id(
    media_serve, media_twilio_api: FakeTwilioApi, http, media_store: CallStore
) -> None:
    caller = await dial(media_serve, http)
    try:
        await caller.dtmf("0")
        await asyncio.wait_for(caller.ended.wait(), 60)  # Twilio runs the <Dial>: the bot closes the stream
    finally:
        await caller.hangup()
    turns = await media_store.turns(caller.call_sid)
    assert any(t.role == "caller" and "DTMF 0" in t.text for t in turns), "the key press reached the dialog"
    update = next((u for u in media_twilio_api.updates if u["call_sid"] == caller.call_sid), None)
    assert update is not None, "the bot asked Twilio to redirect the call"
    sip = ET.fromstring(update["Twiml"]).find("./Dial/Sip")
    assert sip is not None and sip.text is not None
    assert sip.text.startswith("sip:agents@pbx.example.com?X-Voicebot-Handoff=")
    handoff_id = sip.text.split("X-Voicebot-Handoff=", 1)[1]
    record = await ended_call_record(media_store, caller.call_sid)
    assert record["outcome"] == "transferred" and record["handoff_id"] == handoff_id
    package = await media_store.client.get(media_store.keys.handoff(handoff_id))
    assert package and caller.call_sid in package, "the handoff package the agent screen-pops is in Redis"


async def test_asking_for_a_person_transfers_with_the_handoff_id(
    media_serve, media_voice, media_twilio_api: FakeTwilioApi, http, media_store: CallStore
) -> None:
    caller = await dial(media_serve, http)
    try:
        await caller.say(synth_8k(media_voice, "I want to talk to a person."), trailing_silence=0.5)
        await asyncio.wait_for(caller.ended.wait(), 60)
    finally:
        await caller.hangup()
    record = await ended_call_record(media_store, caller.call_sid)
    assert record["outcome"] == "transferred" and record["transfer_reason"] == "explicit_request", record
    update = next((u for u in media_twilio_api.updates if u["call_sid"] == caller.call_sid), None)
    assert update is not None
    sip = ET.fromstring(update["Twiml"]).findtext("./Dial/Sip") or ""
    assert sip == f"sip:agents@pbx.example.com?X-Voicebot-Handoff={record['handoff_id']}" and record["handoff_id"]


async def test_a_redirect_twilio_refuses_ends_with_a_spoken_callback_booking(
    media_serve, media_twilio_api: FakeTwilioApi, http, media_store: CallStore
) -> None:
    caller = await dial(media_serve, http)
    media_twilio_api.refuse.add(caller.call_sid)
    try:
        heard = len(caller.bot_audio)
        await caller.dtmf("0")
        await asyncio.wait_for(caller.ended.wait(), 60)  # the bot closes the stream once it has said goodbye
        after_zero = bytes(caller.bot_audio[heard:])
    finally:
        await caller.hangup()
    assert [r["call_sid"] for r in media_twilio_api.refused][:1] == [caller.call_sid], "the bot tried to redirect"
    assert not [u for u in media_twilio_api.updates if u["call_sid"] == caller.call_sid]
    record = await ended_call_record(media_store, caller.call_sid)
    assert record["outcome"] == "callback", record
    assert "HTTP 400" in record["transfer_failure"]
    # "Connecting you" and then the callback booking were both spoken (several seconds of audible speech).
    assert len(after_zero) / 16000 > 5.0 and rms_dbfs(after_zero) > -35
    turns = await media_store.turns(caller.call_sid)
    assert "as soon as possible" in [t for t in turns if t.role == "bot"][-1].text
    request = await CallbackStore(media_store.client, media_store.keys).get(record["callback_id"])
    assert request is not None and request.number == caller.caller_number and request.reason == "transfer_failed"
    # Twilio's <Connect action> will hang up, not dial the human line.
    line = await media_store.client.hgetall(media_store.keys.line(caller.call_sid))
    assert line.get("disposition") == "hangup", line


async def test_speaking_over_the_bot_clears_twilios_audio_buffer(media_serve, media_voice, http) -> None:
    caller = TwilioCaller()
    await caller.connect(http, f"ws://127.0.0.1:{media_serve.http_port}/twilio/media", TWILIO_TOKEN)
    try:
        deadline = time.monotonic() + 60
        while len(caller.bot_audio) < 16000 and time.monotonic() < deadline:  # noqa: ASYNC110 - greeting under way
            await asyncio.sleep(0.05)
        await caller.say(synth_8k(media_voice, "Sorry, I need to return a kettle I bought last week."))
        for _ in range(100):
            if caller.clears:
                break
            await asyncio.sleep(0.05)
    finally:
        await caller.hangup()
    assert caller.clears >= 1, "barge-in must flush the audio Twilio has queued"


async def test_a_stream_naming_an_existing_call_never_touches_its_record(
    media_serve, http, media_store: CallStore
) -> None:
    """A start whose callSid is an existing call's id (a SIP call, an old Twilio call) gets its own record."""
    caller = TwilioCaller()
    await media_store.start_call(caller.call_sid, caller_number="+48500100200", channel="sip", language="pl")
    await media_store.add_turn(caller.call_sid, TurnRecord(role="caller", text="gdzie jest paczka"))
    await media_store.end_call(caller.call_sid, "transferred", handoff_id="h-sip", transfer_reason="frustration")
    before = await media_store.get_call(caller.call_sid)

    await caller.connect(http, f"ws://127.0.0.1:{media_serve.http_port}/twilio/media", TWILIO_TOKEN)
    try:
        await caller.wait_bot_quiet(quiet=1.0, timeout=60)  # the caller is served all the same
    finally:
        await caller.hangup()
    await asyncio.sleep(1.0)
    assert await media_store.get_call(caller.call_sid) == before
    assert [t.text for t in await media_store.turns(caller.call_sid)] == ["gdzie jest paczka"]
    [own] = [c for c in await media_store.recent_call_ids() if c.startswith(caller.call_sid + "-")]
    record = await ended_call_record(media_store, own)
    assert record["channel"] == "twilio" and record["caller_number"] == caller.caller_number
    assert any(t.role == "bot" for t in await media_store.turns(own))
