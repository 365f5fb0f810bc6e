"""Outside the human line's hours a transfer becomes a callback request stored in Redis."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
import redis.asyncio as aioredis

from tests.dialog.conftest import CLOSED, Caller
from voicebot.config import BusinessHoursSettings
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.store.buffer import WriteBuffer
from voicebot.store.callbacks import CallbackRequest, CallbackStore
from voicebot.store.keys import Keys


def test_open_and_next_open_in_warsaw_time() -> None:
    hours = BusinessHours.from_settings(BusinessHoursSettings())
    assert hours.is_open(datetime(2026, 11, 25, 10, 0))  # Wednesday
    assert not hours.is_open(datetime(2026, 11, 25, 20, 0))  # closes at 20:00
    assert not hours.is_open(datetime(2026, 11, 29, 12, 0))  # Sunday
    nxt = hours.next_open(datetime(2026, 11, 28, 14, 30))  # Saturday after closing
    assert (nxt.weekday(), nxt.hour, nxt.minute, str(nxt.tzinfo)) == (0, 8, 0, "Europe/Warsaw")
    assert hours.next_open(datetime.fromisoformat("2026-11-25T06:00:00+00:00")).hour == 8  # 07:00 local


async def test_transfer_after_hours_stores_callback_and_tells_when(call, redis_client, redis_prefix) -> None:
    store = CallbackStore(redis_client, Keys(redis_prefix))
    c = call("en", now=CLOSED, callbacks=store)
    await c.start()
    reply = await c.say("I want to speak to a person")
    assert reply.node == "callback_confirm_number" and "+ 4 8 6 0 0 1 0 0 2 0 0" in reply.text  # number confirmed
    reply = await c.say("yes")
    assert "Thursday, 26 November at 8 am, on Thursday, 26 November at 10 am" in reply.text  # times offered
    reply = await c.say("the first one")
    assert reply.action == "callback" and reply.reason == "explicit_request"
    assert "call you back on Thursday, 26 November at 8 am" in reply.text
    ids = await redis_client.zrange(f"{redis_prefix}callbacks", 0, -1, withscores=True)
    assert len(ids) == 1
    stored = json.loads(await redis_client.get(f"{redis_prefix}callback:{ids[0][0]}"))
    assert stored["number"] == "+48600100200" and stored["topic"] == "explicit_request"
    assert stored["preferred_time"] == "2026-11-26T08:00:00+01:00"
    assert ids[0][1] == datetime.fromisoformat(stored["preferred_time"]).timestamp()
    assert c.session.snapshot()["callback_id"] == ids[0][0]


@pytest.mark.parametrize(("lang", "trouble", "leaving", "goodbye"), [
    ("en", "my washing machine leaks", "no, all sorted, just wanted to say thanks, bye", "Goodbye"),
    ("pl", "pralka mi cieknie", "nie, dziękuję, do widzenia", "Do widzenia"),
])
async def test_no_and_goodbye_to_the_callback_number_ends_the_call_and_books_nothing(
        call, redis_client, redis_prefix, lang, trouble, leaving, goodbye) -> None:
    """blind12 en-r16: "no …, bye" to "shall we call you on …?" was asked for another number to call."""
    store = CallbackStore(redis_client, Keys(redis_prefix))
    c = call(lang, now=CLOSED, callbacks=store)
    await c.start()
    assert (await c.say(trouble)).node == "callback_confirm_number"
    reply = await c.say(leaving)
    assert reply.action == "end" and goodbye in reply.text, (reply.node, reply.text)
    assert await redis_client.zcard(f"{redis_prefix}callbacks") == 0


async def test_a_fully_booked_half_hour_is_not_offered(settings, shipped_flows, redis_client, redis_prefix) -> None:
    # One agent calls back ([callbacks] per_half_hour = 1) and Thursday 8 am is already booked: the next caller is
    # offered the times after it, and the request they choose is stored for that time.
    store = CallbackStore(redis_client, Keys(redis_prefix))
    taken = datetime.fromisoformat("2026-11-26T08:00:00+01:00")
    await store.add(CallbackRequest(number="+48600999888", topic="complaint", preferred_time=taken.isoformat(),
                                    due=taken.timestamp()))
    one = settings.model_copy(update={"callbacks": settings.callbacks.model_copy(update={"per_half_hour": 1})})
    c = Caller(load_engine(one, clock=fixed_clock(CLOSED), registry=shipped_flows, callbacks=store), "en")
    await c.start()
    await c.say("I want to speak to a person")
    offered = await c.say("yes")
    assert "at 8 am" not in offered.text and "Thursday, 26 November at 8:30 am" in offered.text, offered.text
    booked = await c.say("the first one")
    assert booked.action == "callback" and "call you back on Thursday, 26 November at 8:30 am" in booked.text
    # Without a limit, 8 am is offered again (the shipped default).
    c = Caller(load_engine(settings, clock=fixed_clock(CLOSED), registry=shipped_flows, callbacks=store), "en")
    await c.start()
    await c.say("I want to speak to a person")
    assert "Thursday, 26 November at 8 am" in (await c.say("yes")).text


async def test_complaint_after_hours_in_polish_keeps_collected_slots(call, redis_client, redis_prefix) -> None:
    store = CallbackStore(redis_client, Keys(redis_prefix))
    c = call("pl", now=datetime(2026, 11, 28, 18, 0), callbacks=store)  # Saturday evening
    await c.start()
    await c.say("gdzie jest moje zamówienie")
    await c.say("zero zero zero zero zero")  # unknown order
    await c.say("nie")
    await c.say("chcę złożyć reklamację")
    await c.say("tak")  # the number it called from
    reply = await c.press("1")  # the first time offered
    assert reply.action == "callback" and reply.reason == "complaint"
    assert "poniedziałek, 30 listopada o 8:00" in reply.text
    (due,) = await store.due()
    assert due.topic == "complaint" and due.language == "pl" and due.context["order_number"] == "00000"


async def test_callback_survives_a_redis_outage() -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    buffer = WriteBuffer()
    store = CallbackStore(dead, Keys("test:dead:"), buffer)
    request = CallbackRequest(number="+48500", topic="complaint", preferred_time="")
    assert await store.add(request) == request.id  # accepted, kept for replay
    assert len(buffer) == 1
    await dead.aclose()


async def test_flow_can_override_business_hours(call, tmp_path) -> None:
    from voicebot.config import PROJECT_ROOT

    text = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")
    text = text.replace("settings:\n  nlu_threshold: 0.4", "settings:\n  business_hours: {always_open: true}\n"
                                                           "  nlu_threshold: 0.4")
    (tmp_path / "customer_service.en.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(PROJECT_ROOT / "dialogs" / "faq", tmp_path / "faq")  # the flow's FAQ answers
    c = call("en", now=CLOSED, flows_dir=str(tmp_path))
    await c.start()
    assert (await c.say("connect me to a human")).action == "transfer"
