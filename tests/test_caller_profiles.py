"""Caller profiles in the real Redis: what is kept, retention, and forgetting a caller (store, CLI)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.env import TEST_REDIS_URL
from voicebot.call_session import CallSession
from voicebot.config import PROJECT_ROOT, Settings, SurveySettings
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.escalation.handoff import handoff_writer
from voicebot.store.audit import AuditLog
from voicebot.store.callbacks import CallbackRequest, CallbackStore
from voicebot.store.callers import CallerStore, forget_caller, profile_number
from voicebot.store.calls import CallStore, TurnRecord
from voicebot.store.handoffs import HandoffStore
from voicebot.store.recordings import RecordingIndex
from voicebot.store.redact import redact
from voicebot.store.surveys import SurveyPicker

DAY = 86400
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Europe/Warsaw"))  # the human line is staffed


async def _seed_caller(store: CallStore, number: str, call_id: str) -> None:
    """A finished call from `number` with its transcript, handoff package and callback request."""
    await store.start_call(call_id, caller_number=number, language="en", flow_id="customer_service", channel="sip")
    await store.add_turn(call_id, TurnRecord(role="caller", text="my name is Jan, call me back"))
    await store.end_call(call_id, "callback")
    await HandoffStore(store.client, store.keys).save({"handoff_id": f"h-{call_id}", "call_id": call_id,
                                                       "caller_number": number, "summary": "wants a callback"})
    await CallbackStore(store.client, store.keys).add(CallbackRequest(number=number, topic="complaint",
                                                                      preferred_time="", call_id=call_id))


def test_withheld_and_odd_caller_ids_get_no_profile_number() -> None:
    assert profile_number("+48 600-100-200") == "48600100200" == profile_number("48600100200")
    assert profile_number("tel:+48600100200") == "48600100200"
    assert profile_number("sip:48500100200@10.0.0.1") == "48500100200"
    for withheld in ("", "anonymous", "Anonymous", "unknown", "restricted", "client:alice", "12", "+"):
        assert profile_number(withheld) is None, withheld


async def test_profile_keeps_last_five_contacts_the_case_and_redacts_pii(call_store: CallStore) -> None:
    callers = CallerStore(call_store.client, call_store.keys, redact=redact)
    for i in range(7):
        await callers.record_call("+48 600 100 200", call_id=f"c{i}", outcome="contained", language="pl",
                                  topic="order_status", name="Anna" if i == 0 else "")
    await callers.record_call("+48600100200", call_id="c7", outcome="transferred", language="en", topic="complaint",
                              case={"kind": "complaint", "note": "card 4111 1111 1111 1111"})
    profile = await callers.get("+48600100200")
    assert profile is not None and profile["name"] == "Anna" and profile["calls"] == 8
    assert profile["language"] == "en"  # the language of the last call
    assert [c["call_id"] for c in profile["contacts"]] == ["c7", "c6", "c5", "c4", "c3"]
    assert profile["case"]["kind"] == "complaint" and "4111" not in profile["case"]["note"]
    # A later call that closes the case drops it; one that neither opens nor closes keeps it.
    await callers.record_call("+48600100200", call_id="c8", outcome="contained", language="en")
    assert (await callers.get("+48600100200"))["case"]["kind"] == "complaint"
    await callers.record_call("+48600100200", call_id="c9", outcome="contained", language="en", close_case=True)
    assert (await callers.get("+48600100200"))["case"] is None
    assert not await callers.record_call("anonymous", call_id="x", outcome="contained", language="en")


async def test_retention_deletes_profiles_whose_last_call_is_too_old(call_store: CallStore) -> None:
    callers = CallerStore(call_store.client, call_store.keys)
    now = time.time()
    await callers.record_call("+48600000001", call_id="old", outcome="contained", language="pl", at=now - 100 * DAY)
    await callers.record_call("+48600000002", call_id="old2", outcome="contained", language="pl", at=now - 100 * DAY)
    await callers.record_call("+48600000002", call_id="new", outcome="contained", language="pl", at=now - DAY)
    assert await callers.delete_old_profiles(90, now=now) == 1
    assert await callers.get("+48600000001") is None
    assert (await callers.get("+48600000002"))["calls"] == 2  # called again yesterday: kept
    assert await call_store.client.zrange(call_store.keys.callers_by_time, 0, -1) == ["48600000002"]


async def test_forget_deletes_profile_calls_handoffs_callbacks_of_that_number_only_and_is_audited(
        call_store: CallStore, tmp_path: Path) -> None:
    callers = CallerStore(call_store.client, call_store.keys)
    recordings = RecordingIndex(call_store)
    for number, call_id in (("+48600100200", "a1"), ("48600100200", "a2"), ("+48700700700", "b1")):
        await _seed_caller(call_store, number, call_id)
        await callers.record_call(number, call_id=call_id, outcome="callback", language="pl", name="X")
        (tmp_path / f"{call_id}.ogg").write_bytes(b"OggS")
        await recordings.add(call_id, tmp_path / f"{call_id}.ogg", seconds=1.0, state="complete")
    # A callback already made (closed on the worklist) is kept out of the queue, and forgotten all the same.
    callbacks = CallbackStore(call_store.client, call_store.keys)
    await callbacks.add(CallbackRequest(number="+48 600 100 200", topic="complaint", preferred_time="",
                                        status="reached", closed_at=time.time()))
    audit = AuditLog(call_store.client, call_store.keys)
    surveys = SurveyPicker(call_store.client, call_store.keys, SurveySettings(enabled=True))
    for number in ("+48600100200", "+48700700700"):
        await surveys.asked(number)  # the post-call survey remembers who was asked

    counts = await forget_caller(callers, audit, "+48 600 100 200", who="admin")

    # with and without the +
    assert counts == {"profile": 1, "calls": 2, "recordings": 2, "handoffs": 2, "callbacks": 3, "survey marker": 1}
    assert await callbacks.closed() == []
    assert await surveys.offer("+48600100200") and not await surveys.offer("+48700700700")
    assert await callers.get("+48600100200") is None
    assert not (tmp_path / "a1.ogg").exists() and await recordings.get("a2") is None  # the audio goes too
    assert (tmp_path / "b1.ogg").exists() and await recordings.get("b1") is not None
    for cid in ("a1", "a2"):
        assert await call_store.get_call(cid) is None and await call_store.turns(cid) == []
        assert await call_store.client.get(call_store.keys.handoff(f"h-{cid}")) is None
    remaining = await CallbackStore(call_store.client, call_store.keys).due()
    assert [r.number for r in remaining] == ["+48700700700"]
    assert await call_store.get_call("b1") is not None and await callers.get("+48700700700") is not None
    assert await call_store.recent_call_ids() == ["b1"]
    # A call in progress is kept (it would write its record again) and the count says so.
    await call_store.start_call("live-1", caller_number="+48600100200", language="pl")
    again = await callers.forget("+48600100200")
    assert again["calls"] == 0 and again["calls in progress, not deleted"] == 1
    assert await call_store.get_call("live-1") is not None
    entry = (await audit.recent(1))[0]
    assert (entry.who, entry.action, entry.target) == ("admin", "privacy.forget", "48600100200")
    assert "2 calls" in entry.detail


async def test_handoff_writer_packages_are_found_by_forget(settings: Settings, call_store: CallStore) -> None:
    """The package written for a real transfer names the caller's number where forget looks for it."""
    # In business hours: a transfer at once (outside them the callback capture would ask first).
    engine = load_engine(settings, clock=fixed_clock(TUESDAY_NOON))
    info = CallInfo(call_id="real-1", caller_number="+48600100201", language="en")
    session = CallSession(info, engine.new_session(info), call_store, write_handoff=handoff_writer(settings))
    await session.begin()
    assert (await session.on_event(CallerSaid("I want to talk to a person"))).action == "transfer"
    await session.finish()
    await engine.close()
    counts = await CallerStore(call_store.client, call_store.keys).forget("+48600100201")
    assert counts["calls"] == 1 and counts["handoffs"] == 1


def test_cli_forget_refuses_a_non_number_and_forgets_a_number(redis_prefix: str) -> None:
    env = {"VOICEBOT_REDIS_PREFIX": redis_prefix, "REDIS_URL": TEST_REDIS_URL, "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([sys.executable, "-m", "voicebot", "privacy", "forget", "anonymous"], cwd=PROJECT_ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not a phone number" in bad.stdout
    ok = subprocess.run([sys.executable, "-m", "voicebot", "privacy", "forget", "+48600100299"], cwd=PROJECT_ROOT,
                        env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "forgot +48600100299: 0 profile, 0 calls, 0 recordings, 0 handoffs, 0 callbacks, 0 survey marker" \
        in ok.stdout


async def test_cli_purge_deletes_old_profiles_with_the_old_calls(call_store: CallStore, redis_prefix: str) -> None:
    callers = CallerStore(call_store.client, call_store.keys)
    await callers.record_call("+48600000009", call_id="ancient", outcome="contained", language="pl",
                              at=time.time() - 100 * DAY)
    await callers.record_call("+48600000010", call_id="recent", outcome="contained", language="pl")
    env = {"VOICEBOT_REDIS_PREFIX": redis_prefix, "REDIS_URL": TEST_REDIS_URL, "PATH": "/usr/bin:/bin"}
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "voicebot", "privacy", "purge"],
                                  cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert await callers.get("+48600000009") is None and await callers.get("+48600000010") is not None
    entries = await AuditLog(call_store.client, call_store.keys).recent(5)
    assert any(e.target == "caller profiles" and e.detail.startswith("1 older than 90 days") for e in entries)
