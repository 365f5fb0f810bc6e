"""Flow files are checked in stages and every problem names its rule, file:line and path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.dialog.validate import FlowInvalid, parse_flow

EN = PROJECT_ROOT / "dialogs" / "customer_service.en.yaml"

MINIMAL = """\
id: mini
language: en
greeting: "Hi."
start: menu
messages:
  no_match: ["Sorry?"]
  help: "I can tell jokes."
  anything_else: "Anything else?"
  handoff: "Connecting you."
  callback_offer: "We will call you on {callback_time}."
  goodbye: "Bye."
  action_failed: "Sorry, the system is down."
intents:
  talk_to_human: {examples: [a person please, human, agent]}
  repeat: {examples: [repeat, say again, pardon]}
  help: {examples: [help, what can you do, options]}
  goodbye: {examples: [bye, goodbye, that's all]}
  ask_name: {goto: ask_name, examples: [my name, take my name, record my name]}
nodes:
  menu:
    kind: say
    say: "What do you need?"
  ask_name:
    kind: ask
    slot: name
    type: free_text
    prompt: "Your name?"
    next: thanks
  thanks:
    kind: end
    say: "Thanks {name}."
"""


def errors_of(text: str, file: str = "dialogs/mini.en.yaml") -> list:
    with pytest.raises(FlowInvalid) as exc:
        parse_flow(text, file)
    return exc.value.errors


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_shipped_flows_are_valid() -> None:
    for path in sorted((PROJECT_ROOT / "dialogs").glob("*.yaml")):
        flow = parse_flow(path.read_text(encoding="utf-8"), str(path))
        assert flow.id in ("customer_service", "callback")  # callback: the bot calling a customer back


def test_minimal_flow_is_valid() -> None:
    assert parse_flow(MINIMAL).nodes["thanks"].kind == "end"


def test_unknown_target_names_file_line_and_path() -> None:
    text = MINIMAL.replace("next: thanks", "next: thnaks")
    (err,) = [e for e in errors_of(text) if e.rule == "unknown_target"]
    line = line_of(text, "next: thnaks")
    assert str(err) == f"dialogs/mini.en.yaml:{line} nodes.ask_name.next: unknown node 'thnaks'"


def test_unknown_on_no_target_of_an_ask() -> None:
    text = MINIMAL.replace("    next: thanks\n", "    next: thanks\n    on_no: menuu\n")
    (err,) = [e for e in errors_of(text) if e.rule == "unknown_target"]
    assert err.path == "nodes.ask_name.on_no" and err.line == line_of(text, "on_no: menuu")


def test_unknown_before_asking_target_of_an_ask() -> None:
    text = MINIMAL.replace("    next: thanks\n", "    next: thanks\n    before_asking: lookk\n")
    (err,) = [e for e in errors_of(text) if e.rule == "unknown_target"]
    assert err.path == "nodes.ask_name.before_asking" and err.line == line_of(text, "before_asking: lookk")


def test_known_reads_the_profile_or_an_action_result() -> None:
    text = MINIMAL.replace("    next: thanks\n", "    next: thanks\n    known: order.number\n")
    (err,) = [e for e in errors_of(text) if e.rule == "undefined_variable"]
    assert err.path == "nodes.ask_name.known" and "an action's result" in err.message


def test_unreachable_node() -> None:
    text = MINIMAL + "  orphan:\n    kind: end\n    say: \"never\"\n"
    (err,) = errors_of(text)
    assert err.rule == "unreachable_node" and err.path == "nodes.orphan" and err.line == line_of(text, "orphan:")


def test_missing_prompt() -> None:
    text = MINIMAL.replace('    prompt: "Your name?"\n', "")
    assert [e.rule for e in errors_of(text)] == ["missing_prompt"]


def test_unknown_slot_type() -> None:
    text = MINIMAL.replace("type: free_text", "type: postcode")
    (err,) = errors_of(text)
    assert err.rule == "unknown_slot_type" and "postcode" in err.message and err.line == line_of(text, "postcode")


def test_undefined_template_variable() -> None:
    text = MINIMAL.replace("Thanks {name}.", "Thanks {nmae}.")
    (err,) = errors_of(text)
    assert err.rule == "undefined_variable" and err.path == "nodes.thanks.say"
    assert "'nmae'" in str(err) and err.line == line_of(text, "{nmae}")


def test_unknown_action_is_rejected_but_registry_actions_are_accepted() -> None:
    text = MINIMAL.replace("    next: thanks", "    next: save").replace(
        "  thanks:\n", "  save:\n    kind: action\n    action: save_name\n    next: thanks\n  thanks:\n")
    (err,) = errors_of(text)
    assert err.rule == "unknown_action" and "save_name" in err.message
    assert parse_flow(text, actions={"save_name"}).nodes["save"].kind == "action"


def test_missing_global_intent() -> None:
    text = MINIMAL.replace("  repeat: {examples: [repeat, say again, pardon]}\n", "")
    assert [e.rule for e in errors_of(text)] == ["missing_global_intent"]


def test_schema_error_points_at_the_key() -> None:
    text = MINIMAL.replace("    slot: name\n", "    slot: name\n    colour: blue\n")
    (err,) = errors_of(text)
    assert err.rule == "schema" and err.path == "nodes.ask_name.colour" and err.line == line_of(text, "colour")


def test_yaml_syntax_error_has_a_line() -> None:
    text = MINIMAL.replace('  help: "I can tell jokes."', '  help: "I can tell jokes.\n   oops: [')
    (err,) = errors_of(text)
    assert err.rule == "yaml_syntax" and err.line > 1


def test_cli_validate_reports_errors_and_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "mini.en.yaml"
    bad.write_text(MINIMAL.replace("next: thanks", "next: confrim"), encoding="utf-8")
    good = tmp_path / "ok.en.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "voicebot", "flows", "validate", str(good), str(bad)],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert run.returncode == 1
    assert f"{bad}:{line_of(MINIMAL, 'next: thanks')} nodes.ask_name.next: unknown node 'confrim'" in run.stdout
    assert f"{good}: ok" in run.stdout
    ok = subprocess.run([sys.executable, "-m", "voicebot", "flows", "validate", str(EN)],
                        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert ok.returncode == 0, ok.stdout


def test_escalation_override_keys_are_checked() -> None:
    text = MINIMAL + "settings:\n  escalation: {frustration_threshold: 0.5, frustation: 1}\n"
    (err,) = errors_of(text)
    assert err.rule == "unknown_setting" and err.path == "settings.escalation.frustation"
    assert parse_flow(MINIMAL + "settings:\n  escalation: {frustration_threshold: 0.5}\n").settings.escalation


def test_unknown_template_filter() -> None:
    text = MINIMAL.replace("Thanks {name}.", "Thanks {name|shout}.")
    (err,) = errors_of(text)
    assert err.rule == "unknown_filter" and "'shout'" in err.message
    assert parse_flow(MINIMAL.replace("Thanks {name}.", "Thanks {name|digits}."))


def test_loop_that_never_waits_for_the_caller() -> None:
    text = MINIMAL.replace("""  menu:
    kind: say
    say: "What do you need?"
""", """  menu:
    kind: say
    say: "What do you need?"
  spin:
    kind: say
    say: "Again."
    next: spin2
  spin2:
    kind: branch
    cases:
      - {when: {slot: name, exists: true}, goto: ask_name}
    default: spin
""").replace("ask_name: {goto: ask_name", "ask_name: {goto: spin")
    errors = errors_of(text)
    assert [e.rule for e in errors] == ["loop_without_listening"]
    assert "spin -> spin2 -> spin" in errors[0].message and errors[0].line == line_of(text, "spin:")


def test_hints_with_numbers_are_rejected_where_they_are_written() -> None:
    prompt = '    prompt: "Your name?"\n'
    text = MINIMAL.replace(prompt, prompt + '    hints: "name, surname, one two"\n')
    (err,) = errors_of(text)
    assert err.rule == "number_in_hints" and err.path == "nodes.ask_name.hints" and err.line == line_of(text, "hints")
    parse_flow(text.replace(", one two", ""), "dialogs/mini.en.yaml")  # words only: valid


def test_wrong_length_message_may_use_what_was_heard() -> None:
    failed = '  action_failed: "Sorry, the system is down."\n'
    text = MINIMAL.replace(failed, failed + '  wrong_length: "I heard {heard}, {count} digits; say all {length}."\n')
    parse_flow(text, "dialogs/mini.en.yaml")
    (err,) = errors_of(text.replace("{count}", "{cuont}"))
    assert err.rule == "undefined_variable" and err.path == "messages.wrong_length"


def test_an_alias_bomb_is_refused_quickly_with_a_clear_error() -> None:
    import time

    lines = ['x0: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 9)]  # 9**9 values
    bomb = MINIMAL + "\n".join(lines) + "\n"
    t0 = time.perf_counter()
    (err,) = errors_of(bomb)
    assert time.perf_counter() - t0 < 1.0
    assert err.rule == "yaml_syntax" and "aliases" in err.message and err.line > 1


def test_an_alias_that_contains_itself_is_refused() -> None:
    (err,) = errors_of(MINIMAL + "loop: &loop [1, *loop]\n")
    assert err.rule == "yaml_syntax" and "itself" in err.message


def test_a_flow_may_still_reuse_a_few_values_with_aliases() -> None:
    text = MINIMAL.replace('  handoff: "Connecting you."', '  handoff: &bye "Connecting you."').replace(
        '  goodbye: "Bye."', '  goodbye: *bye')
    assert text != MINIMAL
    parse_flow(text)


def test_a_time_asks_choices_must_map_to_a_time_and_its_date_slot_to_a_date_ask() -> None:
    """A part of the day ("afternoon") names a time the booking can use; a typo there would book nothing."""
    text = MINIMAL.replace("    type: free_text\n", "    type: time\n    date_slot: day\n"
                           "    choices: {\"13:00\": [afternoon], \"1pm\": [after lunch]}\n")
    rules = {e.rule for e in errors_of(text)}
    assert {"time_choice_not_a_time", "date_slot_not_a_date"} <= rules


def test_a_time_asks_bookable_hours_must_be_times() -> None:
    text = MINIMAL.replace("    type: free_text\n", "    type: time\n    earliest: \"9am\"\n    latest: \"16:00\"\n")
    errors = [e for e in errors_of(text) if e.rule == "bad_time_bound"]
    assert len(errors) == 1 and "earliest" in errors[0].message and errors[0].line > 1
    parse_flow(text.replace('"9am"', '"09:00"'))


def test_language_offers_are_checked() -> None:
    offer = 'language_offers:\n  - {language: %s, key: "%s", say: "Po polsku: 9."}\n'
    assert parse_flow(MINIMAL + offer % ("pl", "9")).language_offers[0].key == "9"
    (own,) = errors_of(MINIMAL + offer % ("en", "9"))
    assert own.rule == "offers_own_language" and own.path == "language_offers.0.language"
    twice = MINIMAL + offer % ("pl", "9") + '  - {language: pl, key: "9", say: "Jeszcze raz."}\n'
    assert [e.rule for e in errors_of(twice)] == ["duplicate_language_key"]
    asked = '    say: "What do you need?"\n'
    menu = MINIMAL.replace(asked, asked + '    keys: {"9": ask_name}\n')
    (clash,) = errors_of(menu + offer % ("pl", "9"))
    assert clash.rule == "language_key_in_menu" and "'menu'" in clash.message
    (bad,) = errors_of(MINIMAL + offer % ("pl", "0"))  # 0 always means a person
    assert bad.rule == "schema" and bad.path == "language_offers.0.key"
