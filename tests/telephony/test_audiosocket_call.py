"""Full calls over Asterisk AudioSocket against a real `voicebot serve` (real models, real Redis).

The test plays Asterisk: it connects, sends the call UUID, streams 8 kHz caller speech synthesized with
piper in real-time 20 ms frames, and presses keys — then does what our documented dialplan does after
AudioSocket() returns: asks GET /api/audiosocket/{uuid}/next and .../handoff.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.support.media_callers import AudioSocketCaller, rms_dbfs
from tests.support.media_server import ServeProcess, ended_call_record, synth_8k
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]


async def dial(server: ServeProcess, caller_number: str = "+48600100200") -> AudioSocketCaller:
    caller = AudioSocketCaller()
    async with aiohttp.ClientSession() as http:  # the dialplan's CURL() before AudioSocket()
        url = f"{server.base_url}/api/audiosocket/{caller.call_uuid}/caller"
        async with http.post(url, data={"number": caller_number}) as r:
            assert r.status == 200
    await caller.connect("127.0.0.1", server.audiosocket_port)
    greeting = await caller.wait_bot_quiet(quiet=1.0, timeout=60)
    assert len(greeting) / 16000 > 1.0 and rms_dbfs(greeting) > -35, "the bot greets the caller audibly"
    return caller


async def dialplan_asks(server: ServeProcess, call_uuid: str) -> tuple[str, int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}/api/audiosocket/{call_uuid}/next") as r:
            next_step = await r.text()
        async with http.get(f"{server.base_url}/api/audiosocket/{call_uuid}/handoff") as r:
            return next_step, r.status, await r.text()


async def test_a_spoken_question_gets_a_spoken_answer(media_serve, media_voice, media_store: CallStore) -> None:
    caller = await dial(media_serve)
    try:
        heard = len(caller.bot_audio)
        await caller.say(synth_8k(media_voice, "What are your opening hours?"), trailing_silence=0.5)
        answer = await caller.wait_bot_quiet(quiet=1.2, timeout=60, heard_from=heard)
    finally:
        await caller.hangup()
    assert len(answer) / 16000 > 1.5, "the answer is spoken, not a blip"
    assert rms_dbfs(answer) > -35, "the answer is audible"
    turns = await media_store.turns(caller.call_uuid)
    said = [t.text.lower() for t in turns if t.role == "caller"]
    assert any("hours" in s for s in said), said
    assert any(t.intent == "opening_hours" for t in turns if t.role == "bot"), [t.text for t in turns]
    record = await media_store.get_call(caller.call_uuid)
    assert record and record["channel"] == "audiosocket" and record["caller_number"] == "+48600100200"


async def test_pressing_zero_reaches_the_dialog_and_hands_over_with_the_handoff_id(
    media_serve, media_store: CallStore
) -> None:
    caller = await dial(media_serve)
    try:
        await caller.dtmf("0")
        await caller.wait_bot_quiet(quiet=0.5, timeout=60, heard_from=len(caller.bot_audio))
        await _wait_for_hangup(caller)
    finally:
        await caller.hangup()
    assert caller.hangup_received, "the bot closes the AudioSocket leg so the dialplan goes on to the queue"
    turns = await media_store.turns(caller.call_uuid)
    assert any(t.role == "caller" and "DTMF 0" in t.text for t in turns)
    assert any(t.role == "bot" and t.action == "transfer" for t in turns)
    await _assert_dialplan_gets_handoff(media_serve, media_store, caller.call_uuid)


async def test_asking_for_a_person_hands_over_with_the_handoff_id(
    media_serve, media_voice, media_store: CallStore
) -> None:
    caller = await dial(media_serve)
    try:
        await caller.say(synth_8k(media_voice, "I want to talk to a person."), trailing_silence=0.5)
        await _wait_for_hangup(caller)
    finally:
        await caller.hangup()
    assert caller.hangup_received
    turns = await media_store.turns(caller.call_uuid)
    transfer = [t for t in turns if t.role == "bot" and t.action == "transfer"]
    assert transfer and transfer[-1].reason == "explicit_request", [(t.text, t.reason) for t in turns]
    await _assert_dialplan_gets_handoff(media_serve, media_store, caller.call_uuid)


async def _wait_for_hangup(caller: AudioSocketCaller, timeout: float = 60) -> None:
    await asyncio.wait_for(caller.ended.wait(), timeout)



async def _assert_dialplan_gets_handoff(server: ServeProcess, media_store: CallStore, call_uuid: str) -> None:
    next_step, status, handoff_id = await dialplan_asks(server, call_uuid)
    assert next_step == "queue"
    record = await ended_call_record(media_store, call_uuid)
    assert record.get("outcome") == "transferred", record
    assert status == 200 and handoff_id, "the dialplan can fetch the handoff id for the agent"
    assert record.get("handoff_id") == handoff_id
    package = await media_store.client.get(media_store.keys.handoff(handoff_id))
    assert package and call_uuid in package, "the handoff package the agent screen-pops is in Redis"
