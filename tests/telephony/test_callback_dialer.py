"""Callbacks that really happen: a caller at night books a time by keypad over SIP; at that time the dialer
rings a sipp phone through the configured trunk, the bot says who is calling and why, the customer presses
1 ("yes, I still need help") and is transferred by REFER to the human line with the ORIGINAL handoff package.
A busy phone and one nobody answers are retried, then the request is marked failed."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.ports import UDP, free_port
from tests.support.sip_helpers import RtpCapture, SippResult, run_sipp, voiced_seconds, write_pcap
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.escalation.handoff import handoff_writer
from voicebot.lines.callback_dialer import CallbackDialer
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices
from voicebot.store.callbacks import CallbackRequest
from voicebot.store.calls import CallStore
from voicebot.store.handoffs import HandoffStore

pytestmark = [pytest.mark.slow]

WARSAW = ZoneInfo("Europe/Warsaw")
NIGHT = datetime(2026, 11, 25, 22, 30, tzinfo=WARSAW)  # Wednesday, the human line closed since 20:00
GREETING_MS = 8000


def _settings(settings: Settings, phone_port: int, **callbacks: Any) -> Settings:
    sip = settings.sip.model_copy(update={"human_line_uri": f"sip:agents@127.0.0.1:{free_port(UDP)}"})
    cb = settings.callbacks.model_copy(update={"trunk_uri": f"sip:127.0.0.1:{phone_port}", "ring_timeout_secs": 3.0,
                                               **callbacks})
    return settings.model_copy(update={"sip": sip, "callbacks": cb})


async def _line(settings: Settings, call_store: CallStore, models: Any, clock: list[datetime]) -> SipLine:
    callbacks = CallbackOffer.for_store(settings, call_store)
    services = CallServices(settings=settings, models=models, store=call_store, callbacks=callbacks,
                            dialog=load_engine(settings, callbacks=callbacks.store, clock=lambda: clock[0]),
                            write_handoff=handoff_writer(settings))
    line = SipLine(settings, services)
    await line.start()
    return line


async def _phone(scenario: str, line: SipLine, port: int, tmp: Path, keys: dict[str, str]) -> asyncio.Task[SippResult]:
    """Start a sipp phone on `port` and wait until it listens."""
    task = asyncio.create_task(run_sipp(scenario, line.port, tmp, {"bot_port": str(line.port), **keys},
                                        timeout=90, local_port=port))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return task  # sipp holds the port: it listens
        await asyncio.sleep(0.1)
    raise AssertionError(f"sipp did not start on port {port}")


async def _dial(dialer: CallbackDialer, now: float) -> CallbackRequest:
    (callback_id,) = await dialer.tick(now=now)
    await asyncio.wait_for(dialer.calling[callback_id], 120)
    request = await dialer.store.get(callback_id)
    assert request is not None
    return request


@pytest.mark.models
async def test_a_night_caller_is_called_back_at_the_chosen_time_and_transferred_with_the_original_package(
        settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    phone_port = free_port(UDP)
    s = _settings(settings, phone_port)
    clock = [NIGHT]
    line = await _line(s, call_store, sip_models, clock)
    callbacks = CallbackOffer.for_store(s, call_store).store
    capture = await RtpCapture.open()
    # 0: a person; 1: yes, call me on this number; 2: the second time offered. Keys cut the bot short.
    write_pcap(tmp_path / "night.pcap", digits="012", lead_silence_s=0.5, gap_s=4.0)
    try:
        night = await run_sipp("caller_books_callback", line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "night.pcap"),
            "greeting_ms": str(GREETING_MS)}, timeout=90)
        assert night.returncode == 0, night.stdout + night.log
        (request,) = await callbacks.due()
        # The caller's own number, the second time offered (Thursday 10:00), the package of the night call.
        assert request.number == "48500100200" and request.reason == "explicit_request"
        assert datetime.fromtimestamp(request.due, WARSAW) == datetime(2026, 11, 26, 10, 0, tzinfo=WARSAW)
        package = await HandoffStore(call_store.client, call_store.keys).get(request.handoff_id)
        assert package is not None and package["reason"] == "explicit_request"

        clock[0] = datetime.fromtimestamp(request.due, WARSAW)  # "at that time"
        dialer = CallbackDialer(s, line, callbacks, owner="test-worker")
        assert await dialer.tick(now=request.due - 60) == []  # not due yet: nobody is called early
        answer = await RtpCapture.open()
        write_pcap(tmp_path / "yes.pcap", digits="1", lead_silence_s=0.5)
        phone = await _phone("phone_answers", line, phone_port, tmp_path, {
            "capture_port": str(answer.port), "pcap": str(tmp_path / "yes.pcap"), "greeting_ms": "12000"})
        done = await _dial(dialer, request.due)
        result = await phone
    finally:
        capture.close()
        await line.stop()
    assert result.returncode == 0, result.stdout + result.log
    # Transferred to the human line with the package of the night call, not a new one.
    assert f"HANDOFF={request.handoff_id}" in result.log
    assert s.sip.human_line_uri.removeprefix("sip:") in result.log
    assert done.status == "transferred" and done.attempts == 1
    # The customer heard the bot say who is calling and why, and ask.
    info, _call = line.finished[-1]
    said = " ".join(t.text for t in await call_store.turns(info.call_id) if t.role == "bot")
    assert "Nordic Home, calling you back about your request to speak with a colleague" in said
    assert "still need help" in said
    assert voiced_seconds(answer.audio()) > 4.0
    answer.close()


async def test_a_busy_then_unanswered_callback_is_retried_then_marked_failed(
        settings: Settings, call_store: CallStore, tmp_path: Path) -> None:
    phone_port = free_port(UDP)
    s = _settings(settings, phone_port, max_attempts=2, retry_delay_secs=600.0)
    s = s.model_copy(update={"business_hours": s.business_hours.model_copy(update={"always_open": True})})
    # Neither attempt is answered, so the bot's models are never needed.
    line = await _line(s, call_store, None, [NIGHT])
    store = CallbackOffer.for_store(s, call_store).store
    now = time.time()
    await store.add(CallbackRequest(number="48600100200", topic="complaint", preferred_time="", due=now - 1))
    dialer = CallbackDialer(s, line, store, owner="test-worker")
    try:
        busy = await _phone("phone_busy", line, phone_port, tmp_path, {})
        first = await _dial(dialer, now)
        assert (await busy).returncode == 0
        assert first.status == "open" and first.attempts == 1 and "busy (486" in first.last_result
        assert first.due >= now + 590  # retried after retry_delay_secs, not at once
        assert await dialer.tick(now=now + 1) == []

        rings = await _phone("phone_rings_out", line, phone_port, tmp_path, {})
        second = await _dial(dialer, first.due + 1)
        rang = await rings
    finally:
        await line.stop()
    assert rang.returncode == 0 and "CANCELLED" in rang.log, rang.stdout + rang.log  # rang out, then cancelled
    assert second.status == "failed" and second.attempts == 2 and "no_answer" in second.last_result
    assert await store.due() == [] and [r.id for r in await store.closed()] == [second.id]


async def test_only_one_process_dials(settings: Settings, call_store: CallStore) -> None:
    s = _settings(settings, free_port(UDP))
    line = SipLine(s, CallServices(settings=s, models=None, dialog=None))  # type: ignore[arg-type]
    store = CallbackOffer.for_store(s, call_store).store
    first, second = (CallbackDialer(s, line, store, owner=w) for w in ("worker-1", "worker-2"))
    assert await first.own() and not await second.own()
    assert await first.own()  # renewed by its owner
    await first.release()
    assert await second.own()
