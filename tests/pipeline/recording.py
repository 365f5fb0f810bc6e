"""Test helper: the real dialog engine, recording what the pipeline handed it and what the bot answered."""

from __future__ import annotations

from typing import Any

from voicebot.dialog.types import CallerEvent, CallInfo


class RecordingEngine:
    """The real dialog engine, with a note of every caller event it was given (what the pipeline heard)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.events: list[CallerEvent] = []
        self.replies: list[Any] = []  # the BotReply to each event: what the caller heard

    def new_session(self, call: CallInfo) -> Any:
        inner, events, replies = self.engine.new_session(call), self.events, self.replies

        class Session:
            async def start(self) -> Any:
                return await inner.start()

            async def handle(self, event: CallerEvent) -> Any:
                events.append(event)
                reply = await inner.handle(event)
                replies.append(reply)
                return reply

            def snapshot(self) -> dict[str, Any]:
                return inner.snapshot()

        return Session()
