"""An uncertain number is read back before it is used ("Did you say order 4 8 1 5 2?"), keys work at the menu,
and a caller talking over the goodbye is answered: the pure dialog step on a small flow, then the shipped flows
in both languages through a session with the demo CRM. (Over SIP: tests/telephony/test_phone_understanding.py.)"""

from __future__ import annotations

from datetime import datetime

import pytest

from voicebot.config import BusinessHoursSettings
from voicebot.dialog import core
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.types import CallerSaid
from voicebot.dialog.validate import FlowInvalid, parse_flow

AT = datetime(2026, 11, 25, 10, 0)

FLOW = """\
id: mini
language: en
greeting: "Hi."
start: menu
settings:
  confirm_below: 0.6
  after_answer: anything_else
messages:
  no_match: ["Sorry?"]
  help: "I can look up a ticket."
  anything_else: "Anything else?"
  handoff: "Connecting you."
  callback_offer: "We will call you on {callback_time}."
  goodbye: "Bye."
  action_failed: "Sorry, the system is down."
  confirm_rejected: "Sorry. Say it again, or type it on the keypad."
intents:
  talk_to_human: {examples: [a person please, human, agent]}
  repeat: {examples: [repeat, say again, pardon]}
  help: {examples: [help, what can you do, options]}
  goodbye: {examples: [bye, goodbye, that's all]}
  ticket: {goto: ask_ticket, examples: [my ticket, a ticket, ticket status]}
  hours: {answer: "We are open nine to five.", examples: [opening hours, when are you open, hours]}
nodes:
  menu:
    kind: say
    say: "What do you need?"
    keys: {"1": ticket, "2": hours}
    keys_say: "Press 1 for a ticket, 2 for our hours."
  anything_else:
    kind: yes_no
    say: "Anything else?"
    on_yes: menu
    on_no: goodbye
  ask_ticket:
    kind: ask
    slot: ticket
    type: digits
    length: 5
    prompt: "Your ticket number?"
    confirm: uncertain
    confirm_prompt: "Did you say ticket {heard}?"
    next: done
  done:
    kind: say
    say: "Ticket {ticket} is open."
    next: anything_else
"""


def machine(text: str = FLOW) -> core.FlowMachine:
    return core.FlowMachine(parse_flow(text), BusinessHours.from_settings(BusinessHoursSettings(always_open=True)))


def run(m: core.FlowMachine, *events: core.Event) -> tuple[core.DialogState, list[str], list[core.Effect]]:
    """Start a call, feed the events; (state, texts said at the last event, effects of the last event)."""
    st, fx = m.step(core.DialogState(), core.Start(AT))
    for ev in events:
        st, fx = m.step(st, ev)
    return st, [e.text for e in fx if isinstance(e, core.Say)], fx


def heard(text: str, asr: float | None = 0.9, intent: str | None = None, alternatives: tuple[str, ...] = (),
          barge_in: bool = False) -> core.Heard:
    return core.Heard(text, intent, 0.9 if intent else 0.0, AT, alternatives=alternatives, asr_confidence=asr,
                      barge_in=barge_in)


ASK = heard("my ticket", intent="ticket")


@pytest.mark.parametrize("uncertain", [
    heard("4 8 1 5 2", asr=0.35),  # below settings.confirm_below
    heard("4 8 1 2", alternatives=("4 8 1 5 2",)),  # taken from an n-best alternative
    heard("1 2 3 4 5 no sorry 4 8 1 5 2"),  # a self-correction
])
def test_an_uncertain_number_is_read_back_digit_by_digit_before_it_is_used(uncertain: core.Heard) -> None:
    st, said, _ = run(machine(), ASK, uncertain)
    assert said == ["Did you say ticket 4 8 1 5 2?"] and st.node == "ask_ticket" and "ticket" not in st.slots
    st, said, _ = run(machine(), ASK, uncertain, heard("yes"))
    assert said == ["Ticket 4 8 1 5 2 is open.", "Anything else?"] and st.slots["ticket"] == "48152"


def test_a_clear_number_is_used_at_once_and_never_means_never() -> None:
    _, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.9))
    assert said[0] == "Ticket 4 8 1 5 2 is open."
    _, said, _ = run(machine(FLOW.replace("confirm: uncertain", "confirm: never")), ASK, heard("4 8 1 5 2", asr=0.1))
    assert said[0] == "Ticket 4 8 1 5 2 is open."


def test_always_confirms_even_a_clear_number() -> None:
    _, said, _ = run(machine(FLOW.replace("confirm: uncertain", "confirm: always")), ASK, heard("4 8 1 5 2"))
    assert said == ["Did you say ticket 4 8 1 5 2?"]


def test_no_asks_for_the_number_again_offering_the_keypad() -> None:
    st, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), heard("no"))
    assert said == ["Sorry. Say it again, or type it on the keypad."]
    assert st.node == "ask_ticket" and st.unconfirmed is None and "ticket" not in st.slots
    assert not st.no_match  # the caller was understood: not a no-match for escalation
    st, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), heard("no"), core.KeysPressed("12345#", AT))
    assert said[0] == "Ticket 1 2 3 4 5 is open."  # typed: exact, not read back


def test_a_new_number_in_the_answer_is_confirmed_in_turn() -> None:
    st, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), heard("no, 4 8 1 5 3", asr=0.9))
    assert said == ["Did you say ticket 4 8 1 5 3?"] and st.unconfirmed == "48153"
    _, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), heard("no, 4 8 1 5 3"), heard("yes it is"))
    assert said[0] == "Ticket 4 8 1 5 3 is open."
    # The same number said again is a yes.
    _, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), heard("yes, 4 8 1 5 2"))
    assert said[0] == "Ticket 4 8 1 5 2 is open."


def test_keys_answer_the_confirmation_and_an_unclear_answer_asks_it_again() -> None:
    _, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), core.KeysPressed("1", AT))
    assert said[0] == "Ticket 4 8 1 5 2 is open."
    _, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), core.KeysPressed("2", AT))
    assert said == ["Sorry. Say it again, or type it on the keypad."]
    st, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), heard("purple elephant"))
    assert said == ["Did you say ticket 4 8 1 5 2?"] and st.no_match and st.unconfirmed == "48152"


def test_silence_during_the_confirmation_asks_it_again() -> None:
    st, said, _ = run(machine(), ASK, heard("4 8 1 5 2", asr=0.3), core.NoInput(AT))
    assert said[-1] == "Did you say ticket 4 8 1 5 2?" and st.unconfirmed == "48152"


def test_rejected_numbers_end_with_a_person_not_a_loop() -> None:
    no = heard("no")
    st, _, fx = run(machine(), ASK, heard("1 1 1 1 1", asr=0.3), no, heard("2 2 2 2 2", asr=0.3), no,
                    heard("3 3 3 3 3", asr=0.3), no)
    assert any(isinstance(e, core.Transfer) for e in fx) and st.finished


def test_keys_at_the_menu_choose_the_topic_and_the_keypad_menu_is_read_after_a_miss() -> None:
    st, said, _ = run(machine(), core.KeysPressed("1", AT))
    assert st.node == "ask_ticket" and said == ["Your ticket number?"]
    st, said, _ = run(machine(), core.KeysPressed("2", AT))
    assert said[0] == "We are open nine to five." and st.node == "anything_else"
    _, said, fx = run(machine(), core.KeysPressed("0", AT))
    assert any(isinstance(e, core.Transfer) for e in fx)
    _, said, _ = run(machine(), heard("purple elephant"))
    assert said == ["Sorry?", "Press 1 for a ticket, 2 for our hours.", "What do you need?"]
    _, said, _ = run(machine(), core.NoInput(AT))
    assert "Press 1 for a ticket, 2 for our hours." not in said  # silence: the short no-input steps


def test_a_caller_talking_over_the_goodbye_is_answered() -> None:
    m = machine()
    st, _, fx = run(m, heard("hours", intent="hours"), heard("no"))
    assert any(isinstance(e, core.End) for e in fx) and st.finished
    st, fx = m.step(st, heard("wait, my ticket", intent="ticket", barge_in=True))
    assert not st.finished and said_texts(fx) == ["Your ticket number?"]
    st, _, fx = run(m, heard("hours", intent="hours"), heard("no"), heard("purple elephant", barge_in=True))
    assert not st.finished and not any(isinstance(e, core.End) for e in fx)
    # A turn that was not said over the goodbye (typed text, a late turn) does not restart the call.
    st, said, fx = run(m, heard("hours", intent="hours"), heard("no"), heard("wait, my ticket", intent="ticket"))
    assert st.finished and said == [] and any(isinstance(e, core.End) for e in fx)
    # Silence after the goodbye ends the call as it was; a transfer stays a transfer.
    _, _, fx = run(m, heard("hours", intent="hours"), heard("no"), core.NoInput(AT))
    assert any(isinstance(e, core.End) for e in fx)
    st, _, fx = run(m, heard("a person", intent="talk_to_human"), heard("hours", intent="hours", barge_in=True))
    assert st.finished and not any(isinstance(e, core.Say) for e in fx)


def said_texts(fx: list[core.Effect]) -> list[str]:
    return [e.text for e in fx if isinstance(e, core.Say)]


@pytest.mark.parametrize(("change", "rule"), [
    (("confirm: uncertain", "confirm: sometimes"), "unknown_confirm_mode"),
    (("    confirm_prompt: \"Did you say ticket {heard}?\"\n", ""), "missing_confirm_prompt"),
    (("  confirm_below: 0.6\n", ""), "missing_confirm_threshold"),
    (("type: digits", "type: free_text"), "confirm_needs_digits"),
    (('"1": ticket', '"0": ticket'), "bad_key"),
    (('"2": hours', '"2": weather'), "unknown_intent"),
    (('    keys: {"1": ticket, "2": hours}\n', ""), "keys_say_without_keys"),
])
def test_confirmation_and_keypad_settings_are_validated_with_named_errors(change: tuple[str, str], rule: str) -> None:
    text = FLOW.replace(*change)
    assert text != FLOW
    with pytest.raises(FlowInvalid) as exc:
        parse_flow(text, "dialogs/mini.en.yaml")
    assert rule in [e.rule for e in exc.value.errors], exc.value.errors


@pytest.mark.parametrize(("lang", "yes", "no", "item"), [
    ("en", "yes", "no", "coffee grinder"),
    ("pl", "tak", "nie", "młynek do kawy"),
])
async def test_the_shipped_flows_confirm_a_poorly_heard_order_number(call, lang, yes, no, item) -> None:
    c = call(lang)
    await c.start()
    await c.say("where is my order" if lang == "en" else "gdzie jest moje zamówienie")
    asked = await c.session.handle(CallerSaid("4 8 1 5 2", asr_confidence=0.35))
    assert asked.node == "ask_order" and "4 8 1 5 2" in asked.text and asked.text.endswith("?")
    again = await c.say(no)
    assert again.node == "ask_order" and ("keypad" in again.text or "klawiaturze" in again.text)
    await c.session.handle(CallerSaid("4 8 1 5 2", asr_confidence=0.35))
    assert item in (await c.say(yes)).text
    # Heard clearly: used at once.
    await c.say("where is my order" if lang == "en" else "gdzie jest moje zamówienie")
    assert item in (await c.session.handle(CallerSaid("4 8 1 5 2", asr_confidence=0.95))).text


@pytest.mark.parametrize(("lang", "hours"), [("en", "9 am to 2 pm"), ("pl", "sobot")])
async def test_the_shipped_menus_take_keys(call, lang, hours) -> None:
    c = call(lang)
    await c.start()
    assert (await c.press("1")).node == "ask_order"
    assert "desk lamp" in (await c.press("12345#")).text or lang == "pl"
    c = call(lang)
    await c.start()
    assert hours in (await c.press("2")).text.lower()
    c = call(lang)
    await c.start()
    assert (await c.press("3")).node == "ask_return_order"


@pytest.mark.parametrize(("lang", "first", "trouble", "number"), [
    # escalation_blind31 pl-p05: the double charge's "dwa razy … trzy tysiące" was read as order 2 3 0 0 0
    ("pl", "dzwonię w sprawie zamówienia dwa dwa trzy cztery pięć",
     "pobraliście mi pieniądze dwa razy, z karty zeszło podwójnie prawie trzy tysiące",
     "to jest cztery osiem jeden pięć dwa"),
    ("en", "I'm calling about order two two three four five",
     "you took the payment twice, two hundred pounds went off my card two times", "it's four eight one five two"),
])
async def test_a_trouble_report_at_a_number_question_is_heard_not_read_as_digits(call, lang, first, trouble,
                                                                                 number) -> None:
    c = call(lang)
    await c.start()
    assert (await c.say(first)).node == "ask_order_again"  # not found: the number asked again
    reply = await c.say(trouble)
    assert reply.action == "transfer" and reply.reason == "payment_problem", reply.text
    # A number with a few words round it is still the number.
    c = call(lang)
    await c.start()
    await c.say(first)
    assert (await c.say(number)).action != "transfer"
