"""PII is redacted in everything stored or shown, not only in transcript turns: the handoff package (slots,
summary, transcript), the agent's screen-pop, the call API, callbacks; and the CSV export cannot carry
spreadsheet formulas. Real dialog engine (typed turns), real Redis, the real web app."""

from __future__ import annotations

import csv
import io
import json

from tests.support.env import always_staffed
from tests.web.conftest import seed_calls
from voicebot.appkeys import CALL_STORE
from voicebot.call_session import CallSession
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.escalation.handoff import handoff_writer
from voicebot.store.callbacks import CallbackRequest
from voicebot.store.calls import CallStore

PESEL = "44051401359"  # checksum-valid
CARD_DOTS = "4111.1111.1111.1111"  # as whisper writes a spoken card number


async def test_a_pesel_said_during_a_call_is_nowhere_in_the_handoff_package(
    web_server, make_client, settings: Settings
) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    info = CallInfo(call_id="pii-handoff", caller_number="+48600100200", language="en")
    engine = load_engine(always_staffed(settings))
    session = CallSession(info, engine.new_session(info), store, write_handoff=handoff_writer(settings))
    await session.begin()
    await session.on_event(CallerSaid("I need to change my delivery address", language="en", asr_confidence=0.9))
    reply = await session.on_event(CallerSaid(f"Long Street 5, my PESEL is {PESEL}, card {CARD_DOTS}",
                                              language="en", asr_confidence=0.9))
    assert reply.node == "confirm_address", reply  # the address (with the PESEL) is now a slot
    reply = await session.component_failed("speech recognition", "test")  # hand over: the package is written
    await session.finish()
    assert reply.handoff_id

    await store.buffer.flush()  # the call queued its writes without waiting for Redis
    raw = await store.client.get(store.keys.handoff(reply.handoff_id))
    package = json.loads(raw)
    assert PESEL not in raw and "4111" not in raw, raw
    assert "[PESEL]" in package["slots"]["new_address"] and "[CARD]" in package["slots"]["new_address"]
    assert package["caller_number"] == "+48600100200"  # the agent still calls the caller back
    assert "+48600100200" in package["summary"]
    assert all("text_original" not in t for t in package["transcript"])

    sup = await make_client("sup")
    for path in (f"/agent/handoff/{reply.handoff_id}", f"/api/handoffs/{reply.handoff_id}",
                 "/api/calls/pii-handoff", "/supervisor/calls/pii-handoff"):
        async with sup.http.get(sup.url(path)) as r:
            body = await r.text()
        assert r.status == 200, (path, body[:300])
        assert PESEL not in body and "4111" not in body, path


async def test_packages_stored_before_redaction_are_redacted_when_shown(web_server, make_client) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await store.start_call("pii-old", caller_number="+48600100200", language="pl")
    await store.end_call("pii-old", "transferred", handoff_id="h-pii-old")
    await store.client.hset(store.keys.call("pii-old"), "transfer_failure", f"said PESEL {PESEL}")
    await store.client.xadd(store.keys.turns("pii-old"), {"role": "caller", "text": f"karta {CARD_DOTS}", "ts": "1"})
    await store.client.set(store.keys.handoff("h-pii-old"), json.dumps({
        "handoff_id": "h-pii-old", "call_id": "pii-old", "caller_number": "+48600100200",
        "summary": f"Klient +48600100200 podał PESEL {PESEL}", "slots": {"pesel": int(PESEL), "card": CARD_DOTS},
    }))
    sup = await make_client("sup")
    for path in ("/agent/handoff/h-pii-old", "/api/handoffs/h-pii-old", "/api/calls/pii-old",
                 "/supervisor/calls/pii-old"):
        async with sup.http.get(sup.url(path)) as r:
            body = await r.text()
        assert r.status == 200 and PESEL not in body and "4111" not in body, (path, body[:300])
    async with sup.http.get(sup.url("/api/handoffs/h-pii-old")) as r:
        shown = await r.json()
    assert shown["slots"] == {"pesel": "[PESEL]", "card": "[CARD]"}
    assert shown["summary"] == "Klient +48600100200 podał PESEL [PESEL]"


async def test_call_record_fields_and_callbacks_are_redacted(call_store: CallStore, settings: Settings) -> None:
    from voicebot.store.redact import redact

    store = CallStore(call_store.client, call_store.keys, redact=redact)
    await store.start_call("pii-fields", caller_number="+48600100200")
    await store.end_call("pii-fields", "transfer_failed", transfer_failure=f"agent line said: PESEL {PESEL}")
    record = await store.get_call("pii-fields")
    assert record and record["caller_number"] == "+48600100200"
    assert record["transfer_failure"] == "agent line said: PESEL [PESEL]"

    offer = CallbackOffer.for_store(settings, store)
    await offer.store.add(CallbackRequest(number="+48600100200", topic=f"karta {CARD_DOTS}", preferred_time="",
                                          context={"new_address": f"Polna 5, PESEL {PESEL}"}))
    [request] = await offer.store.due()
    assert request.number == "+48600100200" and request.topic == "karta [CARD]"
    assert request.context == {"new_address": "Polna 5, PESEL [PESEL]"}


async def test_csv_export_cells_cannot_be_spreadsheet_formulas(web_server, make_client) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await seed_calls(store)
    await store.update_call("call-human", caller_number='=HYPERLINK("http://evil.example","x")',
                            last_node="@SUM(1+1)", flow_id="-2+3", transfer_reason="\tcmd")
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/supervisor/calls.csv")) as r:
        rows = {row["call_id"]: row for row in csv.DictReader(io.StringIO(await r.text()))}
    human = rows["call-human"]
    assert human["caller_number"] == '\'=HYPERLINK("http://evil.example","x")'
    assert human["last_node"] == "'@SUM(1+1)" and human["flow_id"] == "'-2+3"
    assert human["transfer_reason"] == "'\tcmd"
    assert rows["call-ok-1"]["caller_number"] == "+48500100200"  # a phone number stays a number
