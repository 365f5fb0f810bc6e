"""Every node kind and slot type, in a small flow written for this test in both languages, plus the
pure `step` core (deterministic, no I/O)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from voicebot.config import BusinessHoursSettings
from voicebot.dialog import core
from voicebot.dialog.actions import ActionOutcome
from voicebot.dialog.registry import compile_flow

WORDS = {
    "en": {"hi": "Hello, automated pizza line.", "menu": "What would you like?", "size": "Which size?",
           "qty": "How many pizzas?", "order": "order a pizza", "order2": "I want pizza", "order3": "pizza please",
           "info": "where are you", "info2": "your address", "info3": "location", "small": "small",
           "large": "large", "big": "big", "three": "three", "sorry": "Sorry?"},
    "pl": {"hi": "Dzień dobry, automatyczna pizzeria.", "menu": "Co podać?", "size": "Jaki rozmiar?",
           "qty": "Ile pizz?", "order": "zamawiam pizzę", "order2": "chcę pizzę", "order3": "poproszę pizzę",
           "info": "gdzie jesteście", "info2": "wasz adres", "info3": "lokalizacja", "small": "mała",
           "large": "duża", "big": "wielka", "three": "trzy", "sorry": "Słucham?"},
}


def mini_flow(lang: str) -> str:
    w = WORDS[lang]
    return f"""
id: pizza
language: {lang}
greeting: "{w['hi']}"
start: menu
messages:
  no_match: ["{w['sorry']}"]
  help: "help"
  anything_else: "more?"
  handoff: "human"
  callback_offer: "call back {{callback_time}}"
  goodbye: "bye"
  action_failed: "failed"
intents:
  talk_to_human: {{examples: [human, person, agent, człowiek, konsultant]}}
  repeat: {{examples: [repeat, again, powtórz]}}
  help: {{examples: [help, pomoc, options]}}
  goodbye: {{examples: [bye, goodbye, do widzenia]}}
  order: {{goto: ask_size, examples: ["{w['order']}", "{w['order2']}", "{w['order3']}"]}}
  info: {{goto: info, examples: ["{w['info']}", "{w['info2']}", "{w['info3']}"]}}
nodes:
  menu: {{kind: say, say: "{w['menu']}"}}
  info: {{kind: say, say: "Main street 1.", next: later}}
  later: {{kind: callback, say: "We call back {{callback_time}}.", topic: info}}
  ask_size:
    kind: ask
    slot: size
    type: choice
    choices: {{small: ["{w['small']}"], large: ["{w['large']}", "{w['big']}"]}}
    prompt: "{w['size']}"
    max_attempts: 2
    on_fail: human
    next: ask_qty
  ask_qty: {{kind: ask, slot: qty, type: number, prompt: ["{w['qty']}", "Count?"], next: price}}
  price: {{kind: action, action: quote, result: quote, next: check, on_error: human}}
  check:
    kind: branch
    cases:
      - when: {{var: quote.total, one_of: [0]}}
        goto: human
      - when: {{slot: size, equals: large}}
        goto: done_large
    default: done
  done_large: {{kind: end, say: "{{qty}} large, {{quote.total}} PLN."}}
  done: {{kind: end, say: "{{qty}} x {{size}}, {{quote.total}} PLN."}}
  human: {{kind: transfer, reason: pizza_problem, say: "A person will help."}}
"""


async def quote(context: dict) -> ActionOutcome:
    """A Python action from the registry: price = 30 per small, 45 per large."""
    per = 45 if context["slots"]["size"] == "large" else 30
    return ActionOutcome(True, 200, {"total": per * int(context["slots"]["qty"])})


@pytest.fixture
def pizza_dir(tmp_path: Path) -> str:
    for lang in ("en", "pl"):
        (tmp_path / f"pizza.{lang}.yaml").write_text(mini_flow(lang), encoding="utf-8")
    return str(tmp_path)


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_choice_number_action_branch_end(engine_factory, pizza_dir, lang) -> None:
    from voicebot.dialog.types import CallerSaid, CallInfo

    w = WORDS[lang]
    engine = engine_factory(flows_dir=pizza_dir, actions={"quote": quote})
    s = engine.new_session(CallInfo("p1", language=lang, flow_id="pizza"))
    assert (await s.start()).text == f"{w['hi']} {w['menu']}"
    assert (await s.handle(CallerSaid(w["order"]))).node == "ask_size"
    qty = await s.handle(CallerSaid(f"{w['big']}, {'please' if lang == 'en' else 'proszę'}"))
    assert qty.slots == {"size": "large"} and qty.text == w["qty"]
    done = await s.handle(CallerSaid(w["three"]))
    assert done.action == "end" and done.node == "done_large" and done.text == "3 large, 135 PLN."
    await engine.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_choice_by_keypad_and_failed_choice_goes_to_fallback(engine_factory, pizza_dir, lang) -> None:
    from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo

    engine = engine_factory(flows_dir=pizza_dir, actions={"quote": quote})
    s = engine.new_session(CallInfo("p2", language=lang, flow_id="pizza"))
    await s.start()
    await s.handle(CallerSaid(WORDS[lang]["order2"]))
    assert (await s.handle(CallerDtmf("1"))).slots["size"] == "small"
    assert (await s.handle(CallerDtmf("12"))).text == "12 x small, 360 PLN."
    s2 = engine.new_session(CallInfo("p3", language=lang, flow_id="pizza"))
    await s2.start()
    await s2.handle(CallerSaid(WORDS[lang]["order3"]))
    assert (await s2.handle(CallerSaid("medium"))).node == "ask_size"
    failed = await s2.handle(CallerSaid("extra medium"))
    assert failed.action == "transfer" and failed.reason == "pizza_problem"  # on_fail of max_attempts: 2
    await engine.close()


async def test_python_action_exception_goes_to_on_error(engine_factory, pizza_dir) -> None:
    from voicebot.dialog.types import CallerSaid, CallInfo

    async def broken(context: dict) -> ActionOutcome:
        raise RuntimeError("pricing service bug")

    engine = engine_factory(flows_dir=pizza_dir, actions={"quote": broken})
    s = engine.new_session(CallInfo("p4", language="en", flow_id="pizza"))
    await s.start()
    await s.handle(CallerSaid("order a pizza"))
    await s.handle(CallerSaid("small"))
    reply = await s.handle(CallerSaid("two"))
    assert reply.action == "transfer" and reply.text == "failed A person will help."


def test_step_is_pure_and_deterministic() -> None:
    loaded = compile_flow(mini_flow("en"), "pizza.en.yaml", BusinessHoursSettings(), actions={"quote"})
    m = loaded.machine
    at = datetime(2026, 11, 25, 10, 0)
    s0, fx0 = m.step(core.DialogState(), core.Start(at))
    assert [type(e) for e in fx0] == [core.Say, core.Say] and s0.node == "menu"
    s1, _fx1 = m.step(s0, core.Heard("order a pizza", "order", 0.9, at))
    assert s0.node == "menu" and s1.node == "ask_size"  # the input state is untouched
    s2, _fx2 = m.step(s1, core.KeysPressed("2", at))
    s3, fx3 = m.step(s2, core.Heard("four", None, 0.1, at))
    (run,) = fx3
    assert isinstance(run, core.RunAction) and run.action == "quote" and run.context["slots"]["qty"] == 4
    s4, fx4 = m.step(s3, core.ActionResult("price", True, at, 200, {"total": 180}))
    assert fx4 == [core.Say("4 large, 180 PLN."), core.End("completed")] and s4.finished
    again = m.step(s3, core.ActionResult("price", True, at, 200, {"total": 180}))
    assert again == (s4, fx4)
    _s5, fx5 = m.step(s3, core.ActionResult("price", True, at, 200, {"total": 0}))
    assert fx5[-1] == core.Transfer("pizza_problem")


def test_callback_node_and_say_chain_when_open() -> None:
    loaded = compile_flow(mini_flow("en"), "pizza.en.yaml", BusinessHoursSettings(), actions={"quote"})
    at = datetime(2026, 11, 25, 19, 59)
    s, _ = loaded.machine.step(core.DialogState(), core.Start(at))
    s, fx = loaded.machine.step(s, core.Heard("where are you", "info", 0.9, at))
    assert fx[0] == core.Say("Main street 1.") and fx[1] == core.Say("We call back Wednesday, 25 November at 7:59 pm.")
    assert isinstance(fx[2], core.Callback) and fx[2].topic == "info"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_prompt_variants_rotate_on_repeat(engine_factory, pizza_dir, lang) -> None:
    from voicebot.dialog.types import CallerSaid, CallInfo

    engine = engine_factory(flows_dir=pizza_dir, actions={"quote": quote})
    s = engine.new_session(CallInfo("p5", language=lang, flow_id="pizza"))
    await s.start()
    await s.handle(CallerSaid(WORDS[lang]["order"]))
    first = await s.handle(CallerSaid(WORDS[lang]["small"]))
    repeated = await s.handle(CallerSaid("repeat" if lang == "en" else "powtórz"))
    assert first.text == WORDS[lang]["qty"] and repeated.text == WORDS[lang]["qty"]
