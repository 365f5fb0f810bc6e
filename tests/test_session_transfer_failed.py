"""`CallSession.transfer_failed`: when the human line does not take the caller, a callback is booked in
Redis and the caller is told, in their language, when to expect it — with the real dialog engine (typed
turns) and real Redis. The audio path is covered in tests/pipeline/test_call_endings.py."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.env import always_staffed
from voicebot.call_session import CallSession
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.store.calls import CallStore

WARSAW = ZoneInfo("Europe/Warsaw")
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=WARSAW)  # the human line is staffed
SATURDAY_EVENING = datetime(2026, 11, 28, 18, 0, tzinfo=WARSAW)  # closed until Monday 8:00


async def transferred_session(settings: Settings, store: CallStore, info: CallInfo, words: str,
                              offer_clock: datetime) -> CallSession:
    """A call in which the caller asked for a person and the dialog decided to transfer."""
    offer = CallbackOffer.for_store(settings, store)
    offer.clock = fixed_clock(offer_clock)
    engine = load_engine(always_staffed(settings), callbacks=offer.store, clock=fixed_clock(TUESDAY_NOON))
    session = CallSession(info, engine.new_session(info), store, callbacks=offer)
    await session.begin()
    reply = await session.on_event(CallerSaid(words, language=info.language, asr_confidence=0.9))
    assert reply.action == "transfer", reply
    return session


async def test_a_failed_transfer_books_a_callback_as_soon_as_possible(settings: Settings,
                                                                     call_store: CallStore) -> None:
    info = CallInfo(call_id="tf-en", caller_number="+48600100200", language="en")
    session = await transferred_session(settings, call_store, info, "I want to talk to a person", TUESDAY_NOON)

    reply = await session.transfer_failed("human line did not answer (408)")
    await session.finish()

    assert reply.action == "callback" and "call you back as soon as possible" in reply.text
    offer = CallbackOffer.for_store(settings, call_store)
    [request] = await offer.store.due()
    assert request.id == session.callback_id
    assert (request.number, request.language, request.reason) == ("+48600100200", "en", "transfer_failed")
    assert request.topic == "talk_to_human" and request.preferred_time == ""
    assert request.context["transfer_failure"] == "human line did not answer (408)"
    record = await call_store.get_call("tf-en")
    assert record is not None and record["outcome"] == "callback"
    assert record["transfer_failure"] == "human line did not answer (408)"
    assert record["callback_id"] == request.id and record["transfer_reason"] == "explicit_request"
    turns = await call_store.turns("tf-en")
    assert [t.action for t in turns if t.role == "bot"][-2:] == ["transfer", "callback"]


async def test_polish_caller_after_closing_time_hears_the_next_opening_in_polish(
        settings: Settings, call_store: CallStore) -> None:
    info = CallInfo(call_id="tf-pl", caller_number="+48600100300", language="pl")
    session = await transferred_session(settings, call_store, info, "chcę rozmawiać z konsultantem",
                                        SATURDAY_EVENING)

    reply = await session.transfer_failed("SIP 486 Busy Here")

    assert reply.action == "callback" and reply.language == "pl"
    assert "oddzwoni: poniedziałek, 30 listopada o 8:00" in reply.text, reply.text
    request = await CallbackOffer.for_store(settings, call_store).store.get(session.callback_id or "")
    assert request is not None and request.preferred_time == "2026-11-30T08:00:00+01:00"
    assert request.due == datetime(2026, 11, 30, 8, 0, tzinfo=WARSAW).timestamp()


@pytest.mark.parametrize("with_store", [True, False])
async def test_no_false_promise_without_a_number_or_a_callback_store(
        settings: Settings, call_store: CallStore, with_store: bool) -> None:
    # An anonymous caller cannot be called back; a process without Redis cannot record the request.
    info = CallInfo(call_id="tf-anon", caller_number="" if with_store else "+48600100400", language="en")
    session = await transferred_session(settings, call_store, info, "I want to talk to a person", TUESDAY_NOON)
    if not with_store:
        session.callbacks = None

    reply = await session.transfer_failed("Twilio REST client not configured")
    await session.finish()

    assert reply.action == "hangup" and "Please call us again later" in reply.text
    assert session.callback_id is None
    assert await CallbackOffer.for_store(settings, call_store).store.due() == []
    record = await call_store.get_call("tf-anon")
    assert record is not None and record["outcome"] == "transfer_failed"
    assert record["transfer_failure"] == "Twilio REST client not configured"
