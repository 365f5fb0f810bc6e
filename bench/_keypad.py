"""The scripted caller's keypad (bench/phone.py, a conversation with `keypad: true`).

A real Polish caller answers "Proszę podać pięciocyfrowy numer zamówienia. Można go też wpisać na klawiaturze"
by typing the number: whisper base at 8 kHz mis-hears most Polish digits, the keys are exact. The caller knows
the bot's current question from the product's own record, as it knows a read-back (bench/_readback.py): the
live call's newest bot turn names its dialog node, and the flow DATA says whether that node is an ask node of
type digits, where the dialog takes typed keys as the number (core._on_keys -> slots.from_dtmf). No words of
the prompt are matched, so this works in every language a flow is written in. The keys typed are the digits of
the caller's scripted sentence (numbers.parse_digits of its clause with the most digits), never what the bot heard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from voicebot.dialog.numbers import parse_digits
from voicebot.dialog.schema import AskNode, Flow
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
    five two." -> 48152; every digit of the sentence would type 148152, a number the caller never meant)."""
    return max((parse_digits(clause) for clause in re.split(r"[.,;:!?]", sentence)), key=len, default="")
