"""bench/phone.py's scripted caller: it hears the bot's number read-back from the call record (the shipped
flows' own confirm_prompt at the node that asks for confirmation) and answers it like a caller; a keypad caller
types its script's number when the bot's turn asks for one (a digits ask node of the flow); every phone set
has what that caller needs (the blind sets are only parsed here: nothing of them is printed)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bench._guess import Guesses, goal_of, guess_questions
from bench._keypad import Keypad, Menus, keypad_menus, number_of
from bench._phone_caller import MENU_CHOICE, ScriptedCaller
from bench._readback import NO, YES, ReadBacks, answer, prompt_pattern
from bench._sip_caller import EVENT_BYTES, Sentence
from bench.phone import judge
from voicebot.config import BusinessHoursSettings
from voicebot.dialog import core
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.validate import parse_flow
from voicebot.store.calls import TurnRecord

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 25, 10, 0)
# (language, what the caller asks, the number heard with a digit lost, the five-digit beam alternative)
ORDER = {"en": ("where is my order", "It is 4-8-1-2.", "It is 4 8 1 5 2."),
         "pl": ("gdzie jest moje zamówienie", "To jest 4 8 1 2.", "To jest 4 8 1 5 2.")}


def shipped(language: str) -> core.FlowMachine:
    path = ROOT / "dialogs" / f"customer_service.{language}.yaml"
    flow = parse_flow(path.read_text(), file=str(path))
    return core.FlowMachine(flow, BusinessHours.from_settings(BusinessHoursSettings(always_open=True)))


def bot_turns(m: core.FlowMachine, *events: core.Event) -> list[TurnRecord]:
    """What the bot said at the last event, recorded as the call session records a bot turn."""
    st, fx = m.step(core.DialogState(), core.Start(AT))
    for ev in events:
        st, fx = m.step(st, ev)
        if st.node == "find_latest_order":  # no orders on this caller's number (the bench's default)
            st, fx = m.step(st, core.ActionResult("find_latest_order", ok=False, at=AT, status=404))
    text = " ".join(e.text for e in fx if isinstance(e, core.Say))
    return [TurnRecord(role="bot", text=text, node=st.node, action="continue", language=m.flow.language)]


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_the_read_back_of_the_shipped_flow_is_heard_with_its_digits_and_a_reprompt_is_not(lang: str) -> None:
    m = shipped(lang)
    ask, short, alternative = ORDER[lang]
    asked = core.Heard(ask, "order_status", 0.9, AT, asr_confidence=0.9)
    read_backs = ReadBacks.of([m.flow])
    # A digit lost, the beam alternative has five: the product reads that one back ("Did you say order 4 8 1 5 2?").
    guess = core.Heard(short, None, 0.0, AT, alternatives=(alternative,), asr_confidence=0.9)
    [turn] = bot_turns(m, asked, guess)
    assert read_backs.digits(turn, lang) == "48152", turn.text
    # The caller said another number instead of yes/no: that one is read back.
    other = core.Heard(alternative.replace("5 2", "5 3"), None, 0.0, AT, asr_confidence=0.3)
    [again] = bot_turns(m, asked, guess, other)
    assert read_backs.digits(again, lang) == "48153", again.text
    # The same node re-asking for the number (its reprompt names an example number) is not a read-back.
    [reprompt] = bot_turns(m, asked, core.Heard(short, None, 0.0, AT, asr_confidence=0.9))
    assert reprompt.node == turn.node and read_backs.digits(reprompt, lang) is None, reprompt.text
    # The prompt's words at another node, or the caller's own turn, are not the bot reading back.
    assert read_backs.digits(TurnRecord(role="bot", text=turn.text, node="menu", language=lang), lang) is None
    assert read_backs.digits(TurnRecord(role="caller", text=turn.text, node=turn.node), lang) is None


@pytest.mark.parametrize(("lang", "item"), [("en", "the coffee grinder"), ("pl", "młynek do kawy")])
def test_the_offer_of_the_callers_latest_order_is_heard_with_its_number(lang: str, item: str) -> None:
    # `--orders-on-file`: "I can see your latest order on this phone number: 4 8 1 5 2, … Is it about that one?"
    # is answered like a read-back (yes to the script's own number, else no and the number).
    read_backs = ReadBacks.of([shipped(lang).flow])
    said = {"en": f"I can see your latest order on this phone number: 4 8 1 5 2, {item}. Is it about that one?",
            "pl": f"Widzę ostatnie zamówienie z tego numeru telefonu: 4 8 1 5 2, {item}. Czy chodzi o to zamówienie?"}
    offer = TurnRecord(role="bot", text=said[lang], node="offer_latest_order", action="continue", language=lang)
    assert read_backs.digits(offer, lang) == "48152"


def test_a_prompt_template_becomes_a_pattern_that_captures_only_the_digits() -> None:
    pattern = prompt_pattern("Did you say {slot_name} {heard}, {caller.name}?")
    assert pattern is not None
    m = pattern.search("Sorry about that. Did you say ticket 1 2 0 9 9, Anna?")
    assert m is not None and m.group("heard") == "1 2 0 9 9"
    assert pattern.search("Did you say ticket one two, Anna?") is None
    assert prompt_pattern("What is your order number?") is None  # no {heard}: nothing is read back


@pytest.mark.parametrize("lang, script", [
    ("en", ["Hi, I would like to check where my order is.", "It is four eight one five two."]),
    ("pl", ["Gdzie jest moja przesyłka?", "Cztery osiem jeden pięć dwa."]),
])
def test_the_caller_says_yes_to_its_own_number_and_no_with_the_number_again_to_another(
        lang: str, script: list[str]) -> None:
    assert answer("48152", script, lang) == (True, YES[lang])
    assert answer("48122", script, lang) == (False, f"{NO[lang]} {script[1]}")
    # Said after a later sentence without digits, the number sentence is still the one repeated.
    assert answer("4812", [*script, YES[lang]], lang) == (False, f"{NO[lang]} {script[1]}")
    # A second wrong read-back after "No. <number>": the same answer again (only it was synthesized).
    first_no = f"{NO[lang]} {script[1]}"
    assert answer("48112", [*script, first_no], lang) == (False, first_no)
    # A number read back to a caller who never said one: a plain no.
    assert answer("12345", script[:1], lang) == (False, NO[lang])
    # Its latest order offered before it said its number (`--orders-on-file`): its script's number decides.
    assert answer("48152", script[:1], lang, plan=script) == (True, YES[lang])
    assert answer("12345", script[:1], lang, plan=script) == (False, f"{NO[lang]} {script[1]}")


def test_every_phone_set_has_what_the_scripted_caller_needs() -> None:
    # Problems are reported by file and position only, so a blind set's contents are never shown.
    problems: list[str] = []
    sets = sorted((ROOT / "bench" / "data").glob("phone_*.yaml"))
    assert sets
    for path in sets:
        convs = yaml.safe_load(path.read_text())["conversations"]
        ids = [c.get("id") for c in convs]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) for i in ids):
            problems.append(f"{path.name}: conversation ids missing or repeated")
        for n, c in enumerate(convs):
            where = f"{path.name} #{n}"
            if c.get("language") not in YES:
                problems.append(f"{where}: language has no yes/no answer")
            if c.get("kind") not in ("routine", "escalation"):
                problems.append(f"{where}: kind")
            if not isinstance(c.get("voice"), str) or not isinstance(c.get("speed", 150), int):
                problems.append(f"{where}: voice/speed")
            if not isinstance(c.get("noise", -40), int | float):
                problems.append(f"{where}: noise")
            turns = c.get("turns")
            if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
                problems.append(f"{where}: turns must be sentences")
            expect = c.get("expect") or {}
            if c.get("kind") == "routine" and not all(isinstance(f, str) for f in expect.get("facts", [])):
                problems.append(f"{where}: expect.facts")
            if c.get("kind") == "escalation" and not expect.get("reason"):
                problems.append(f"{where}: expect.reason")
            if not isinstance(c.get("keypad", False), bool):
                problems.append(f"{where}: keypad must be true or false")
    assert problems == []


# (language, the caller's number sentence, its digits)
TYPED = {"en": ("It is four eight one five two.", "48152"), "pl": ("To jest jeden dwa trzy cztery pięć.", "12345")}
COUNT = {"en": "Yes, two payments on my card.", "pl": "Tak, dwie płatności na karcie."}
ONE_MOMENT = {"en": "Yes, one moment.", "pl": "Tak, jedną chwilę."}


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_a_keypad_number_is_typed_only_when_the_bot_turn_asks_for_one_and_comes_from_the_script(lang: str) -> None:
    m = shipped(lang)
    keypad = Keypad.of([m.flow])
    sentence, digits = TYPED[lang]
    [greeting] = bot_turns(m)
    [asked] = bot_turns(m, core.Heard(ORDER[lang][0], "order_status", 0.9, AT, asr_confidence=0.9))
    # The order-number question (a digits ask node in the flow): its number is typed, whatever the bot heard.
    assert keypad.accepts(asked, lang), asked
    assert keypad.keys(asked, lang, sentence) == digits
    assert keypad.keys(asked, lang, "Yes.") == ""  # nothing to type: spoken
    # phone_blind6 en-c5: "Yes, one moment. It is four eight one five two." typed 148152: only the number's clause.
    assert keypad.keys(asked, lang, f"{ONE_MOMENT[lang]} {sentence}") == digits
    # The greeting/menu asks no number: the same sentence is spoken.
    assert not keypad.accepts(greeting, lang) and keypad.keys(greeting, lang, sentence) == "", greeting
    # The question's node decides, not its words: the same text at another node, a transfer, the caller's turn.
    assert not keypad.accepts(TurnRecord(role="bot", text=asked.text, node="menu", language=lang), lang)
    assert not keypad.accepts(TurnRecord(role="bot", text=asked.text, node=asked.node, action="transfer",
                                         language=lang), lang)
    assert not keypad.accepts(TurnRecord(role="caller", text=asked.text, node=asked.node), lang)
    # A node of that name in the other language's flow is not this call's question.
    other = "pl" if lang == "en" else "en"
    assert not keypad.accepts(TurnRecord(role="bot", text=asked.text, node=asked.node, language=other), lang)


class _Record(ScriptedCaller):
    """The scripted caller with a call record given here instead of read from Redis."""

    def __init__(self, lang: str, turns: list[TurnRecord], keypad: Keypad | None,
                 questions: Keypad | None = None, menus: Menus | None = None, goal: str = "",
                 guesses: Guesses | None = None) -> None:
        super().__init__(lang, {YES[lang]: Sentence.from_ulaw(YES[lang], b"\x00" * 800)}, None,
                         None, ReadBacks({}), "+48500100000",  # type: ignore[arg-type]
                         questions or keypad or Keypad(frozenset()), keypad, menus, goal, guesses=guesses)
        self.record = turns

    async def _turns(self) -> list[TurnRecord]:
        return self.record


def _events(sentence: Sentence) -> str:
    """The keys a sentence sends: one per press (its end packet, the first of the three)."""
    out, ended = "", False
    for frame in sentence.frames:
        if len(frame) == EVENT_BYTES:
            end = bool(frame[1] & 0x80)
            if end and not ended:
                out += "0123456789*#ABCD"[frame[0]]
            ended = end
        else:
            ended = False
    return out


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_a_keypad_caller_types_its_script_number_as_telephone_events_and_reports_it(lang: str) -> None:
    m = shipped(lang)
    sentence, digits = TYPED[lang]
    spoken = Sentence.from_ulaw(sentence, b"\x00" * 1600)  # loud enough to be voiced; no audio is judged here
    record = [*bot_turns(m), TurnRecord(role="caller", text="..."),
              *bot_turns(m, core.Heard(ORDER[lang][0], "order_status", 0.9, AT, asr_confidence=0.9))]
    caller = _Record(lang, record, Keypad.of([m.flow]))
    typed = await caller.choose(spoken)
    assert typed.keys == digits and typed.text == sentence and _events(typed) == digits
    assert all(len(f) == EVENT_BYTES or set(f) == {0xFF} for f in typed.frames)  # keys and silence, no speech
    await caller.react(typed)
    assert caller.typed == [digits] and caller.said == []  # not judged against what whisper heard
    # Without a keypad (every other conversation) the same sentence is spoken, as before.
    assert await _Record(lang, record, None).choose(spoken) is spoken
    # At the greeting no number is asked: spoken, keypad or not.
    assert await _Record(lang, record[:1], Keypad.of([m.flow])).choose(spoken) is spoken


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_a_caller_asked_for_its_number_again_says_it_again_at_most_twice(lang: str) -> None:
    m = shipped(lang)
    ask, short, _alternative = ORDER[lang]
    sentence = Sentence.from_ulaw(TYPED[lang][0], b"\x00" * 1600)
    asked = core.Heard(ask, "order_status", 0.9, AT, asr_confidence=0.9)
    # The bot heard four digits and asks for all five again at the same number question (not a read-back).
    reask = bot_turns(m, asked, core.Heard(short, None, 0.0, AT, asr_confidence=0.9))
    caller = _Record(lang, [*bot_turns(m), TurnRecord(role="caller", text="..."), *reask], None,
                     Keypad.of([m.flow]))
    assert await caller.react(sentence) == [sentence]  # said again, as a caller on the phone would
    caller.record = [*caller.record, TurnRecord(role="caller", text="..."), *reask]
    assert await caller.react(sentence) == [sentence]
    caller.record = [*caller.record, TurnRecord(role="caller", text="..."), *reask]
    assert await caller.react(sentence) == [] and caller.repeated == 2  # a third time it goes on with its script
    assert caller.said == [sentence.text] * 3
    # A sentence without a number is not repeated when the bot then asks for the number (it has none to give).
    hello = Sentence.from_ulaw(ask, b"\x00" * 1600)
    first = _Record(lang, [*bot_turns(m), TurnRecord(role="caller", text="..."), *bot_turns(m, asked)], None,
                    Keypad.of([m.flow]))
    assert await first.react(hello) == [] and first.repeated == 0
    # Nor one whose only number is a count ("two payments on my card" is no order number).
    count = Sentence.from_ulaw(COUNT[lang], b"\x00" * 1600)
    assert await _Record(lang, first.record, None, Keypad.of([m.flow])).react(count) == []
    # Answered at another node (the order's status read out), the script goes on.
    served = bot_turns(m, asked, core.Heard(TYPED[lang][0], None, 0.0, AT, asr_confidence=0.9))
    done = _Record(lang, [*bot_turns(m), TurnRecord(role="caller", text="..."), *served], None, Keypad.of([m.flow]))
    assert not Keypad.of([m.flow]).accepts(served[0], lang), served[0].text
    assert await done.react(sentence) == []


NOT_UNDERSTOOD = {"en": "Hi, Dora, mumble mumble.", "pl": "Salo, siaram napitać, a miłko."}


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_a_keypad_caller_not_understood_presses_the_menu_key_of_its_goal_once(lang: str) -> None:
    # phone_blind13/14 pl keypad callers: their first words heard as nonsense, the bot read out its keypad menu
    # ("1 to status zamówienia…"), and the caller went on speaking; a caller who types presses 1 there.
    m = shipped(lang)
    menus = Menus.from_data(keypad_menus([m.flow]))
    heard = core.Heard(NOT_UNDERSTOOD[lang], None, 0.0, AT, asr_confidence=0.3)
    [menu] = bot_turns(m, heard)
    assert menus.key(menu, lang, "order_status") == "1" and menus.key(menu, lang, "opening_hours") == "2"
    [greeting] = bot_turns(m)  # the menu node, its keypad menu not read out: nothing to press
    assert menus.key(greeting, lang, "order_status") == "" and menus.key(menu, lang, "complaint") == ""
    sentence = Sentence.from_ulaw(NOT_UNDERSTOOD[lang], b"\x00" * 1600)
    record = [greeting, TurnRecord(role="caller", text="..."), menu]
    caller = _Record(lang, record, Keypad.of([m.flow]), menus=menus, goal="order_status")
    [press] = await caller.react(sentence)
    assert press.text == MENU_CHOICE and press.keys == "1" and _events(press) == "1"
    assert await caller.react(press) == [] and caller.menu_keys == ["1"]  # pressed once, not as its number
    assert caller.typed == [] and caller.script == [sentence.text]
    # A caller who speaks (no keypad) goes on with its script.
    assert await _Record(lang, record, None, menus=menus, goal="order_status").react(sentence) == []


GUESSED = {"en": ("Hi, I forgot when your repair person is supposed to come round.", "appointment_info"),
           "pl": ("Dzień dobry, zapomniałam, kiedy ma przyjść wasz technik.", "appointment_info")}


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_a_caller_says_yes_to_the_bots_guess_about_what_it_called_about_and_only_then(lang: str) -> None:
    # phone_blind27 en-r4: the bot, unsure, asked "Is it about when your appointment is?" and the one-sentence
    # caller hung up on it; a real caller who called about the visit says yes.
    m = shipped(lang)
    text, intent = GUESSED[lang]
    guesses = Guesses(guess_questions([m.flow]))
    [guess] = bot_turns(m, core.Heard(text, None, 0.3, AT, asr_confidence=0.8, best=intent))
    assert guesses.intent(guess, lang) == intent, guess.text
    [greeting] = bot_turns(m)
    assert guesses.intent(greeting, lang) is None
    record = [greeting, TurnRecord(role="caller", text="..."), guess]
    sentence = Sentence.from_ulaw(text, b"\x00" * 1600)
    caller = _Record(lang, record, None, goal=intent, guesses=guesses)
    [yes] = await caller.react(sentence)
    assert yes.text == YES[lang] and caller.guessed == [(intent, "yes")]
    # A caller who called about something else goes on with its script (its next sentence is its "no, ...").
    other = _Record(lang, record, None, goal="order_status", guesses=guesses)
    assert await other.react(sentence) == [] and other.guessed == [(intent, "")]
    # Its goal: the first sentence beyond small talk, as the flow's NLU scores it.
    best = {"Hello.": "greeting", text: intent, "Thanks.": "thanks"}.get
    assert goal_of(["Hello.", text, "Thanks."], lambda t: best(t) or "") == intent
    assert goal_of(["Hello."], lambda t: best(t) or "") == ""


@pytest.mark.parametrize(("reason", "turn", "caught", "reached"), [
    ("payment_problem", 1, True, True),
    ("complaint", 2, False, True),  # a person reached in time, for another reason than the set expects
    ("payment_problem", 3, False, False),  # too late
])
async def test_an_escalation_is_judged_caught_with_its_reason_and_reached_whatever_the_reason(
        call_store, reason: str, turn: int, caught: bool, reached: bool) -> None:
    conv = {"id": "e", "language": "en", "kind": "escalation", "turns": ["a", "b", "c"],
            "expect": {"reason": ["payment_problem"], "within": 2}}
    await call_store.start_call("judge-e")
    for n in range(1, turn + 1):
        await call_store.add_turn("judge-e", TurnRecord(role="caller", text=f"turn {n}", asr_confidence=0.5))
        last = n == turn
        await call_store.add_turn("judge-e", TurnRecord(
            role="bot", text="connecting you" if last else "sorry?", action="transfer" if last else "continue",
            reason=reason if last else None, node="handoff" if last else "start"))
    await call_store.end_call("judge-e", "transferred")
    res = await judge(conv, call_store, "judge-e", ReadBacks({}))
    assert (res.caught, res.reached) == (caught, reached)


@pytest.mark.parametrize(("sentence", "number"), [
    ("Sure, the order number is forty-eight, fifteen, two.", "48152"),  # phone_blind16 en-r1: said in pairs
    ("To jest czterdzieści osiem, piętnaście, dwa.", "48152"),
    ("It's one, two, three, four, five.", "12345"),
    ("Yes, one moment. It is four eight one five two.", "48152"),  # not 148152
    ("Yes, one moment, it is four eight one five two.", "48152"),
    ("Yes, two payments on my card.", "2"),
])
def test_the_number_a_sentence_gives_keeps_pairs_said_with_pauses_and_leaves_other_words_out(
        sentence: str, number: str) -> None:
    assert number_of(sentence) == number
