"""PLACEHOLDER dialog engine so the audio pipeline runs end to end before the real engine lands.

The dialog branch replaces this whole module with the real `load_engine(settings)` (flows from dialogs/,
NLU, escalation). Keep callers to `load_engine` only. Not a business flow: a greeting and keyword echoes.
"""

from __future__ import annotations

from typing import Any

from voicebot.config import Settings
from voicebot.dialog.types import BotReply, CallerDtmf, CallerEvent, CallerSaid, CallInfo

_TEXT = {
    "en": ("Hello, this is the placeholder assistant. How can I help you?", "You said: {}.",
           "I am connecting you to a colleague.", "Goodbye."),
    "pl": ("Dzień dobry, tu asystent zastępczy. W czym mogę pomóc?", "Powiedziałeś: {}.",
           "Łączę z konsultantem.", "Do widzenia."),
}


class _PlaceholderSession:
    def __init__(self, call: CallInfo) -> None:
        self.call = call
        self.text = _TEXT.get(call.language, _TEXT["en"])
        self.turns = 0

    async def start(self) -> BotReply:
        return BotReply(self.text[0], language=self.call.language, node="start")

    async def handle(self, event: CallerEvent) -> BotReply:
        self.turns += 1
        said = event.text if isinstance(event, CallerSaid) else f"#{event.digits}" if isinstance(
            event, CallerDtmf) else ""
        lowered = said.lower()
        if any(w in lowered for w in ("agent", "human", "konsultant", "#0")):
            return BotReply(self.text[2], action="transfer", reason="explicit_request", intent="agent",
                            language=self.call.language, node="transfer")
        if any(w in lowered for w in ("bye", "goodbye", "widzenia")):
            return BotReply(self.text[3], action="end", intent="goodbye", language=self.call.language, node="end")
        return BotReply(self.text[1].format(said.strip(" .")), intent="echo", confidence=1.0,
                        language=self.call.language, node="echo")

    def snapshot(self) -> dict[str, Any]:
        return {"flow_id": "placeholder", "node": "echo", "turns": self.turns}


class _PlaceholderEngine:
    def new_session(self, call: CallInfo) -> _PlaceholderSession:
        return _PlaceholderSession(call)


def load_engine(settings: Settings) -> _PlaceholderEngine:
    return _PlaceholderEngine()
