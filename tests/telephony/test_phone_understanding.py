"""Routine callers are understood over the phone line: real SIP calls (sipp, G.711 at 8 kHz) with espeak-ng's
voice (not the bot's own), judged from the call record in Redis, as a supervisor would see them.

Each caller speaks its script on a timer (sipp plays one pcap: sentences with silence between for the bot's
answers) and hangs up. bench/phone.py runs many more such calls and prints the rates.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.support.sip_helpers import write_pcap
from tests.support.sipp_caller import espeak_script, sipp_call
from tests.telephony.test_sip_calls import GREETING_MS
from voicebot.config import PROJECT_ROOT, Settings
from voicebot.dialog import core
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.loader import load_engine
from voicebot.escalation.handoff import handoff_writer
from voicebot.escalation.tracker import make_tracker
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore, TurnRecord

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture
async def line(line_settings: Settings, call_store: CallStore, sip_models,
               tmp_path: Path) -> AsyncIterator[Callable[..., SipLine]]:
    """Starts a SIP line with the real pipeline, the escalation rules, the demo CRM (orders) and `escalation`
    overrides; `language` is the line's; `confirm_below` replaces the shipped flows' setting (a copy of dialogs/)."""
    crm = await start_demo_crm()
    started: list[SipLine] = []

    async def start(language: str = "en", confirm_below: float | None = None, no_input_secs: float | None = None,
                    **escalation: object) -> SipLine:
        dialog = line_settings.dialog.model_copy(update={
            "crm_url": crm.url, "default_language": language,
            **({"no_input_secs": no_input_secs} if no_input_secs else {})})
        if confirm_below is not None:
            flows = tmp_path / "dialogs"
            shutil.copytree(PROJECT_ROOT / "dialogs", flows)
            for path in flows.glob("*.yaml"):
                text = path.read_text("utf-8")
                path.write_text(text.replace("confirm_below: 0.6", f"confirm_below: {confirm_below}"), "utf-8")
            dialog = dialog.model_copy(update={"flows_dir": str(flows)})
        settings = line_settings.model_copy(update={
            "dialog": dialog, "escalation": line_settings.escalation.model_copy(update=escalation)})
        services = CallServices(settings=settings, models=sip_models, dialog=load_engine(settings, make_tracker),
                                store=call_store, write_handoff=handoff_writer(settings))
        started.append(SipLine(settings, services))
        await started[-1].start()
        return started[-1]

    yield start
    for sip_line in started:
        await sip_line.stop()
        await sip_line.services.dialog.close()
    await crm.stop()


async def phone_call(line: SipLine, store: CallStore, tmp: Path, script: list[tuple[str, float]],
                     voice: str = "en-us", keys: str = "", greeting_ms: int = GREETING_MS,
                     ) -> tuple[dict, list[TurnRecord]]:
    """Call the bot, say each sentence followed by that many seconds of silence, then press `keys` (',' = a
    second's pause), hang up: (record, turns)."""
    secs = write_pcap(tmp / "script.pcap", b"".join(espeak_script(tmp, script, voice)), digits=keys)
    call = await sipp_call(line, store, tmp, "caller_speaks", {
        "pcap": str(tmp / "script.pcap"), "greeting_ms": str(greeting_ms),
        "listen_ms": str(int(secs * 1000) + 500)}, timeout=greeting_ms / 1000 + 2 * secs + 30)
    said = "\n".join(f"{t.role}: {t.text} ({t.action}, {t.node})" for t in call.turns)
    assert call.result.returncode == 0, said + "\n" + call.result.log[-2000:]  # the caller, not the bot, hung up
    assert call.record is not None
    return call.record, call.turns


def bot_said(turns: list[TurnRecord]) -> str:
    return " ".join(t.text for t in turns if t.role == "bot")


def handed_over(turns: list[TurnRecord]) -> list[str]:
    return [f"{t.reason}: {t.text}" for t in turns if t.role == "bot" and t.action in ("transfer", "callback")]


async def test_routine_three_turn_call_is_served_and_recorded_as_contained(
        line, call_store: CallStore, tmp_path: Path) -> None:
    record, turns = await phone_call(await line(), call_store, tmp_path, [
        ("Hi, I would like to check where my order is.", 7),
        ("It is four eight one five two.", 6),
        # Heard uncertainly, the number is read back ("Did you say order 4 8 1 5 2?"); heard with a digit lost,
        # the bot asks for all five again; heard clearly, this answers "Is there anything else?" (yes: what else?).
        # As a caller would, this answers all three.
        ("Yes, four eight one five two.", 13),
        ("And what are your opening hours on Saturday?", 9),
    ])
    heard = [f"{t.text} ({t.asr_confidence})" for t in turns if t.role == "caller"]
    assert not handed_over(turns), (handed_over(turns), heard)
    said = bot_said(turns)
    assert "coffee grinder" in said, heard  # the order's status was read out
    assert "9 am to 2 pm" in said, heard  # the opening hours were answered
    # The caller hung up after "anything else?": the bot's success, not an abandoned call.
    assert record["outcome"] == "contained"


async def test_an_order_number_missing_a_digit_is_read_back_not_handed_over(
        line, call_store: CallStore, tmp_path: Path) -> None:
    _record, turns = await phone_call(await line(), call_store, tmp_path, [
        ("Where is my order?", 7),
        ("Four eight one two.", 8),
    ])
    assert not handed_over(turns)
    last = [t for t in turns if t.role == "bot"][-1]
    assert last.node == "ask_order" and "4 8 1 2" in last.text and "digits" in last.text, last.text


async def test_a_clear_turn_with_a_low_asr_score_is_not_handed_over(
        line, call_store: CallStore, tmp_path: Path) -> None:
    # Every real turn counts as "low ASR confidence" here (minimum 0.99, one turn enough): the question is
    # answered all the same because the bot understood it.
    low_line = await line(asr_confidence_min=0.99, low_confidence_turns=1)
    _record, turns = await phone_call(low_line, call_store, tmp_path, [("What are your opening hours on Saturday?", 9)])
    caller = [t for t in turns if t.role == "caller"]
    assert caller and all(t.asr_confidence is not None and t.asr_confidence < 0.99 for t in caller)
    assert not handed_over(turns) and "9 am to 2 pm" in bot_said(turns), [t.text for t in caller]


async def test_a_first_turn_bye_followed_by_more_speech_does_not_end_the_call(
        line, call_store: CallStore, tmp_path: Path) -> None:
    record, turns = await phone_call(await line(), call_store, tmp_path, [
        ("Bye.", 1.2),
        ("I would like to check where my order is.", 8),
    ])
    bot = [t for t in turns if t.role == "bot"]
    assert not any(t.action == "end" for t in bot), [(t.text, t.action) for t in turns]
    assert bot[-1].node == "ask_order", [t.text for t in turns]
    assert record["outcome"] == "abandoned"  # the caller hung up before being served


async def test_an_uncertain_order_number_is_read_back_and_used_once_confirmed(
        line, call_store: CallStore, tmp_path: Path) -> None:
    # Every spoken number counts as uncertain here (confirm_below 0.99): the bot asks before looking it up.
    record, turns = await phone_call(await line(confirm_below=0.99), call_store, tmp_path, [
        ("Where is my order?", 7),
        ("It is four eight one five two.", 7),
        ("Yes, that's right.", 13),
    ])
    bot = [t for t in turns if t.role == "bot"]
    said = [(t.role, t.text) for t in turns]
    [asked] = [i for i, t in enumerate(bot) if "Did you say order" in t.text]
    assert bot[asked].node == "ask_order", said
    # Read back digit by digit: what whisper heard (the espeak "five" is sometimes lost on the line; then the
    # caller here wrongly says yes, and the bot looks up the number it read back, as it should).
    digits = "".join(bot[asked].text.removeprefix("Did you say order").split()).rstrip("?")
    assert len(digits) == 5 and digits.isdigit(), said
    assert not any("coffee grinder" in t.text for t in bot[:asked + 1]), said  # not looked up before the "yes"
    answer = bot[asked + 1].text
    assert "coffee grinder" in answer if digits == "48152" else " ".join(digits) in answer, said
    assert not handed_over(turns), said
    assert record["outcome"] == "contained"


@pytest.mark.parametrize(("language", "greeting_ms", "item"), [
    ("en", GREETING_MS, "coffee grinder"),
    ("pl", 12000, "młynek do kawy"),  # the Polish greeting by espeak-ng is longer
])
async def test_keypad_at_the_menu_and_for_the_order_number(
        line, call_store: CallStore, tmp_path: Path, language: str, greeting_ms: int, item: str) -> None:
    # RFC 4733 key presses, no speech: 1 at the menu (order status), then the order number typed with '#'.
    _record, turns = await phone_call(await line(language=language), call_store, tmp_path, [], keys="1" + "," * 7
                                      + "48152#" + "," * 12, greeting_ms=greeting_ms)
    said = [(t.role, t.text, t.node) for t in turns]
    assert [t.text for t in turns if t.role == "caller"][:2] == ["[DTMF 1]", "[DTMF 48152#]"], said
    bot = [t for t in turns if t.role == "bot"]
    assert bot[1].node == "ask_order", said  # the menu key chose the order-status topic
    assert item in bot[2].text and not handed_over(turns), said


async def test_nine_at_the_polish_greeting_switches_the_call_to_english(
        line, call_store: CallStore, tmp_path: Path) -> None:
    # The Polish greeting ends with "To continue in English, press 9." in the English voice (~10 s in all); the
    # caller presses 9 (RFC 4733) and hears the English greeting.
    record, turns = await phone_call(await line(language="pl"), call_store, tmp_path, [], keys="9" + "," * 10,
                                     greeting_ms=12000)
    said = [(t.role, t.language, t.text) for t in turns]
    assert turns[0].role == "bot" and turns[0].text.endswith("To continue in English, press 9."), said
    assert [t.text for t in turns if t.role == "caller"] == ["[DTMF 9]"], said
    bot = [t for t in turns if t.role == "bot"]
    assert [t.language for t in bot] == ["pl", "en"] and bot[1].text.startswith("Hello"), said
    assert record["language"] == "en" and not handed_over(turns), said


async def test_a_caller_talking_over_the_goodbye_is_not_hung_up_on(
        line, call_store: CallStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "I don't need anything else" ends the call; the caller goes on as the bot's goodbye (2.3 s) ends: their
    # voice starts 0.5 s (espeak's trailing silence) + 2.4 s after their last word, i.e. 2.9 s minus the bot's
    # reply latency (0.4-0.9 s) into the goodbye, so it is confirmed as speech around or after the goodbye's
    # last packet (a hang-up there was the bug of issue 11). The line stays up (sipp, the caller, ends the call:
    # run_sipp's return code) and the bot answers the new request; tests/pipeline/test_call_endings.py times it
    # exactly.
    # Only the line's part is under test: the caller's goodbye is obeyed even when whisper scores it low (not
    # asked about, see test_phone_turns.py), and the bot waits out the scripted pauses without "still there?".
    monkeypatch.setattr(core, "GOODBYE_ASR_MIN", 0.0)
    # Likewise the new request talked over the goodbye is taken at once: a low score asks about it first by design
    # (core.SWITCH_ASR_MIN, tests/dialog), and whisper's score of a talked-over sentence hangs on where the line cut
    # it (CI: "... where my order is. Clean." was asked about).
    monkeypatch.setattr(core, "SWITCH_ASR_MIN", 0.0)
    _record, turns = await phone_call(await line(no_input_secs=30), call_store, tmp_path, [
        ("What are your opening hours on Saturday?", 16),  # after the ~10 s answer: no barge-in clips it
        # Not a leading "No" (clipped on the line, it was "Oh"), nor "Thanks, ..." (at the comma's pause a quiet
        # machine answers "Thanks," alone, heard as "Bank.").
        ("I don't need anything else.", 2.4),
        ("Actually, one more thing. I would like to check where my order is, please.", 9),
    ])
    said = "\n".join(f"{t.role}: {t.text} ({t.action}, {t.node})" for t in turns)
    bot = [t for t in turns if t.role == "bot"]
    ended = [i for i, t in enumerate(bot) if t.action == "end"]
    assert ended, said  # the goodbye was said ...
    assert any(t.node == "ask_order" for t in bot[ended[0] + 1:]), said  # ... and the caller's words answered


async def test_unclear_words_after_the_caller_was_served_are_asked_about_not_handed_over(
        line, call_store: CallStore, tmp_path: Path) -> None:
    # Every real turn counts as low ASR confidence here (minimum 0.99, one turn enough), as whisper scores a
    # caller's garbled "Alright, thanks. Goodbye." on a noisy line (phone_blind5 en-c6 "Bank." 0.33): at "anything
    # else?" the bot asks again instead of handing a served caller to a colleague (tests/dialog/test_closing_turns.py).
    low_line = await line(asr_confidence_min=0.99, low_confidence_turns=1)
    _record, turns = await phone_call(low_line, call_store, tmp_path, [
        ("What are your opening hours on Saturday?", 12),
        ("What is the weather like today?", 9),  # words the bot cannot use, heard as such on the line
    ])
    said = [(t.role, t.text, t.asr_confidence) for t in turns]
    bot = [t for t in turns if t.role == "bot"]
    assert "9 am to 2 pm" in bot_said(turns) and not handed_over(turns), said
    assert bot[-1].action == "continue" and bot[-1].node == "anything_else", said
