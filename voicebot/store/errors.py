"""Domain errors raised by the stores; the web layer maps each to one HTTP status in one middleware."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the message is safe to show to the user who made the request."""


class NotFound(StoreError):
    pass


class Invalid(StoreError):
    """Bad input; `problems` optionally lists (line, message) pairs for editors."""

    def __init__(self, message: str, problems: list[tuple[int | None, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class Conflict(StoreError):
    pass
