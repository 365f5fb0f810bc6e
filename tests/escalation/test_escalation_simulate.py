"""End to end through `voicebot simulate --jsonl`: the real flows, NLU and escalation tracker decide.

One simulate process per language runs every scripted call (blank lines separate calls); the clock is
pinned inside business hours, except for the callback case.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from voicebot.config import PROJECT_ROOT

BUSINESS_HOURS = "2026-11-25T10:00"  # Wednesday, the human line is open
AFTER_HOURS = "2026-11-25T22:00"

CALLS: dict[str, dict[str, list[str]]] = {
    "pl": {
        "explicit": ["Dzień dobry", "Chcę rozmawiać z konsultantem."],
        "swearing": ["Kurwa, gdzie jest moja paczka?"],
        "sarcasm": ["Gdzie jest moje zamówienie?", "No super, znowu automat.", "Przecież mówię, gdzie jest paczka!"],
        "repeat": ["Chcę zmienić adres dostawy", "zmienić adres dostawy", "Mówię, chcę zmienić adres dostawy!"],
        "no_match": ["Mój kot śpi na kaloryferze", "Niebo jest dziś bardzo niebieskie"],
        "complaint": ["Chcę złożyć reklamację, lampa przyszła rozbita"],
        "routine": ["Dzień dobry, gdzie jest moja paczka?", "4 8 1 5 2", "Nie, to wszystko, dziękuję, do widzenia"],
        "routine_mild": ["Kurczę, chcę sprawdzić status zamówienia", "12345", "Nie, dziękuję, do widzenia"],
        "sarcastic_goodbye": ["Gdzie jest moje zamówienie?", "No pięknie, dzięki za nic."],
        # A "no" to "anything else?" said in irritation: the flow reads the no, the NLU no intent (a remark with it).
        "irritated_no": ["Gdzie jest moja przesyłka?", "4 8 1 5 2", "Nie, przecież już to mówiłam."],
        # A complaint (the flow's own transfer) said by a caller who is leaving: the retention reason wins.
        "churn": ["Chcę złożyć reklamację, trzecie opóźnienie, odchodzę do konkurencji."],
        "swearing_complaint": ["Chcę złożyć reklamację, ta pieprzona lampa przyszła rozbita"],
        "swearing_churn": ["Kurwa, mam dość, odchodzę do konkurencji."],
    },
    "en": {
        "explicit": ["Hello", "Can I talk to a real person please?"],
        "swearing": ["Where the fuck is my parcel?"],
        "sarcasm": ["Where is my order?", "Oh wonderful, a robot again.", "I already told you, where is my parcel!"],
        "repeat": ["I need to change my delivery address", "change my delivery address",
                   "I said change the delivery address!"],
        "no_match": ["My neighbour's dog keeps barking", "The sky is purple on Tuesdays"],
        "complaint": ["I want to file a complaint, the package arrived damaged"],
        "routine": ["Hi, where is my order?", "four eight one five two", "No thanks, that's everything. Bye!"],
        "routine_thanks": ["What are your opening hours?", "Great, thanks, that's all"],
        # The NLU hears a goodbye in sarcasm; the bot must not hang up on this caller.
        "sarcastic_goodbye": ["Where is my order?", "Great, just great."],
        "irritated_no": ["Where is my parcel?", "4 8 1 5 2", "No, I told you that already."],
        "churn": ["I want to make a complaint, third late delivery, I'm taking my business to your competitor."],
        "swearing_complaint": ["I want to file a complaint, this fucking lamp arrived smashed"],
        "swearing_churn": ["Fuck this, I'm taking my business to your competitor."],
    },
}


def simulate(lang: str, calls: list[list[str]], now: str) -> list[list[dict[str, Any]]]:
    stdin = "\n\n".join("\n".join(c) for c in calls) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "voicebot", "simulate", "--jsonl", "--lang", lang, "--now", now],
        input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_call: list[list[dict[str, Any]]] = [[] for _ in calls]
    for r in records:
        if r["turn"] > 0:
            by_call[r["call"] - 1].append(r)
    return by_call


@pytest.fixture(scope="module", params=["pl", "en"])
def results(request: pytest.FixtureRequest) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    lang = request.param
    names = list(CALLS[lang])
    out = simulate(lang, [CALLS[lang][n] for n in names], BUSINESS_HOURS)
    return lang, dict(zip(names, out, strict=True))


def handover(turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((t for t in turns if t["action"] in ("transfer", "callback")), None)


def test_explicit_request(results: tuple[str, dict]) -> None:
    lang, calls = results
    t = handover(calls["explicit"])
    assert t and t["turn"] == 2 and t["action"] == "transfer" and t["reason"] == "explicit_request"
    assert t["signals"]["explicit_request"] > 0
    bridge = {"pl": "Łączę z konsultantem — przekażę wszystko, co już wiem.", "en": "connecting you with a colleague"}
    assert bridge[lang] in t["reply"]


def test_swearing(results: tuple[str, dict]) -> None:
    _, calls = results
    t = handover(calls["swearing"])
    # swearing is `names_reason`: the person picking up knows the caller swore (phone sets expect "swearing")
    assert t and t["turn"] == 1 and t["reason"] == "swearing" and t["frustration"] >= 0.7
    assert t["signals"]["swearing"] == pytest.approx(0.7)


def test_swearing_does_not_rename_a_complaint_or_a_churn_threat(results: tuple[str, dict]) -> None:
    _, calls = results
    assert handover(calls["swearing_complaint"])["reason"] == "complaint"
    assert handover(calls["swearing_churn"])["reason"] == "churn_threat"


def test_sarcasm(results: tuple[str, dict]) -> None:
    _, calls = results
    turns = calls["sarcasm"]
    assert turns[1]["action"] == "continue" and turns[1]["signals"]["sarcasm"] >= 0.4
    t = handover(turns)
    assert t and t["turn"] == 3 and t["reason"] == "frustration"
    assert {"frustration", "carry_over"} <= set(t["signals"])


def test_repeated_request(results: tuple[str, dict]) -> None:
    _, calls = results
    # The free-text address slot swallows the second repeat, so the flow loops: only the repetition notices.
    t = handover(calls["repeat"])
    assert t and t["turn"] == 3 and t["reason"] == "repeated_request"
    assert t["signals"]["repetition"] > 0


def test_two_no_matches(results: tuple[str, dict]) -> None:
    _, calls = results
    turns = calls["no_match"]
    assert turns[0]["action"] == "continue"
    assert turns[1]["action"] == "transfer" and turns[1]["reason"] == "no_match"


def test_complaint_intent(results: tuple[str, dict]) -> None:
    _, calls = results
    t = handover(calls["complaint"])
    assert t and t["turn"] == 1 and t["reason"] == "complaint" and t["intent"] == "complaint"


def test_routine_calls_are_served_not_transferred(results: tuple[str, dict]) -> None:
    _, calls = results
    for name, turns in calls.items():
        if name.startswith("routine"):
            assert handover(turns) is None, name
            assert turns[-1]["action"] in ("end", "hangup") and turns[-1]["intent"] == "goodbye", name
            assert all(t["action"] == "continue" for t in turns[:-1]), name
            assert all(t["frustration"] < 0.7 for t in turns), name


def test_after_hours_the_caller_gets_a_callback_offer() -> None:
    [turns] = simulate("pl", [["Chcę rozmawiać z konsultantem", "tak", "pierwszy"]], AFTER_HOURS)
    assert "Czy oddzwonić na numer" in turns[0]["reply"]  # the number is confirmed, then a time chosen
    t = turns[-1]
    assert t["action"] == "callback" and t["reason"] == "explicit_request"
    assert "oddzwoni" in t["reply"] and "czwartek" in t["reply"]


def test_sarcasm_mistaken_for_goodbye_is_handed_over_not_hung_up(results: tuple[str, dict]) -> None:
    _, calls = results
    t = calls["sarcastic_goodbye"][-1]
    assert t["action"] not in ("end", "hangup")  # never hung up on, whatever the NLU heard
    if t["intent"] in ("goodbye", "thanks"):  # a closing heard in it: a person takes over
        assert t["action"] == "transfer" and t["reason"] == "frustration" and t["signals"]["sarcasm"] > 0
    else:  # not heard as a closing: the bot asks again and the sarcasm counts towards a hand-over
        assert t["action"] == "continue" and t["signals"]["sarcasm"] > 0



def test_an_irritated_no_to_anything_else_is_handed_over_not_hung_up(results: tuple[str, dict]) -> None:
    # The no closes the call for the flow; said with "I told you that already" it goes to a person instead (a calm
    # "no thanks, bye" still ends the call: the routine cases).
    _, calls = results
    t = calls["irritated_no"][-1]
    assert t["action"] == "transfer" and t["reason"] == "frustration"


def test_a_caller_leaving_for_a_competitor_goes_as_a_churn_threat(results: tuple[str, dict]) -> None:
    # churn_threat is `names_reason` in the lexicons: the complaint the flow hands over for goes with that reason,
    # so `[escalation] skills` can send it to a retention line, and the handoff says why.
    _, calls = results
    t = handover(calls["churn"])
    assert t and t["turn"] == 1 and t["action"] == "transfer" and t["reason"] == "churn_threat"
