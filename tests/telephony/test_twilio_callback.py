"""A callback for a caller who came in over Twilio is placed through Twilio's REST API.

Twilio is a third party we cannot run, so a local aiohttp server plays it: it checks the Calls.json request
(Basic auth with the account's SID and token, To / From / Url / StatusCallback), then behaves as Twilio
would. The first attempt finds the line busy (StatusCallback busy: the retry policy); the second is answered:
Twilio fetches our voice webhook, opens the media stream with the webhook's parameters as Twilio does, the
customer hears the bot say who is calling and why, presses 1, and the bot redirects the call over REST to
the human line with the ORIGINAL handoff id. A voicemail box's greeting (espeak-ng) gets a hang-up and a retry.
"""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from telephony.twilio_signature import signature
from tests.support.env import always_staffed
from tests.support.media_callers import TwilioCaller, rms_dbfs
from tests.support.media_server import TWILIO_SID, TWILIO_TOKEN
from tests.support.ports import free_port
from tests.support.sip_helpers import espeak_ulaw, ulaw_to_pcm, voiced_seconds
from voicebot.app import create_app
from voicebot.appkeys import CALL_SERVICES, TWILIO
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.escalation.handoff import handoff_writer
from voicebot.lines.callback_dialer import CallbackDialer
from voicebot.lines.twilio_callbacks import TwilioCallbacks, can_place
from voicebot.pipeline.services import CallServices
from voicebot.store.callbacks import CallbackRequest
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.slow]

OUR_NUMBER = "+48221234567"
VOICEMAIL_GREETING = ("Hi, you have reached the voicemail of Anna Smith. I cannot take your call right now, "
                      "please leave your name and number after the tone.")


@dataclass
class TwilioStandIn:
    """Twilio's REST API and its side of a call: busy for the first call placed, answered afterwards."""

    http: aiohttp.ClientSession
    answers: list[str]  # per call placed: "busy", "person" (presses 1 after the bot) or "machine" (a greeting)
    greeting: bytes = b""  # what the machine says (16-bit 8 kHz)
    placed: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)  # call redirects (the transfer)
    callers: list[TwilioCaller] = field(default_factory=list)
    heard_before_key: list[bytes] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", self._create)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls/{call}.json", self._update)
        return app

    @staticmethod
    def _authorized(request: web.Request) -> bool:
        auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        return (auth.login, auth.password) == (TWILIO_SID, TWILIO_TOKEN) and request.match_info["sid"] == TWILIO_SID

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not all(form.get(k) for k in ("To", "From", "Url", "StatusCallback")):
            return web.json_response({"code": 21201, "message": "missing parameter"}, status=400)
        call_sid = "CA" + uuid.uuid4().hex
        self.placed.append({"sid": call_sid, **form})
        answer = self.answers[len(self.placed) - 1]
        self.tasks.append(asyncio.create_task(self._call(call_sid, form, answer)))
        return web.json_response({"sid": call_sid, "status": "queued"}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        self.updates.append({"call_sid": request.match_info["call"], **dict(await request.post())})
        return web.json_response({"sid": request.match_info["call"], "status": "in-progress"})

    async def _signed_post(self, url: str, form: dict[str, str]) -> str:
        async with self.http.post(url, data=form, headers={
                "X-Twilio-Signature": signature(url, form, TWILIO_TOKEN)}) as resp:
            assert resp.status in (200, 204), (url, resp.status, await resp.text())
            return await resp.text()

    async def _call(self, call_sid: str, form: dict[str, str], answer: str) -> None:
        status = {"CallSid": call_sid, "From": form["From"], "To": form["To"], "AccountSid": TWILIO_SID}
        await self._signed_post(form["StatusCallback"], {**status, "CallStatus": "ringing"})
        if answer == "busy":
            await self._signed_post(form["StatusCallback"], {**status, "CallStatus": "busy"})
            return
        twiml = ET.fromstring(await self._signed_post(form["Url"], {**status, "CallStatus": "in-progress"}))
        stream = twiml.find("./Connect/Stream")
        assert stream is not None, ET.tostring(twiml)
        params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        caller = TwilioCaller(call_sid=call_sid, caller_number=form["To"])
        self.callers.append(caller)
        await caller.connect(self.http, stream.get("url", ""), TWILIO_TOKEN, params)
        try:
            if answer == "machine":
                await caller.say(self.greeting)
                await asyncio.wait_for(caller.ended.wait(), 30)  # the bot hangs up on the tape
            else:
                self.heard_before_key.append(await caller.wait_bot_quiet(quiet=1.5, timeout=90))
                await caller.dtmf("1")  # "yes, I still need help"
                await asyncio.wait_for(caller.ended.wait(), 60)  # redirected: Twilio ends our stream
        finally:
            await caller.hangup()
        await self._signed_post(form["StatusCallback"], {**status, "CallStatus": "completed"})


def _settings(settings: Settings, http_port: int, api_url: str) -> Settings:
    twilio = settings.twilio.model_copy(update={
        "enabled": True, "account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN, "api_base_url": api_url,
        "public_url": f"http://127.0.0.1:{http_port}", "caller_id": OUR_NUMBER,
        "stream_url": f"ws://127.0.0.1:{http_port}/twilio/media", "transfer_target": "sip:agents@pbx.example.com"})
    callbacks = settings.callbacks.model_copy(update={"max_attempts": 3, "retry_delay_secs": 600.0,
                                                      "ring_timeout_secs": 20.0})
    return always_staffed(settings.model_copy(update={"twilio": twilio, "callbacks": callbacks}))


@pytest.mark.models
async def test_a_twilio_callers_callback_is_placed_over_rest_retried_when_busy_then_transferred(
        settings: Settings, call_store: CallStore, sip_models: Any) -> None:
    http_port = free_port()
    async with aiohttp.ClientSession() as http:
        twilio = TwilioStandIn(http, answers=["busy", "person"])
        async with TestClient(TestServer(twilio.app())) as api:
            s = _settings(settings, http_port, str(api.make_url("")).rstrip("/"))
            assert can_place(s)
            offer = CallbackOffer.for_store(s, call_store)
            app = create_app(s, load_models=False)
            app[CALL_SERVICES] = CallServices(
                settings=s, models=sip_models, store=call_store, callbacks=offer,
                dialog=load_engine(s, callbacks=offer.store), write_handoff=handoff_writer(s))
            async with TestClient(TestServer(app, port=http_port)):
                store = offer.store
                request = CallbackRequest(number="48600100200", topic="complaint", preferred_time="",
                                          channel="twilio", handoff_id=uuid.uuid4().hex, due=0.0)
                await store.add(request)
                state = app[TWILIO]
                dialer = CallbackDialer(s, None, store, owner="test-worker",
                                        twilio=TwilioCallbacks(s, state.rest, state.outcomes, poll_secs=0.1))
                (started,) = await dialer.tick()
                busy = await asyncio.wait_for(dialer.calling[started], 30)
                assert busy.status == "open" and busy.attempts == 1 and "busy" in busy.last_result
                assert await dialer.tick() == []  # not again at once: after retry_delay_secs

                (started,) = await dialer.tick(now=busy.due + 1)
                done = await asyncio.wait_for(dialer.calling[started], 150)
            await asyncio.gather(*twilio.tasks)
    first, second = twilio.placed
    # Both calls went to the customer's number in E.164, from our Twilio number, back to our endpoints.
    for placed in (first, second):
        assert placed["To"] == "+48600100200" and placed["From"] == OUR_NUMBER
        assert placed["Url"] == f"http://127.0.0.1:{http_port}/twilio/voice?callback={request.id}"
        assert placed["StatusCallback"].startswith(f"http://127.0.0.1:{http_port}/twilio/callback-status")
    assert done.status == "transferred" and done.attempts == 2
    # The customer heard the bot (who is calling and why, the question), then was redirected to the human
    # line with the package of the call that booked the callback.
    heard = twilio.heard_before_key[0]
    assert len(heard) / 16000 > 3.0 and rms_dbfs(heard) > -35
    said = " ".join(t.text for t in await call_store.turns(second["sid"]) if t.role == "bot")
    assert "calling you back about your complaint" in said and "still need help" in said
    (update,) = [u for u in twilio.updates if u["call_sid"] == second["sid"]]
    assert ET.fromstring(update["Twiml"]).findtext("./Dial/Sip") == (
        f"sip:agents@pbx.example.com?X-Voicebot-Handoff={request.handoff_id}")


async def test_a_twilio_callback_answered_by_voicemail_is_hung_up_on_and_retried(
        settings: Settings, call_store: CallStore, tmp_path: Path) -> None:
    http_port = free_port()
    greeting = ulaw_to_pcm(espeak_ulaw(VOICEMAIL_GREETING, tmp_path)).tobytes()
    async with aiohttp.ClientSession() as http:
        twilio = TwilioStandIn(http, answers=["machine"], greeting=greeting)
        async with TestClient(TestServer(twilio.app())) as api:
            s = _settings(settings, http_port, str(api.make_url("")).rstrip("/"))
            offer = CallbackOffer.for_store(s, call_store)
            app = create_app(s, load_models=False)
            # Nothing is said to a machine: no speech models, no dialog needed.
            app[CALL_SERVICES] = CallServices(settings=s, models=None, dialog=None, store=call_store)  # type: ignore[arg-type]
            async with TestClient(TestServer(app, port=http_port)):
                request = CallbackRequest(number="48600100200", topic="complaint", preferred_time="",
                                          channel="twilio", due=0.0)
                await offer.store.add(request)
                state = app[TWILIO]
                dialer = CallbackDialer(s, None, offer.store, owner="test-worker",
                                        twilio=TwilioCallbacks(s, state.rest, state.outcomes, poll_secs=0.1))
                (started,) = await dialer.tick()
                done = await asyncio.wait_for(dialer.calling[started], 60)
            await asyncio.gather(*twilio.tasks)
    (placed,) = twilio.placed
    assert done.status == "open" and done.attempts == 1 and "voicemail" in done.last_result, done
    # The bot hung the call up over REST without a word and without a transfer.
    assert [u.get("Status") for u in twilio.updates if u["call_sid"] == placed["sid"]] == ["completed"]
    assert voiced_seconds(np.frombuffer(bytes(twilio.callers[0].bot_audio), np.int16)) == 0.0
