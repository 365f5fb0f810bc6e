"""The AudioSocket line as the pipeline uses it (no speech models): real TCP, real Redis, real HTTP endpoints.

The "call" here is a short script driving the `CallMedia` methods the pipeline calls; the far end is
the Asterisk-like client from media_callers.py. Full calls through the real pipeline are in
test_audiosocket_call.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from telephony.audiosocket_frames import uuid_frame
from tests.support.media_callers import AudioSocketCaller, rms_dbfs
from tests.support.ports import free_port
from voicebot.app import create_app
from voicebot.appkeys import AUDIOSOCKET
from voicebot.config import Settings
from voicebot.dialog.types import CallInfo
from voicebot.drain import Drain
from voicebot.lines.audiosocket import AudioSocketServer
from voicebot.lines.leg_outcome import LegAnnouncement, LegOutcome, LegOutcomes
from voicebot.pipeline.media import CallMedia, DtmfIn, HangupIn
from voicebot.store.connection import connect
from voicebot.store.keys import Keys


def tone(seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16).tobytes()


Script = Callable[[CallMedia, CallInfo], Awaitable[object]]


@pytest.fixture
async def serve(redis_client: aioredis.Redis, redis_prefix: str, settings: Settings):
    """Start an AudioSocket server running `script` per call, and the HTTP app the dialplan talks to."""
    started: list[tuple[AudioSocketServer, TestClient]] = []

    async def start(script: Script, allowed_peers: tuple[str, ...] = ("127.0.0.1/8",),
                    draining: Callable[[], bool] = lambda: False) -> tuple[AudioSocketServer, TestClient]:
        server = AudioSocketServer("127.0.0.1", 0, script, LegOutcomes(redis_client, Keys(redis_prefix)),
                                   uuid_timeout=1.0, idle_timeout=2.0, allowed_peers=allowed_peers,
                                   draining=draining)
        await server.start()
        cfg = settings.audiosocket.model_copy(update={"allowed_peers": allowed_peers})
        app = create_app(settings.model_copy(update={"audiosocket": cfg}), load_models=False)
        app[AUDIOSOCKET] = server
        client = TestClient(TestServer(app))
        await client.start_server()
        started.append((server, client))
        return server, client

    yield start
    for server, client in started:
        await client.close()
        await server.close()


async def connected(server: AudioSocketServer) -> AudioSocketCaller:
    caller = AudioSocketCaller()
    await caller.connect("127.0.0.1", server.port)
    return caller


async def test_bot_audio_is_paced_in_real_time_20ms_frames_then_hangup_tells_dialplan_to_hang_up(serve) -> None:
    async def script(media: CallMedia, info: CallInfo) -> None:
        assert info.channel == "audiosocket"
        await media.play(tone(1.0))
        await media.wait_played()
        await media.hangup()

    server, http = await serve(script)
    caller = await connected(server)
    t0 = time.monotonic()
    await asyncio.wait_for(caller.ended.wait(), 10)
    elapsed = time.monotonic() - t0
    await caller.hangup()

    assert len(caller.bot_audio) == 16000  # 1 s, every byte delivered
    assert rms_dbfs(bytes(caller.bot_audio)) > -20
    assert 0.9 <= elapsed < 2.0, f"1 s of audio took {elapsed:.2f} s: not real-time pacing"
    assert caller.hangup_received
    assert await (await http.get(f"/api/audiosocket/{caller.call_uuid}/next")).text() == "hangup"
    assert (await http.get(f"/api/audiosocket/{caller.call_uuid}/handoff")).status == 404


async def test_transfer_closes_the_leg_and_the_dialplan_gets_the_handoff_id(
    serve, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    digits: list[str] = []

    async def script(media: CallMedia, info: CallInfo) -> None:
        async for event in media.events():
            if isinstance(event, DtmfIn):
                digits.append(event.digit)
                if event.digit == "#":
                    result = await media.transfer("HO-42")
                    assert result.ok, result.detail
                    return

    server, http = await serve(script)
    caller = await connected(server)
    for d in "12#":
        await caller.dtmf(d)
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()

    assert digits == ["1", "2", "#"]
    assert caller.hangup_received
    stored = await redis_client.hgetall(Keys(redis_prefix).line(caller.call_uuid))
    assert stored["disposition"] == "transfer" and stored["handoff_id"] == "HO-42"
    assert await (await http.get(f"/api/audiosocket/{caller.call_uuid}/next")).text() == "queue"
    resp = await http.get(f"/api/audiosocket/{caller.call_uuid}/handoff")
    assert (resp.status, await resp.text()) == (200, "HO-42")


async def test_clear_drops_queued_bot_audio_at_once(serve) -> None:
    async def script(media: CallMedia, info: CallInfo) -> None:
        await media.play(tone(3.0))
        await asyncio.sleep(0.3)
        await media.clear()
        await media.wait_played()
        await asyncio.sleep(0.5)
        await media.hangup()

    server, _ = await serve(script)
    caller = await connected(server)
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()
    heard = len(caller.bot_audio) / 16000
    assert 0.2 <= heard <= 0.6, f"heard {heard:.2f} s of a 3 s prompt cleared after 0.3 s"


async def test_caller_hangup_reaches_the_pipeline_and_unknown_calls_go_to_the_queue(serve) -> None:
    seen: list[object] = []

    async def script(media: CallMedia, info: CallInfo) -> None:
        async for event in media.events():
            if not isinstance(event, DtmfIn | HangupIn):
                continue
            seen.append(event)

    server, http = await serve(script)
    caller = await connected(server)
    await caller.dtmf("5")
    await asyncio.sleep(0.2)
    await caller.hangup()
    for _ in range(50):
        if seen and isinstance(seen[-1], HangupIn):
            break
        await asyncio.sleep(0.05)
    assert seen == [DtmfIn("5"), HangupIn("caller hung up")]
    # A call the bot knows nothing about (crashed, Redis lost it): the dialplan must queue the caller.
    assert await (await http.get(f"/api/audiosocket/{uuid.uuid4()}/next")).text() == "queue"
    bad = await http.get("/api/audiosocket/not-a-uuid/next")
    assert bad.status == 400 and "not a UUID" in await bad.text()


async def test_the_caller_number_and_language_announced_by_the_dialplan_reach_the_call(serve) -> None:
    infos: list[CallInfo] = []

    async def script(media: CallMedia, info: CallInfo) -> None:
        infos.append(info)
        await media.hangup()

    server, http = await serve(script)
    caller = AudioSocketCaller()
    resp = await http.post(f"/api/audiosocket/{caller.call_uuid}/caller",
                           data={"number": "+48600100200", "language": "pl"})
    assert resp.status == 200
    await caller.connect("127.0.0.1", server.port)
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()
    assert infos[0].caller_number == "+48600100200" and infos[0].call_id == caller.call_uuid
    assert infos[0].language == "pl"

    bad = await http.post(f"/api/audiosocket/{caller.call_uuid}/caller", data={"number": "1; DROP TABLE"})
    assert bad.status == 400 and "number must be" in await bad.text()
    bad = await http.post(f"/api/audiosocket/{caller.call_uuid}/caller", data={"number": "100", "language": "xx"})
    assert bad.status == 400 and "language must be one of pl, en" in await bad.text()


async def test_only_the_configured_asterisk_hosts_may_connect_or_ask(serve) -> None:
    calls: list[CallInfo] = []

    async def script(media: CallMedia, info: CallInfo) -> None:
        calls.append(info)

    server, http = await serve(script, allowed_peers=("10.1.2.0/24",))
    caller = AudioSocketCaller()
    await caller.connect("127.0.0.1", server.port)
    await asyncio.wait_for(caller.ended.wait(), 5)  # dropped at once
    await caller.hangup()
    assert calls == [] and server.rejected == 1
    resp = await http.get(f"/api/audiosocket/{caller.call_uuid}/next")
    assert resp.status == 403 and "audiosocket.allowed_peers" in await resp.text()


async def test_a_silent_link_ends_the_call_after_the_idle_timeout(serve) -> None:
    ended: list[HangupIn] = []

    async def script(media: CallMedia, info: CallInfo) -> None:
        async for event in media.events():
            if isinstance(event, HangupIn):
                ended.append(event)

    server, _ = await serve(script)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(uuid_frame(str(uuid.uuid4())))  # then nothing: Asterisk would send audio every 20 ms
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 6) == b""  # the server gives up on the dead link
    writer.close()
    assert ended and "no data from Asterisk" in ended[0].reason


async def test_calls_over_the_limit_are_left_to_the_dialplan_queue(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    release = asyncio.Event()

    async def script(media: CallMedia, info: CallInfo) -> None:
        await release.wait()

    server = AudioSocketServer("127.0.0.1", 0, script, LegOutcomes(redis_client, Keys(redis_prefix)), max_calls=1)
    await server.start()
    try:
        first, second = AudioSocketCaller(), AudioSocketCaller()
        await first.connect("127.0.0.1", server.port)
        await asyncio.sleep(0.2)
        await second.connect("127.0.0.1", server.port)
        await asyncio.wait_for(second.ended.wait(), 5)
        assert second.hangup_received and not first.ended.is_set()
        # No outcome recorded for the refused call: the dialplan's /next answers "queue".
        assert await server.outcomes.get(second.call_uuid) is None
        release.set()
        await first.hangup()
        await second.hangup()
    finally:
        await server.close()


async def test_with_redis_down_the_dialplan_still_gets_the_handoff_id_from_this_process() -> None:
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    outcomes = LegOutcomes(dead, Keys("test:dead:"))
    try:
        stored = await outcomes.record("call-1", LegOutcome("transfer", handoff_id="HO-9"))
        assert stored is False
        got = await outcomes.get("call-1")
        assert got is not None and got.handoff_id == "HO-9" and got.disposition == "transfer"
        assert await outcomes.announcement("call-1") == LegAnnouncement()  # no details, no stall
    finally:
        await dead.aclose()


async def test_a_draining_worker_refuses_new_calls_and_the_dialplan_queues_them_to_a_person(serve) -> None:
    ran: list[str] = []

    async def script(media: CallMedia, info: CallInfo) -> None:
        ran.append(info.call_id)

    drain = Drain("worker-1")
    drain.draining = True  # SIGTERM: voicebot/drain.py; audiosocket_ctx wires it the same way
    server, http = await serve(script, draining=lambda: drain.draining)
    caller = await connected(server)
    await asyncio.wait_for(caller.ended.wait(), 5)
    # Refused at once with a hang-up frame (not silence), the bot never ran, and the dialplan queues the caller.
    assert caller.hangup_received and ran == []
    assert await (await http.get(f"/api/audiosocket/{caller.call_uuid}/next")).text() == "queue"
    outcome = await server.outcomes.get(caller.call_uuid)
    assert outcome is not None and "draining" in outcome.detail
    await caller.hangup()
