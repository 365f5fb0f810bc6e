"""When the human line is staffed: `[business_hours]` in config, overridable per flow. Times are local
to the configured timezone (Europe/Warsaw); callers of `is_open`/`next_open` pass the moment in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from voicebot.config import BusinessHoursSettings

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessHours:
    timezone: ZoneInfo
    spans: dict[int, tuple[time, time]]  # weekday -> (open, close)
    always_open: bool = False

    @classmethod
    def from_settings(cls, s: BusinessHoursSettings) -> BusinessHours:
        spans: dict[int, tuple[time, time]] = {}
        for day, span in s.hours.items():
            if day not in _DAYS:
                raise ValueError(f"business_hours.hours: unknown day {day!r}; use {', '.join(_DAYS)}")
            try:
                start, end = (time.fromisoformat(p.strip()) for p in span.split("-"))
            except ValueError as exc:
                raise ValueError(f"business_hours.hours.{day}: {span!r} is not 'HH:MM-HH:MM'") from exc
            spans[_DAYS.index(day)] = (start, end)
        return cls(ZoneInfo(s.timezone), spans, s.always_open)

    def local(self, at: datetime) -> datetime:
        """A naive moment is taken as local time already (how `--now` and tests give it)."""
        return at.replace(tzinfo=self.timezone) if at.tzinfo is None else at.astimezone(self.timezone)

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        at = self.local(at)
        span = self.spans.get(at.weekday())
        return bool(span) and span[0] <= at.time() < span[1]

    def next_open(self, at: datetime) -> datetime | None:
        """The next moment the line opens (or `at` itself when open now); None if it never opens."""
        at = self.local(at)
        if self.is_open(at):
            return at
        for ahead in range(8):
            day = (at + timedelta(days=ahead)).date()
            span = self.spans.get(day.weekday())
            if span:
                start = datetime.combine(day, span[0], self.timezone)
                if start > at:
                    return start
        return None
