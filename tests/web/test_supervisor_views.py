"""Supervisor side over HTTP: search and filters, CSV, call detail with handoff, live events, KPIs, privacy."""

import asyncio
import csv
import io
import time

import aiohttp

from tests.web.conftest import seed_calls
from voicebot.appkeys import CALL_STORE
from voicebot.call_session import CallSession
from voicebot.store.calls import CallStore, TurnRecord
from voicebot.store.retention import delete_old_calls


async def _ids(client, query: str) -> set[str]:
    async with client.http.get(client.url(f"/api/calls?{query}")) as r:
        assert r.status == 200, await r.text()
        return {c["call_id"] for c in (await r.json())["calls"]}


async def test_search_filters(web_server, make_client) -> None:
    await seed_calls(web_server.app[CALL_STORE])
    sup = await make_client("sup")
    assert await _ids(sup, "") == {"call-ok-1", "call-repeat", "call-angry", "call-human"}
    assert await _ids(sup, "transferred=yes") == {"call-angry", "call-human"}
    assert await _ids(sup, "transferred=no") == {"call-ok-1", "call-repeat"}
    assert await _ids(sup, "reason=frustration") == {"call-angry"}
    assert await _ids(sup, "language=pl") == {"call-angry"}
    assert await _ids(sup, "intent=agent") == {"call-human"}
    assert await _ids(sup, "q=SKANDAL") == {"call-angry"}  # case-insensitive transcript text
    assert await _ids(sup, f"from={time.time() - 1900:.0f}") == {"call-angry", "call-human"}
    assert await _ids(sup, "to=2001-01-01") == set()
    async with sup.http.get(sup.url("/api/calls?from=yesterday")) as r:  # the query's schema: 400 naming it
        assert r.status == 400 and (await r.json())["error"].startswith("from: use YYYY-MM-DD")


async def test_csv_export_follows_the_filter(web_server, make_client) -> None:
    await seed_calls(web_server.app[CALL_STORE])
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/supervisor/calls.csv?transferred=yes")) as r:
        assert r.headers["Content-Disposition"].startswith("attachment")
        rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert {row["call_id"] for row in rows} == {"call-angry", "call-human"}
    angry = next(row for row in rows if row["call_id"] == "call-angry")
    assert angry["transfer_reason"] == "frustration" and angry["intents"] == "complaint"


async def test_call_page_shows_reason_signals_and_handoff(web_server, make_client) -> None:
    await seed_calls(web_server.app[CALL_STORE])
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/supervisor/calls/call-angry")) as r:
        html = await r.text()
    assert "frustration" in html and "negative_words" in html and "to jest skandal" in html
    assert "caller said: to jest skandal" in html  # handoff package
    async with sup.http.get(sup.url("/api/calls/call-angry")) as r:
        body = await r.json()
    assert body["handoff"]["reason"] == "frustration"
    assert body["turns"][-1]["signals"] == {"negative_words": 0.45, "loudness": 0.3}
    async with sup.http.get(sup.url("/agent/handoff/h-call-angry")) as r:
        assert r.status == 200 and "+48600700800" in await r.text()
    async with sup.http.get(sup.url("/api/calls/nope")) as r:
        assert r.status == 404
    # the escalation side's JSON endpoint sits behind the same login
    async with sup.http.get(sup.url("/api/handoffs/h-call-angry")) as r:
        assert r.status == 200 and (await r.json())["reason"] == "frustration"
    anon = await make_client()
    async with anon.http.get(anon.url("/api/handoffs/h-call-angry")) as r:
        assert r.status == 401


async def test_live_calls_websocket_gets_redis_events(web_server, make_client) -> None:
    """A call started by another process (its own CallStore) shows up on the supervisor's socket."""
    sup = await make_client("sup")
    app_store: CallStore = web_server.app[CALL_STORE]
    other_process = CallStore(app_store.client, app_store.keys)
    async with sup.http.ws_connect(sup.url("/supervisor/live/ws")) as ws:
        first = await ws.receive_json(timeout=5)
        assert first["event"] == "snapshot" and first["calls"] == []
        await other_process.start_call("live-1", caller_number="+48111222333", language="pl")
        await other_process.add_turn("live-1", TurnRecord(role="bot", text="Dzień dobry", node="greeting",
                                                          frustration=0.2))
        await other_process.end_call("live-1", "contained")
        events = [await ws.receive_json(timeout=5) for _ in range(3)]
    assert [e["event"] for e in events] == ["started", "turn", "ended"]
    assert events[0]["caller_number"] == "+48111222333" and events[1]["node"] == "greeting"


async def test_live_page_lists_calls_in_progress(web_server, make_client) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await store.start_call("live-2", caller_number="+48999888777", language="en")
    await store.add_turn("live-2", TurnRecord(role="bot", text="Hi", node="ask_order", frustration=0.55))
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/api/calls/live")) as r:
        calls = (await r.json())["calls"]
    assert calls == [{"call_id": "live-2", "caller_number": "+48999888777", "language": "en",
                      "started_at": calls[0]["started_at"], "node": "ask_order", "frustration": 0.55}]


async def test_kpis(web_server, make_client) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await seed_calls(store)
    await store.client.zadd(store.keys.callbacks, {"cb-1": time.time() + 3600})
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/api/kpis")) as r:
        k = await r.json()
    assert k["calls"] == 4 and k["ended"] == 4
    assert k["containment"] == 0.5 and k["transfer_rate"] == 0.5
    assert k["transfers_by_reason"] == {"frustration": 1, "explicit_request": 1}
    assert k["avg_handling_s"] == (60 + 90 + 120 + 30) / 4
    assert k["csat"] == 4.0 and k["csat_responses"] == 2
    # call-ok-1 was followed by call-repeat from the same number within 7 days: not resolved first time.
    # The others' 7-day windows are still open, so they are not counted yet.
    assert k["fcr"] == 0.0
    assert k["callbacks_pending"] == 1
    async with sup.http.get(sup.url("/supervisor/kpis")) as r:
        html = await r.text()
    assert html.count("<svg") == 3 and "Transfer rate by reason" in html and "explicit_request" in html
    async with sup.http.post(sup.url("/api/calls/call-human/csat"), json={"score": 1}, headers=sup.headers()) as r:
        assert r.status == 200
    async with sup.http.post(sup.url("/api/calls/call-human/csat"), json={"score": 9}, headers=sup.headers()) as r:
        assert r.status == 400 and (await r.json())["error"].startswith("score:")
    async with sup.http.get(sup.url("/api/kpis")) as r:
        assert (await r.json())["csat"] == 3.0


async def test_app_store_redacts_pii_and_originals_are_admin_only(settings, redis_client, make_client,
                                                                   web_server) -> None:
    # The app's own CallStore redacts (privacy.redact_pii is on by default)
    store: CallStore = web_server.app[CALL_STORE]
    await store.start_call("pii-1")
    await store.add_turn("pii-1", TurnRecord(role="caller", text="PESEL 44051401359"))
    async with (await make_client("sup")).http.get(web_server.make_url("/api/calls/pii-1")) as r:
        turns = (await r.json())["turns"]
    assert turns[0]["text"] == "PESEL [PESEL]" and "text_original" not in turns[0]
    # With keep_originals_for_admins, admins see the original and supervisors still do not
    store.keep_originals = True
    await store.add_turn("pii-1", TurnRecord(role="caller", text="mail me: a@b.pl"))
    admin, sup = await make_client("admin"), await make_client("sup")
    async with admin.http.get(admin.url("/api/calls/pii-1/turns")) as r:
        assert (await r.json())["turns"][1]["text_original"] == "mail me: a@b.pl"
    async with sup.http.get(sup.url("/api/calls/pii-1/turns")) as r:
        assert "text_original" not in (await r.json())["turns"][1]
    async with sup.http.get(sup.url("/supervisor/calls/pii-1")) as r:
        assert "a@b.pl" not in await r.text()


async def test_call_session_failure_is_visible_as_system_fault(web_server, make_client) -> None:
    """A dialog that crashes still produces a transferred call a supervisor can find by reason."""

    class Broken:
        async def start(self):
            raise RuntimeError("flow engine exploded")

        async def handle(self, event):
            raise RuntimeError("flow engine exploded")

        def snapshot(self):
            return {}

    from voicebot.dialog.types import CallInfo

    session = CallSession(CallInfo(call_id="crash-1", caller_number="+48100"), Broken(), web_server.app[CALL_STORE])
    await session.begin()
    await session.finish()
    sup = await make_client("sup")
    assert await _ids(sup, "reason=system_fault") == {"crash-1"}


async def test_retention_deletes_old_calls_only(web_server) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await seed_calls(store)
    await store.client.zadd(store.keys.calls_by_time, {"call-ok-1": time.time() - 100 * 86400})
    assert await delete_old_calls(store, retention_days=90) == 1
    assert await store.get_call("call-ok-1") is None and await store.turns("call-ok-1") == []
    assert await store.get_call("call-repeat") is not None


async def test_handoff_json_garbage_does_not_break_the_page(web_server, make_client) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await seed_calls(store)
    await store.client.set(store.keys.handoff("h-call-human"), "{not json")
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/supervisor/calls/call-human")) as r:
        assert r.status == 200 and "{not json" in await r.text()


async def test_two_supervisors_see_the_same_event(web_server, make_client) -> None:
    a, b = await make_client("sup"), await make_client("admin")
    store: CallStore = web_server.app[CALL_STORE]
    async with a.http.ws_connect(a.url("/supervisor/live/ws")) as wa, b.http.ws_connect(
            b.url("/supervisor/live/ws")) as wb:
        await wa.receive_json(timeout=5)
        await wb.receive_json(timeout=5)
        await store.start_call("both-1")
        ea, eb = await asyncio.gather(wa.receive_json(timeout=5), wb.receive_json(timeout=5))
    assert ea["call_id"] == eb["call_id"] == "both-1"
    anon = aiohttp.ClientSession()
    try:
        try:
            async with anon.ws_connect(a.url("/supervisor/live/ws")):
                raise AssertionError("anonymous websocket accepted")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.request_info.url.path == "/login"  # sent to the login page instead
    finally:
        await anon.close()
