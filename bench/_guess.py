"""The scripted caller's yes to the bot's right guess (bench/phone.py).

When the bot cannot make out a request but has a best guess, it asks about it once ("Is it about when your
appointment is?", an intent's `guess` in the flow data; voicebot/dialog/core.py `_guess`). A real caller who called
about that says yes. The scripted caller does when the guessed intent is its goal (what it called about: the intent
the flow's own NLU scores highest for its first scripted sentence that is more than small talk, classified as
written, not as heard; bench/phone.py); to a wrong guess it goes on with its script as before (its next sentence is
its "no, …"). The guess is found in the bot turn's text as the flow data writes it, like the keypad menu
(bench/_keypad.py): no English is matched, every language a flow is written in works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from voicebot.dialog.schema import SMALL_TALK_INTENTS, Flow
from voicebot.store.calls import TurnRecord


def guess_questions(flows: Iterable[Flow]) -> dict[str, dict[str, str]]:
    """language -> each guess question's text (every variant) -> its intent (plain data: bench/phone.py hands it
    to the caller's process)."""
    out: dict[str, dict[str, str]] = {}
    for flow in flows:
        for intent, spec in flow.intents.items():
            for text in [spec.guess] if isinstance(spec.guess, str) else spec.guess or []:
                out.setdefault(flow.language, {})[text] = intent
    return out


def goal_of(turns: list[str], best: Callable[[str], str]) -> str:
    """What a caller called about: `best(sentence)` (the flow NLU's top intent) of its first sentence that is more
    than small talk ("Hi there." then "I've got one of your technicians coming…": the visit), "" if none is."""
    return next((b for t in turns if (b := best(t)) and b not in SMALL_TALK_INTENTS), "")


@dataclass(frozen=True)
class Guesses:
    by_language: dict[str, dict[str, str]]

    def intent(self, turn: TurnRecord | None, language: str) -> str | None:
        """The intent the bot's `turn` asks about, when the turn is a guess question and the call goes on."""
        if turn is None or turn.role != "bot" or turn.action not in (None, "continue"):
            return None
        questions = self.by_language.get(turn.language or language, {})
        return next((intent for text, intent in questions.items() if text in turn.text), None)
