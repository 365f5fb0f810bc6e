"""Returning callers through `CallSession` (the glue every line uses): real Redis profiles, the demo CRM,
the shipped flows. A second call from the same number is greeted by name and offered the open case."""

from __future__ import annotations

from tests.dialog.test_flow_validation import MINIMAL, errors_of
from tests.support.ports import free_port
from voicebot.call_session import CallSession
from voicebot.config import PROJECT_ROOT
from voicebot.dialog.flowtests import run_flow_tests
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo
from voicebot.escalation.handoff import write_handoff
from voicebot.store.callers import CallerStore
from voicebot.store.connection import connect
from voicebot.store.handoffs import HandoffStore


async def _call(engine, store, number: str, call_id: str, turns: list, language: str = "en") -> list[str]:
    """One typed call; returns what the bot said, greeting first."""
    info = CallInfo(call_id=call_id, caller_number=number, language=language)
    session = CallSession(info, engine.new_session(info), store, write_handoff=write_handoff)
    said = [(await session.begin()).text]
    for event in turns:
        said.append((await session.on_event(event)).text)
    await session.finish()
    return said


async def test_second_call_is_greeted_by_name_offered_the_return_and_not_asked_the_number_again(
        engine_factory, call_store, crm) -> None:
    callers = CallerStore(call_store.client, call_store.keys)
    engine = engine_factory(crm.url, callers=callers)
    first = await _call(engine, call_store, "48500100200", "first", [
        CallerSaid("I'd like to send something back"), CallerDtmf("55501")])
    assert "John" not in first[0] and "return code" in first[-1]  # a new caller: no name, no case yet

    profile = await callers.get("48500100200")
    assert profile is not None and profile["name"] == "John" and profile["calls"] == 1
    assert profile["contacts"][0]["topic"] == "return_item" and profile["contacts"][0]["outcome"] == "contained"
    assert profile["case"]["kind"] == "return" and profile["case"]["item"] == "kettle"

    second = await _call(engine, call_store, "48500100200", "second", [CallerSaid("yes")])
    assert "Good to hear from you again, John." in second[0]
    assert "Are you calling about your return of the kettle?" in second[0]
    # "yes" continues the return with the order number kept from the first call: no question about it.
    assert "five-digit" not in second[1]
    assert "R1001" in second[1] and "kettle" in second[1]

    # Offered once: the third call is greeted by name only.
    third = await _call(engine, call_store, "48500100200", "third", [])
    assert "John" in third[0] and "return" not in third[0]
    profile = await callers.get("48500100200")
    assert profile["case"] is None and [c["call_id"] for c in profile["contacts"]] == ["third", "second", "first"]
    await engine.close()


async def test_declined_complaint_is_closed_and_polish_caller_hears_polish(engine_factory, call_store, crm) -> None:
    callers = CallerStore(call_store.client, call_store.keys)
    engine = engine_factory(crm.url, callers=callers)
    await _call(engine, call_store, "+48 600 100 200", "c1", [CallerSaid("chcę złożyć reklamację")], "pl")
    profile = await callers.get("+48600100200")
    assert profile["case"]["kind"] == "complaint" and profile["name"] == "Anna" and profile["language"] == "pl"

    turns = [CallerSaid("nie"), CallerSaid("gdzie jest moja paczka")]
    second = await _call(engine, call_store, "+48600100200", "c2", turns, "pl")
    assert "Witamy ponownie, Anna." in second[0] and "reklamacji" in second[0]
    assert "W czym mogę pomóc" in second[1] and "pięciocyfrowy" in second[2]
    assert (await callers.get("+48600100200"))["case"] is None
    await engine.close()


async def test_withheld_number_gets_no_profile_and_a_new_caller_no_name(engine_factory, call_store, crm) -> None:
    callers = CallerStore(call_store.client, call_store.keys)
    engine = engine_factory(crm.url, callers=callers)
    for number in ("anonymous", "", "client:alice"):
        await _call(engine, call_store, number, f"w-{number}", [CallerSaid("I want to make a complaint")])
        assert await callers.get(number) is None
    assert await call_store.client.zcard(call_store.keys.callers_by_time) == 0
    # A number the CRM does not know: a profile with the case, greeted without a name.
    await _call(engine, call_store, "+48700000001", "u1", [CallerSaid("I want to make a complaint")])
    again = await _call(engine, call_store, "+48700000001", "u2", [CallerDtmf("1")])
    assert again[0].endswith("Are you calling about the complaint from your last call?") and ", ." not in again[0]
    assert "handles complaints" in again[1]
    record = await call_store.get_call("u2")
    assert record["outcome"] == "transferred" and record["transfer_reason"] == "complaint"
    # The agent's package carries the earlier call: the open complaint and when it was opened.
    package = await HandoffStore(call_store.client, call_store.keys).get(record["handoff_id"])
    assert package["caller_profile"]["case"]["kind"] == "complaint"
    assert package["caller_profile"]["case"]["call_id"] == "u1"
    await engine.close()


async def test_a_caller_profile_that_cannot_be_read_greets_as_new(engine_factory, call_store, crm) -> None:
    down = connect(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    engine = engine_factory(crm.url, callers=CallerStore(down, call_store.keys))
    said = await _call(engine, call_store, "48500100200", "down", [])
    assert said[0].endswith("How can I help you today?")
    assert (await call_store.get_call("down"))["outcome"] == "abandoned"  # the call record is still written
    await engine.close()
    await down.aclose()


async def test_flow_tests_check_the_returning_callers_greeting_before_publishing() -> None:
    """An admin's draft that drops the name from the welcome fails the shipped returning-caller conversation."""
    flow = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")
    cases = (PROJECT_ROOT / "dialogs" / "tests" / "customer_service.en.yaml").read_text(encoding="utf-8")
    results = {r.name: r for r in await run_flow_tests(flow, cases)}
    name = "returning caller is offered the open return and continues it without the order number"
    assert results[name].passed, results[name].failures
    draft = flow.replace('"Good to hear from you again, {caller.name}."', '"Welcome back."')
    results = {r.name: r for r in await run_flow_tests(draft, cases)}
    assert not results[name].passed and "greeting" in results[name].failures[0]


def test_a_broken_profile_section_is_refused_with_named_errors() -> None:
    text = MINIMAL.replace("    next: thanks", "    known: name\n    next: thanks") + """
profile:
  lookup: find_me
  name: "{customer.first_name}"
  cases:
    - kind: return
      when: {intent: refund}
  close_when:
    - {visited: nowhere}
"""
    errors = {(e.rule, e.path) for e in errors_of(text)}
    assert errors == {("undefined_variable", "nodes.ask_name.known"), ("unknown_action", "profile.lookup"),
                      ("unknown_intent", "profile.cases.0.when.intent"),
                      ("unknown_target", "profile.close_when.0.visited")}
