"""The scripted caller's ear for a number read-back ("Did you say order 4 8 1 5 2?"), for bench/phone.py.

The caller does not transcribe the bot. It knows its latest turn from the product's own record: the live
call's newest bot turn in Redis names the dialog node it was said at. A read-back is a turn at an ask node the
flow marks for confirmation (`confirm: uncertain` / `always`) whose text is that node's `confirm_prompt` (any
variant) with `{heard}` filled in; the digits in `{heard}` are what the bot read back. The prompts come from
the flow files, so this works in every language a flow is written in and never matches English phrases; a
reprompt at the same node ("The order number has five digits, for example four eight one five two") is not
a read-back because it is not the node's confirm_prompt. An offer of the caller's own order ("I can see your latest
order …: 4 8 1 5 2 … Is it about that one?", a yes/no node whose yes takes the number its ask already knows) is
answered the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from voicebot.dialog.numbers import parse_digits
from voicebot.dialog.schema import AskNode, Flow, YesNoNode
from voicebot.dialog.templates import VAR
from voicebot.store.calls import TurnRecord

# What the caller answers, per language: a plain yes, or a plain no before its number sentence again.
YES = {"en": "Yes.", "pl": "Tak."}
NO = {"en": "No.", "pl": "Nie."}
_HEARD = r"(?P<heard>\d(?: \d)*)"  # core._ask_confirm: the digits one by one, space separated


def prompt_pattern(template: str) -> re.Pattern[str] | None:
    """`Did you say order {heard}?` as a regex that captures the digits; None without `{heard}`."""
    parts, last, found = [], 0, False
    for m in VAR.finditer(template):
        parts.append(re.escape(template[last:m.start()]))
        if m.group(1) != "heard":
            parts.append(".*?")  # another variable: any text
        else:
            parts.append("(?P=heard)" if found else _HEARD)
            found = True
        last = m.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts)) if found else None


def templates(flows: Iterable[Flow]) -> dict[str, list[str]]:
    """`"<language> <node>"` -> the confirm_prompt variants of every ask node its flow marks for confirmation, and
    the question of every yes/no node that offers a number the call already has ("Is it about order 4 8 1 5 2?":
    its yes leads to a digits ask whose `known` holds it), that number as `{heard}` (plain data: bench/phone.py
    hands it to the caller's process)."""
    out: dict[str, list[str]] = {}
    for flow in flows:
        for name, node in flow.nodes.items():
            if isinstance(node, AskNode) and node.confirm != "never" and node.confirm_prompt:
                out[f"{flow.language} {name}"] = _variants(node.confirm_prompt)
            chosen = flow.nodes.get(node.on_yes) if isinstance(node, YesNoNode) else None
            if isinstance(node, YesNoNode) and isinstance(chosen, AskNode) and chosen.type == "digits" and chosen.known:
                offered = re.compile(r"\{" + re.escape(chosen.known) + r"(?:\|\w+)?\}")
                out[f"{flow.language} {name}"] = [offered.sub("{heard}", v) for v in _variants(node.say)]
    return out


def _variants(text: str | list[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


@dataclass(frozen=True)
class ReadBacks:
    """The read-back prompts of a call's flows: (language, node) -> the node's confirm_prompt variants."""

    prompts: dict[tuple[str, str], tuple[re.Pattern[str], ...]]

    @classmethod
    def of(cls, flows: Iterable[Flow]) -> ReadBacks:
        return cls.from_templates(templates(flows))

    @classmethod
    def from_templates(cls, by_node: dict[str, list[str]]) -> ReadBacks:
        prompts: dict[tuple[str, str], tuple[re.Pattern[str], ...]] = {}
        for key, variants in by_node.items():
            language, node = key.split(" ", 1)
            patterns = tuple(p for v in variants if (p := prompt_pattern(v)) is not None)
            if patterns:
                prompts[(language, node)] = patterns
        return cls(prompts)

    def digits(self, turn: TurnRecord, language: str) -> str | None:
        """The digits the bot read back in this bot turn, or None when the turn is not a read-back."""
        if turn.role != "bot" or turn.action not in (None, "continue"):
            return None
        for pattern in self.prompts.get((turn.language or language, turn.node or ""), ()):
            # The read-back may follow another sentence in the same turn ("Sorry about that. Did you say ...?").
            if m := pattern.search(turn.text):
                return m.group("heard").replace(" ", "")
        return None


def script_number(said: Iterable[str]) -> str:
    """The digits of the caller's latest scripted sentence that has any ('It is four eight one five two.')."""
    return next((d for text in reversed(list(said)) if (d := parse_digits(text))), "")


def own_number(said: Iterable[str], plan: Iterable[str] = ()) -> str:
    """The caller's number: of its latest sentence with one, or before it said one, its script's first."""
    return script_number(said) or next((d for text in plan if (d := parse_digits(text))), "")


def answer(read_back: str, said: Iterable[str], language: str, plan: Iterable[str] = ()) -> tuple[bool, str]:
    """(right, what the caller says): "Yes." when the digits read back are its number, else "No." and the
    sentence with its number again (or a plain "No." when its script has no number). Before it has said its
    number (an offer of its latest order right after the first sentence) the number is its script's (`plan`)."""
    said, plan = list(said), list(plan)
    if read_back == own_number(said, plan):
        return True, YES[language]
    sentence = next((text for text in reversed(said) if parse_digits(text)), "") or next(
        (text for text in plan if parse_digits(text)), "")
    # After an earlier "No. <number sentence>" the number sentence is said again, not "No. No. ...": only the
    # script's sentences are synthesized (phone_blind5 pl-c7's caller stopped on a second wrong read-back).
    while sentence.startswith(f"{NO[language]} "):
        sentence = sentence.removeprefix(f"{NO[language]} ")
    return False, f"{NO[language]} {sentence}".strip()
