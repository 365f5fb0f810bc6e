"""Skill routing: which human line takes a caller the bot hands over.

The transfer reason (a flow's transfer node says `reason: complaint`; the escalation policy says
`frustration`, `system_fault`...) or else the caller's intent picks a skill (`[escalation] skills`); the skill's
line (`[escalation.lines.<skill>]`) takes the caller when it is staffed (its own hours) and not full (its
`max_calls`, counted in Redis across workers). Otherwise its `fallback` line is tried, and so on. When no line
can take the caller the route is empty and the call session books a callback instead: never silence.

The line `general` takes everything else; unless configured it is the old single human line
(`sip.human_line_uri`, the `[twilio]` transfer, `[business_hours]`), so a config without lines works as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from voicebot.config import BusinessHoursSettings, HumanLineSettings, Settings
from voicebot.dialog.hours import BusinessHours
from voicebot.store.calls import CallStore
from voicebot.store.line_load import LineLoad

log = logging.getLogger(__name__)

GENERAL = "general"


@dataclass(frozen=True)
class HumanLine:
    skill: str
    sip_target: str
    twilio_target: str  # "" = the [twilio] transfer settings
    hours: BusinessHours
    max_calls: int  # 0 = no limit
    call_secs: int
    fallback: str  # "" = a callback


@dataclass(frozen=True)
class Route:
    wanted: str  # the skill the caller's request needs
    skill: str = ""  # the line that takes the caller; "" = none can (book a callback)
    target: str | None = None  # where this call's channel sends the caller; None = the line's default
    passed: tuple[str, ...] = ()  # lines skipped on the way and why, e.g. "complaints: closed"

    @property
    def found(self) -> bool:
        return bool(self.skill)

    @property
    def note(self) -> str:
        """For the agent and the supervisor: how the caller got to this line (or to none)."""
        return "; ".join(self.passed)


def with_skill(uri: str, skill: str) -> str:
    """The SIP URI with `;skill=<skill>`, so the REFER's Refer-To (and the INVITE the agents' PBX gets, also
    through Twilio's <Dial><Sip>) names the skill. URI headers (`?...`) stay last."""
    base, sep, headers = uri.partition("?")
    return f"{base};skill={skill}{sep}{headers}"


class Router:
    def __init__(self, lines: dict[str, HumanLine], skills: dict[str, str], load: LineLoad | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.lines = lines
        self.skills = skills
        self.load = load
        self.clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_settings(cls, settings: Settings, load: LineLoad | None = None,
                      clock: Callable[[], datetime] | None = None) -> Router:
        esc = settings.escalation
        configured = {GENERAL: HumanLineSettings(fallback=""), **esc.lines}
        lines = {skill: _line(skill, line, settings) for skill, line in configured.items()}
        return cls(lines, dict(esc.skills), load, clock)

    @classmethod
    def for_store(cls, settings: Settings, calls: CallStore | None) -> Router:
        """Lines' calls counted next to the call records (no store: no line is ever full)."""
        return cls.from_settings(settings, LineLoad(calls.client, calls.keys) if calls is not None else None)

    def skill_for(self, reason: str | None, intent: str | None, skills: Mapping[str, str] | None = None) -> str:
        """The skill a request needs: by its transfer reason, else by the caller's intent, else general.
        `skills`: the call's flow's own mapping (flow settings.escalation.skills), when it has one."""
        skills = self.skills if skills is None else skills
        for key in (reason, intent):
            if key and key in skills:
                return skills[key]
        return GENERAL

    async def route(self, wanted: str, channel: str, call_id: str, skip: Collection[str] = ()) -> Route:
        """The first line, from the wanted skill's along the fallbacks, that is open and has room now.

        `skip`: lines that already failed to take this caller. A skill without a line starts at general.
        """
        now = self.clock()
        passed: list[str] = []
        name = wanted if wanted in self.lines else GENERAL  # a skill without its own line: general's callers
        seen: set[str] = set()
        while name and name not in seen:
            seen.add(name)
            line = self.lines[name]
            if name in skip:
                passed.append(f"{name}: did not take the call")
            elif not line.hours.is_open(now):
                passed.append(f"{name}: closed")
            elif not await self._room(line, call_id):
                passed.append(f"{name}: full ({line.max_calls} calls)")
            else:
                return Route(wanted, name, self._target(line, channel), tuple(passed))
            name = line.fallback
        return Route(wanted, passed=tuple(passed))

    def staffed(self, reason: str | None, intent: str | None, at: datetime) -> bool:
        """Is a line for this request (its skill's, or one along the fallbacks) staffed at `at`? The dialog asks
        before it turns a transfer into a callback after business hours (FlowMachine's `staffed`)."""
        name = self.skill_for(reason, intent)
        name = name if name in self.lines else GENERAL
        seen: set[str] = set()
        while name and name not in seen:
            seen.add(name)
            if self.lines[name].hours.is_open(at):
                return True
            name = self.lines[name].fallback
        return False

    def hours_of(self, skill: str) -> BusinessHours:
        """When the skill's line is staffed (general's for a skill without a line)."""
        return self.lines.get(skill, self.lines[GENERAL]).hours

    async def release(self, skill: str, call_id: str) -> None:
        """The line did not take the caller after all: its place is free again."""
        line = self.lines.get(skill)
        if line is None or not line.max_calls or self.load is None:
            return
        try:
            await self.load.release(skill, call_id)
        except Exception:  # the place frees itself after call_secs
            log.exception("routing: could not release %s's place on line %s", call_id, skill)

    async def _room(self, line: HumanLine, call_id: str) -> bool:
        if not line.max_calls or self.load is None:
            return True
        try:
            return await self.load.take(line.skill, call_id, line.max_calls, line.call_secs)
        except Exception:  # Redis trouble: trying the line beats sending the caller away
            log.exception("routing: cannot count the calls on line %s; trying it", line.skill)
            return True

    @staticmethod
    def _target(line: HumanLine, channel: str) -> str | None:
        target = line.twilio_target if channel == "twilio" else line.sip_target
        if not target:  # Twilio without a line of its own: the [twilio] transfer settings
            return None
        return with_skill(target, line.skill) if target.startswith(("sip:", "sips:")) else target


def _line(skill: str, line: HumanLineSettings, settings: Settings) -> HumanLine:
    base = settings.business_hours
    hours = base if line.hours is None else BusinessHoursSettings(timezone=base.timezone, hours=line.hours)
    return HumanLine(skill=skill, sip_target=line.target or settings.sip.human_line_uri,
                     twilio_target=line.twilio_target, hours=BusinessHours.from_settings(hours),
                     max_calls=line.max_calls, call_secs=line.call_secs, fallback=line.fallback)
