"""The Twilio Media Streams line as the pipeline uses it (no speech models): a real websocket speaking Twilio's
JSON, real Redis, and a local aiohttp server standing in for Twilio's REST API.

Scripts drive the `CallMedia` methods the pipeline calls; full calls through the real pipeline are in
test_twilio_call.py.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable

import aiohttp
import numpy as np
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from telephony.twilio_rest import TwilioRest
from telephony.twilio_signature import signature, stream_token, stream_token_ok
from tests.support.env import always_staffed
from tests.support.media_callers import TwilioCaller, rms_dbfs
from tests.support.media_server import TWILIO_SID, TWILIO_TOKEN, FakeTwilioApi
from voicebot.app import create_app
from voicebot.config import Settings
from voicebot.drain import Drain
from voicebot.escalation.routing import Router
from voicebot.lines.leg_outcome import LegOutcome, LegOutcomes
from voicebot.lines.twilio import TwilioLine
from voicebot.lines.twilio_web import TwilioState, serve_stream
from voicebot.store.keys import Keys

Script = Callable[[TwilioLine], Awaitable[None]]


def tone(seconds: float) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).tobytes()


@pytest.fixture(scope="module")
def twilio_api():
    api = FakeTwilioApi()
    url = api.start()
    yield api, url
    api.stop()


@pytest.fixture
async def stream(redis_client: aioredis.Redis, redis_prefix: str, settings: Settings, twilio_api):
    """A websocket endpoint running `script` per stream, with or without Twilio credentials."""
    _, url = twilio_api
    opened: list[tuple[TestClient, aiohttp.ClientSession]] = []

    async def start(script: Script, credentials: bool = True, caller: TwilioCaller | None = None,
                    parameters: dict[str, str] | None = None) -> TwilioCaller:
        # Without REST credentials (no account SID) Twilio still signs with the auth token.
        cfg = settings.twilio.model_copy(update={
            "api_base_url": url, "transfer_target": "sip:agents@pbx.example.com", "auth_token": TWILIO_TOKEN,
            **({"account_sid": TWILIO_SID} if credentials else {}),
        })
        session = aiohttp.ClientSession()
        state = TwilioState(TwilioRest(cfg, session), LegOutcomes(redis_client, Keys(redis_prefix)))

        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await serve_stream(ws, state, script)
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_get("/twilio/media", handler)
        client = TestClient(TestServer(app))
        await client.start_server()
        opened.append((client, session))
        caller = caller or TwilioCaller()
        await caller.connect(client.session, str(client.make_url("/twilio/media")), TWILIO_TOKEN, parameters)
        return caller

    yield start
    for client, session in opened:
        await client.close()
        await session.close()


def with_twilio(settings: Settings, **twilio: str) -> Settings:
    """Twilio on, with the auth token every Twilio request is signed with (and anything else given)."""
    return settings.model_copy(update={"twilio": settings.twilio.model_copy(
        update={"enabled": True, "auth_token": TWILIO_TOKEN, **twilio})})


async def signed_post(http: TestClient, path: str, form: dict[str, str]) -> aiohttp.ClientResponse:
    """POST a webhook as Twilio does: signed over the URL it requested and the form."""
    url = str(http.make_url(path))
    return await http.post(path, data=form, headers={"X-Twilio-Signature": signature(url, form, TWILIO_TOKEN)})


def sid(prefix: str = "CA") -> str:
    return prefix + uuid.uuid4().hex


async def test_voice_webhook_answers_twiml_streaming_to_our_websocket_with_the_caller_number(settings) -> None:
    async with TestClient(TestServer(create_app(with_twilio(settings), load_models=False))) as http:
        form = {"From": "+48 600 100 200", "To": "+48221234567", "CallSid": sid()}
        url = "http://bot.example.com/twilio/voice"
        resp = await http.post("/twilio/voice", data=form, headers={
            "Host": "bot.example.com", "X-Twilio-Signature": signature(url, form, TWILIO_TOKEN)})
        assert resp.status == 200 and resp.content_type == "text/xml"
        stream = ET.fromstring(await resp.text()).find("./Connect/Stream")
        assert stream is not None and stream.get("url") == "wss://bot.example.com/twilio/media"
        params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        assert params["caller"] == "+48 600 100 200"
        assert stream_token_ok(TWILIO_TOKEN, form["CallSid"], params)  # the stream's start must bring it back
        assert ET.fromstring(await resp.text()).find("./Connect").get("action") == "/twilio/after-stream"
        # A Polish number's webhook: .../twilio/voice?language=pl
        resp = await signed_post(http, "/twilio/voice?language=pl", {"From": "+48600100200", "CallSid": sid()})
        stream = ET.fromstring(await resp.text()).find("./Connect/Stream")
        assert {p.get("name"): p.get("value") for p in stream.findall("Parameter")}["language"] == "pl"
        resp = await signed_post(http, "/twilio/voice?language=de", {"CallSid": sid()})
        assert resp.status == 400 and "language must be one of pl, en" in await resp.text()


async def test_after_the_stream_twilio_dials_the_human_line_unless_the_bot_ended_the_call(
    settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    outcomes = LegOutcomes(redis_client, Keys(redis_prefix))
    done, xfer, unknown = sid(), sid(), sid()
    await outcomes.record(done, LegOutcome("hangup", channel="twilio"))
    await outcomes.record(xfer, LegOutcome("transfer", handoff_id="HO-5", channel="twilio"))
    app = create_app(with_twilio(settings, transfer_target="sip:agents@pbx.example.com"), load_models=False)
    async with TestClient(TestServer(app)) as http:
        async def next_twiml(call_sid: str) -> ET.Element:
            resp = await signed_post(http, "/twilio/after-stream", {"CallSid": call_sid})
            assert resp.status == 200
            return ET.fromstring(await resp.text())

        assert (await next_twiml(done)).find("Hangup") is not None
        assert (await next_twiml(xfer)).findtext("./Dial/Sip") == (
            "sip:agents@pbx.example.com?X-Voicebot-Handoff=HO-5")
        # The bot left no word (it crashed): the caller still goes to a person.
        assert (await next_twiml(unknown)).findtext("./Dial/Sip") == "sip:agents@pbx.example.com"


async def test_with_the_bot_down_a_stream_is_handed_to_the_human_line(
    settings: Settings, twilio_api, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    api, url = twilio_api
    app = create_app(with_twilio(settings, api_base_url=url, account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN,
                                 transfer_target="sip:agents@pbx.example.com"), load_models=False)
    async with TestClient(TestServer(app)) as http:
        caller = TwilioCaller()
        ws_url = str(http.make_url("/twilio/media")).replace("http://", "ws://")  # what Twilio signs
        await caller.connect(http.session, ws_url, TWILIO_TOKEN)
        await asyncio.wait_for(caller.ended.wait(), 10)
        await caller.hangup()
    update = next(u for u in api.updates if u["call_sid"] == caller.call_sid)
    assert ET.fromstring(update["Twiml"]).findtext("./Dial/Sip") == "sip:agents@pbx.example.com"


async def test_wait_played_follows_twilios_mark_echo_and_hangup_ends_call_over_rest(
    stream, twilio_api, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    api, _ = twilio_api
    played_after: list[float] = []

    async def script(line: TwilioLine) -> None:
        t0 = time.monotonic()
        await line.play(tone(1.0))
        await line.wait_played()
        played_after.append(time.monotonic() - t0)
        await line.hangup()

    caller = await stream(script)
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()
    assert len(caller.bot_audio) == 16000 and rms_dbfs(bytes(caller.bot_audio)) > -20
    assert caller.marks_echoed and not caller.wrong_stream
    assert 0.9 <= played_after[0] < 2.0, "wait_played must last as long as Twilio plays the audio"
    assert {"call_sid": caller.call_sid, "Status": "completed"} in api.updates
    stored = await redis_client.hgetall(Keys(redis_prefix).line(caller.call_sid))
    assert stored["disposition"] == "hangup"


async def test_clear_is_sent_on_barge_in_and_releases_wait_played(stream) -> None:
    waited: list[float] = []

    async def script(line: TwilioLine) -> None:
        await line.play(tone(3.0))
        await asyncio.sleep(0.3)
        await line.clear()
        t0 = time.monotonic()
        await line.wait_played()
        waited.append(time.monotonic() - t0)
        await line.hangup()

    caller = await stream(script)
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()
    assert caller.clears == 1
    assert waited[0] < 0.5, f"wait_played took {waited[0]:.2f} s after clear"


async def test_transfer_redirects_the_call_to_dial_the_human_line_with_the_handoff_id(
    stream, twilio_api, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    api, _ = twilio_api
    results = []

    async def script(line: TwilioLine) -> None:
        async for event in line.events():
            if getattr(event, "digit", None) == "0":
                results.append(await line.transfer("HO-77"))
                return

    caller = await stream(script)
    await caller.dtmf("0")
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()
    assert results[0].ok, results[0].detail
    update = next(u for u in api.updates if u["call_sid"] == caller.call_sid)
    dial = ET.fromstring(update["Twiml"]).find("./Dial/Sip")
    assert dial is not None and dial.text == "sip:agents@pbx.example.com?X-Voicebot-Handoff=HO-77"
    stored = await redis_client.hgetall(Keys(redis_prefix).line(caller.call_sid))
    assert stored["handoff_id"] == "HO-77"


async def test_without_credentials_transfer_says_so_and_the_call_goes_on(stream, twilio_api) -> None:
    api, _ = twilio_api
    results = []

    async def script(line: TwilioLine) -> None:
        results.append(await line.transfer("HO-1"))
        await line.play(tone(0.5))  # the pipeline now offers a callback on the same stream
        await line.wait_played()
        await line.hangup()

    caller = await stream(script, credentials=False)
    await asyncio.wait_for(caller.ended.wait(), 10)
    await caller.hangup()
    assert not results[0].ok and "credentials" in results[0].detail
    assert len(caller.bot_audio) == 8000
    assert not [u for u in api.updates if u["call_sid"] == caller.call_sid]


async def test_with_an_auth_token_only_requests_signed_by_twilio_are_served(settings: Settings) -> None:
    app = create_app(with_twilio(settings, account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN), load_models=False)
    form = {"CallSid": sid(), "From": "+48600100200", "To": "+48221234567"}
    async with TestClient(TestServer(app)) as http:
        url = str(http.make_url("/twilio/voice"))
        # Twilio's scheme: HMAC-SHA1(auth token, URL + sorted name+value pairs), base64.
        mac = hmac.new(TWILIO_TOKEN.encode(), (url + "".join(k + form[k] for k in sorted(form))).encode(), "sha1")
        good = base64.b64encode(mac.digest()).decode()
        assert (await http.post("/twilio/voice", data=form)).status == 403
        assert (await http.post("/twilio/voice", data=form, headers={"X-Twilio-Signature": "forged"})).status == 403
        tampered = {**form, "From": "+1999"}
        assert (await http.post("/twilio/voice", data=tampered, headers={"X-Twilio-Signature": good})).status == 403
        resp = await http.post("/twilio/voice", data=form, headers={"X-Twilio-Signature": good})
        assert resp.status == 200 and "<Stream" in await resp.text()
        assert (await http.get("/twilio/media")).status == 403  # an unsigned websocket upgrade


def test_twilio_on_without_an_auth_token_refuses_to_start(tmp_path) -> None:
    from voicebot.config import ConfigError, load_settings

    assert not load_settings(tmp_path / "none.toml", {}).twilio.enabled  # off unless asked for
    with pytest.raises(ConfigError, match=r"twilio\.auth_token is required when twilio\.enabled = true"):
        load_settings(tmp_path / "none.toml", {"VOICEBOT_TWILIO_ENABLED": "true"})
    on = load_settings(tmp_path / "none.toml", {"VOICEBOT_TWILIO_ENABLED": "true",
                                                "VOICEBOT_TWILIO_AUTH_TOKEN": TWILIO_TOKEN})
    assert on.twilio.enabled


async def test_an_app_with_twilio_on_and_no_token_does_not_start(settings: Settings) -> None:
    open_twilio = settings.model_copy(update={"twilio": settings.twilio.model_copy(update={"enabled": True})})
    with pytest.raises(RuntimeError, match=r"twilio\.auth_token is empty"):
        async with TestClient(TestServer(create_app(open_twilio, load_models=False))):
            pass


async def test_every_twilio_webhook_needs_twilios_signature_and_a_real_call_sid(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(with_twilio(settings), load_models=False))) as http:
        assert (await http.post("/twilio/after-stream", data={"CallSid": sid()})).status == 403
        assert (await http.post("/twilio/voice", data={"CallSid": sid(), "From": "+1"})).status == 403
        for bad in ("", "CA1", "CA" + "0" * 31 + "\n", "a1b2c3d4e5f60718", "CA" + "0" * 33):
            resp = await signed_post(http, "/twilio/voice", {"CallSid": bad, "From": "+48600100200"})
            assert resp.status == 400 and "CallSid" in await resp.text(), bad
        # A 100,000-character caller number never reaches the stream parameters.
        resp = await signed_post(http, "/twilio/voice", {"CallSid": sid(), "From": "+4" * 50_000})
        params = {p.get("name"): p.get("value") for p in ET.fromstring(await resp.text()).iter("Parameter")}
        assert "caller" not in params and len(await resp.text()) < 1000


async def test_a_browser_cannot_open_the_media_stream(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(with_twilio(settings), load_models=False))) as http:
        url = str(http.make_url("/twilio/media")).replace("http://", "ws://")
        signed = {"X-Twilio-Signature": signature(url, {}, TWILIO_TOKEN)}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.session.ws_connect(url, headers=signed, origin="http://evil.example")
        assert refused.value.status == 403


@pytest.mark.parametrize("forgery", ["no token", "another call's token", "caller changed", "expired"])
async def test_a_start_the_voice_webhook_did_not_issue_is_refused(stream, forgery: str) -> None:
    ran: list[str] = []

    async def script(line: TwilioLine) -> None:
        ran.append(line.call_sid)

    caller = TwilioCaller()
    params = {"caller": caller.caller_number}
    if forgery == "another call's token":
        params["token"] = stream_token(TWILIO_TOKEN, sid(), params)
    elif forgery == "caller changed":
        params["token"] = stream_token(TWILIO_TOKEN, caller.call_sid, params)
        params["caller"] = "+48999999999"
    elif forgery == "expired":
        params["token"] = stream_token(TWILIO_TOKEN, caller.call_sid, params, now=time.time() - 600)
    await stream(script, caller=caller, parameters=params)
    await asyncio.wait_for(caller.ended.wait(), 5)  # the stream is closed
    await caller.hangup()
    assert ran == []


async def test_transfer_dials_the_line_of_the_callers_skill(stream, twilio_api, settings: Settings) -> None:
    api, _ = twilio_api
    data = settings.model_dump()
    data["escalation"]["lines"] = {"payments": {"twilio_target": "+48221234567"},
                                   "complaints": {"twilio_target": "sip:complaints@pbx.example.com"}}
    router = Router.from_settings(always_staffed(Settings.model_validate(data)))
    results = []

    async def script(line: TwilioLine) -> None:
        async for event in line.events():
            if getattr(event, "digit", None) in ("1", "2"):
                skill = "payments" if event.digit == "1" else "complaints"  # type: ignore[union-attr]
                route = await router.route(skill, "twilio", line.call_sid)
                results.append(await line.transfer(f"HO-{skill}", route.target))
                return

    calls = {}
    for digit in ("1", "2"):
        caller = await stream(script)
        await caller.dtmf(digit)
        await asyncio.wait_for(caller.ended.wait(), 10)
        await caller.hangup()
        calls[digit] = caller.call_sid
    assert all(r.ok for r in results), results
    twiml = {d: ET.fromstring(next(u for u in api.updates if u["call_sid"] == sid)["Twiml"])
             for d, sid in calls.items()}
    number = twiml["1"].find("./Dial/Number")
    assert number is not None and number.text == "+48221234567"
    sip = twiml["2"].find("./Dial/Sip")
    assert sip is not None
    assert sip.text == "sip:complaints@pbx.example.com;skill=complaints?X-Voicebot-Handoff=HO-complaints"


async def test_a_draining_worker_refuses_new_twilio_calls_and_streams_with_503(settings: Settings) -> None:
    drain = Drain("worker-1")
    app = create_app(with_twilio(settings, transfer_target="sip:agents@pbx.example.com"), load_models=False,
                     drain=drain)
    async with TestClient(TestServer(app)) as http:
        form = {"From": "+48600100200", "CallSid": sid()}
        assert (await signed_post(http, "/twilio/voice", form)).status == 200  # before the drain: served
        drain.draining = True
        refused = await signed_post(http, "/twilio/voice", {**form, "CallSid": sid()})
        # Like SIP's 503: Twilio moves on to the number's Fallback URL (another worker), never dead air here.
        assert refused.status == 503 and refused.headers["Retry-After"] == "30"
        assert "draining" in await refused.text()
        url = str(http.make_url("/twilio/media")).replace("http://", "ws://")
        with pytest.raises(aiohttp.WSServerHandshakeError) as no_stream:
            await http.session.ws_connect(url, headers={"X-Twilio-Signature": signature(url, {}, TWILIO_TOKEN)})
        assert no_stream.value.status == 503
        # A stream refused at the upgrade ends <Connect>; its action dials a person instead.
        after = await signed_post(http, "/twilio/after-stream", {"CallSid": form["CallSid"]})
        assert ET.fromstring(await after.text()).findtext("./Dial/Sip") == "sip:agents@pbx.example.com"
