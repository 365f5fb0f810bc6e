"""A callback that reaches voicemail: a sipp phone answers with a long espeak-ng greeting (over line hiss), the
bot listens before speaking, says nothing to the tape, transfers nobody, hangs up; the request is retried,
then marked failed with "voicemail" on the worklist. With `voicemail_message` on it waits for the beep and
leaves the flow's short message. A person's short "Hello?" gets the bot and the transfer as before."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.ports import UDP, free_port
from tests.support.sip_helpers import (
    RtpCapture,
    espeak_ulaw,
    sox_tone_ulaw,
    voiced_seconds,
    write_pcap,
    write_script_pcap,
)
from tests.telephony.test_callback_dialer import _dial, _line, _phone, _settings
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.lines.callback_dialer import CallbackDialer
from voicebot.store.callbacks import CallbackRequest, CallbackStore
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.slow]

GREETING = ("Hi, you have reached the voicemail of Anna Smith. I cannot take your call right now, "
            "please leave your name and number after the tone and I will call you back.")


def _hiss(ulaw: bytes) -> bytes:
    """Line noise under the callee's audio (-50 dBFS), mu-law again (sox-free: the tone of a real line)."""
    noise = np.random.default_rng(3).integers(-2, 3, len(ulaw))  # a few mu-law steps around each sample
    return (np.frombuffer(ulaw, np.uint8).astype(int) + noise).clip(0, 255).astype(np.uint8).tobytes()


def _always_open(s: Settings, **callbacks: Any) -> Settings:
    s = s.model_copy(update={"callbacks": s.callbacks.model_copy(update=callbacks)})
    return s.model_copy(update={"business_hours": s.business_hours.model_copy(update={"always_open": True})})


async def _request(store: CallbackStore) -> CallbackRequest:
    request = CallbackRequest(number="48600100200", topic="complaint", preferred_time="", due=time.time() - 1)
    await store.add(request)
    return request


async def test_voicemail_is_hung_up_on_without_a_transfer_retried_then_failed(
        settings: Settings, call_store: CallStore, tmp_path: Path) -> None:
    phone_port = free_port(UDP)
    s = _always_open(_settings(settings, phone_port), max_attempts=2, retry_delay_secs=600.0)
    line = await _line(s, call_store, None, [datetime.now(UTC)])  # nothing is said to a machine: no models needed
    store = CallbackOffer.for_store(s, call_store).store
    request = await _request(store)
    dialer = CallbackDialer(s, line, store, owner="test-worker")
    write_pcap(tmp_path / "greeting.pcap", _hiss(espeak_ulaw(GREETING, tmp_path)))
    heard = await RtpCapture.open()
    try:
        box = await _phone("phone_voicemail", line, phone_port, tmp_path, {
            "capture_port": str(heard.port), "pcap": str(tmp_path / "greeting.pcap")})
        first = await _dial(dialer, request.due)
        first_box = await box
        assert first_box.returncode == 0, first_box.stdout + first_box.log  # BYE, and no REFER
        assert first.status == "open" and first.attempts == 1 and "voicemail" in first.last_result
        assert first.due >= time.time() + 590  # the retry policy, as for busy / no answer
        assert voiced_seconds(heard.audio()) == 0.0  # the bot said nothing to the tape

        box = await _phone("phone_voicemail", line, phone_port, tmp_path, {
            "capture_port": str(heard.port), "pcap": str(tmp_path / "greeting.pcap")})
        second = await _dial(dialer, first.due + 1)
        assert (await box).returncode == 0
    finally:
        heard.close()
        await line.stop()
    assert second.status == "failed" and second.attempts == 2 and "voicemail" in second.last_result
    assert await store.due() == [] and [r.id for r in await store.closed()] == [second.id]


@pytest.mark.models
async def test_with_voicemail_message_on_the_bot_waits_for_the_beep_and_leaves_the_message(
        settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    phone_port = free_port(UDP)
    s = _always_open(_settings(settings, phone_port), voicemail_message=True)
    line = await _line(s, call_store, sip_models, [datetime.now(UTC)])
    store = CallbackOffer.for_store(s, call_store).store
    request = await _request(store)
    greeting = _hiss(espeak_ulaw(GREETING, tmp_path))
    beep = sox_tone_ulaw(tmp_path, seconds=0.6, freq=1000)
    greeting_secs = write_script_pcap(tmp_path / "greeting.pcap", [greeting, b"\xff" * 2400, beep, b"\xff" * 8000])
    heard = await RtpCapture.open()
    try:
        box = await _phone("phone_voicemail", line, phone_port, tmp_path, {
            "capture_port": str(heard.port), "pcap": str(tmp_path / "greeting.pcap")})
        answered = time.monotonic()
        done = await _dial(dialer := CallbackDialer(s, line, store, owner="test-worker"), request.due)
        result = await box
    finally:
        heard.close()
        await line.stop()
    assert dialer.calling == {}
    assert result.returncode == 0, result.stdout + result.log
    assert done.status == "open" and "voicemail" in done.last_result  # a message is no conversation: retried
    message = await sip_models.tts.synthesize(
        "Hello, this is Nordic Home returning your call, as you asked. We will try again later. Goodbye.", "en", 8000)
    expected = voiced_seconds(np.frombuffer(message, np.int16))
    # The message was recorded whole, and only after the greeting and its beep were over.
    assert voiced_seconds(heard.audio()) > 0.85 * expected
    assert voiced_seconds(heard.audio(since=answered + greeting_secs - 1.0)) > 0.85 * expected


@pytest.mark.models
async def test_a_person_saying_hello_gets_the_bot_and_the_transfer(
        settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    phone_port = free_port(UDP)
    s = _always_open(_settings(settings, phone_port))
    line = await _line(s, call_store, sip_models, [datetime.now(UTC)])
    store = CallbackOffer.for_store(s, call_store).store
    request = await _request(store)
    # "Hello?" at once, then listening to the bot for 13 s, then key 1: "yes, I still need help".
    write_script_pcap(tmp_path / "hello.pcap", [_hiss(espeak_ulaw("Hello?", tmp_path)), "," * 13 + "1"])
    answer = await RtpCapture.open()
    try:
        phone = await _phone("phone_answers", line, phone_port, tmp_path, {
            "capture_port": str(answer.port), "pcap": str(tmp_path / "hello.pcap"), "greeting_ms": "0"})
        done = await _dial(CallbackDialer(s, line, store, owner="test-worker"), request.due)
        result = await phone
    finally:
        answer.close()
        await line.stop()
    assert result.returncode == 0, result.stdout + result.log
    info, call = line.finished[-1]
    assert done.status == "transferred" and done.attempts == 1
    assert call.answered_by == "human"
    said = " ".join(t.text for t in await call_store.turns(info.call_id) if t.role == "bot")
    assert "calling you back about your complaint" in said and "still need help" in said
