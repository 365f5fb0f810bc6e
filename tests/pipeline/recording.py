"""Test helper: the real dialog engine, recording what the pipeline handed it."""

from __future__ import annotations

from typing import Any

from voicebot.dialog.types import CallerEvent, CallInfo


class RecordingEngine:
    """The real dialog engine, with a note of every caller event it was given (what the pipeline heard)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.events: list[CallerEvent] = []

    def new_session(self, call: CallInfo) -> Any:
        inner, events = self.engine.new_session(call), self.events

        class Session:
            async def start(self) -> Any:
                return await inner.start()

            async def handle(self, event: CallerEvent) -> Any:
                events.append(event)
                return await inner.handle(event)

            def snapshot(self) -> dict[str, Any]:
                return inner.snapshot()

        return Session()
