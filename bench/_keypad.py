"""The scripted caller's keypad (bench/phone.py, a conversation with `keypad: true`).

A real Polish caller answers "Proszę podać pięciocyfrowy numer zamówienia. Można go też wpisać na klawiaturze"
by typing the number: whisper base at 8 kHz mis-hears most Polish digits, the keys are exact. The caller knows
the bot's current question from the product's own record, as it knows a read-back (bench/_readback.py): the
live call's newest bot turn names its dialog node, and the flow DATA says whether that node is an ask node of
type digits, where the dialog takes typed keys as the number (core._on_keys -> slots.from_dtmf). No words of
the prompt are matched, so this works in every language a flow is written in. The keys typed are the digits of
the caller's scripted sentence (numbers.parse_digits of its clause with the most digits), never what the bot heard.

When the bot reads out its keypad menu because it did not understand the caller ("Można też użyć klawiatury: 1 to
status zamówienia, …"; a say node's `keys_say`, found in the turn's text as the flow data writes it), the same
caller presses the key of what it called about, once a call: its goal is the intent of its first scripted sentence
as written (bench/phone.py classifies the text, not the audio), the key the one the node's `keys` give that intent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from voicebot.dialog.numbers import parse_digits
from voicebot.dialog.schema import AskNode, Flow, SayNode
from voicebot.store.calls import TurnRecord

DTMF_TURN = "[DTMF "  # how the call session records keys pressed: "[DTMF 48152]" (call_session.py)


def number_questions(flows: Iterable[Flow]) -> list[str]:
    """`"<language> <node>"` of every ask node that takes a number by its digits (plain data: bench/phone.py
    hands it to the caller's process)."""
    return sorted(f"{flow.language} {name}" for flow in flows for name, node in flow.nodes.items()
                  if isinstance(node, AskNode) and node.type == "digits")


@dataclass(frozen=True)
class Keypad:
    """The number questions of a call's flows: (language, node) of each ask node of type digits."""

    nodes: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, flows: Iterable[Flow]) -> Keypad:
        return cls.from_names(number_questions(flows))

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Keypad:
        return cls(frozenset(tuple(n.split(" ", 1)) for n in names))  # type: ignore[misc]

    def accepts(self, turn: TurnRecord | None, language: str) -> bool:
        """The bot's turn asks for a number that may be typed: said at a digits ask node, the call going on."""
        return turn is not None and turn.role == "bot" and turn.action in (None, "continue") \
            and (turn.language or language, turn.node or "") in self.nodes

    def keys(self, turn: TurnRecord | None, language: str, sentence: str) -> str:
        """What the caller types instead of saying `sentence` after the bot's `turn`: the sentence's digits when
        the turn asks for a number, else "" (the sentence is spoken)."""
        return number_of(sentence) if self.accepts(turn, language) else ""


def number_of(sentence: str) -> str:
    """The number a scripted sentence gives: the clause with the most digits ("Yes, one moment. It is four eight one
    five two." -> 48152; every digit of the sentence would type 148152, a number the caller never meant). Clauses of
    nothing but number words go on the number before them: "the number is forty-eight, fifteen, two" -> 48152
    (phone_blind16 en-r1 was asked for it again and, taking "48" for its number, never said it again)."""
    numbers: list[str] = []
    joins = False  # the clause before had digits: a clause of only number words continues it
    for clause in re.split(r"[.,;:!?]", sentence):
        digits = parse_digits(clause)
        words = re.findall(r"[^\W_]+", clause.replace("-", " "))
        if joins and words and all(parse_digits(w) for w in words):
            numbers[-1] += digits
        else:
            numbers.append(digits)
        joins = bool(digits)
    return max(numbers, key=len, default="")


def keypad_menus(flows: Iterable[Flow]) -> dict[str, dict[str, list[str] | dict[str, str]]]:
    """`"<language> <node>"` -> {"say": the menu read out (each variant), "keys": {intent: key}} of every say node
    with a keypad menu (plain data: bench/phone.py hands it to the caller's process)."""
    out: dict[str, dict[str, list[str] | dict[str, str]]] = {}
    for flow in flows:
        for name, node in flow.nodes.items():
            if isinstance(node, SayNode) and node.keys and node.keys_say:
                says = [node.keys_say] if isinstance(node.keys_say, str) else list(node.keys_say)
                out[f"{flow.language} {name}"] = {"say": says, "keys": {i: k for k, i in node.keys.items()}}
    return out


@dataclass(frozen=True)
class Menus:
    """The keypad menus of a call's flows: (language, node) -> (the menu read out, {intent: key})."""

    by_node: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, str]]]

    @classmethod
    def from_data(cls, data: dict[str, dict]) -> Menus:
        return cls({tuple(name.split(" ", 1)): (tuple(m["say"]), dict(m["keys"]))  # type: ignore[misc]
                    for name, m in data.items()})

    def key(self, turn: TurnRecord | None, language: str, goal: str) -> str:
        """The key a caller who called about `goal` presses after the bot's `turn`: "" unless that turn read out
        a keypad menu offering it."""
        if turn is None or turn.role != "bot" or turn.action not in (None, "continue") or not goal:
            return ""
        says, keys = self.by_node.get((turn.language or language, turn.node or ""), ((), {}))
        return keys.get(goal, "") if any(say in turn.text for say in says) else ""
