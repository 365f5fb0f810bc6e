"""Taking a callback request like a person would: confirm the number to call (or ask for it, digits read back,
when the caller's number is withheld), offer the next times the human line is open, take the caller's choice.

The steps are ordinary flow nodes built from the flow's `messages.callback_*` texts (flow data, one file per
language), so the core's yes/no, digits and choice handling (speech and keypad) applies unchanged. A flow without
`messages.callback_offer_times` keeps the old one-step booking at the next opening. Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from voicebot.dialog.datetimes import say_datetime
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.schema import AskNode, CallbackNode, Messages, Text, YesNoNode

ENTRY = "callback"  # where a transfer outside hours goes (a flow may override it with its own node)
CONFIRM = "callback_confirm_number"
ASK_NUMBER = "callback_ask_number"
# Asked after a "no" to the number offered or read back: the caller has heard why we call back already.
ASK_OTHER = "callback_ask_other_number"
READ_BACK = "callback_read_back"
TIMES = "callback_times"
BOOK = "callback_book"
NUMBER_SLOT = "callback_number"
CHOICE_SLOT = "callback_choice"
STARTED = "callback_capture_started"  # state variable: a second visit books at once (no capture loop)
OPTIONS = 3  # times offered
STEP = timedelta(minutes=30)  # offered times start on the half hour
SPACING = timedelta(hours=2)  # between offered times, so they are real alternatives
LEAD = timedelta(minutes=30)  # nobody is called back within minutes of hanging up
SILENT = "no_input"  # the handoff reason of a caller who stopped answering (voicebot/dialog/core.py)
MIN_DIGITS, MAX_DIGITS = 6, 15  # E.164 allows 15; shorter than 6 is no phone number
# State variable: starts (epoch seconds) of the half hours already fully booked ([callbacks] per_half_hour), put
# there by the session before a turn that may offer times; the offer skips them.
FULL = "callback_full_half_hours"


def enabled(m: Messages) -> bool:
    return m.callback_offer_times is not None and bool(m.callback_choices)


def option_variables() -> tuple[str, ...]:
    return tuple(f"callback_option_{i}" for i in range(1, OPTIONS + 1))


def nodes(m: Messages) -> dict[str, Any]:
    """The capture steps (empty when the flow does not define their texts)."""
    if not enabled(m) or m.callback_confirm_number is None or m.callback_ask_number is None \
            or m.callback_read_back is None:
        return {}
    def ask_number(prompt: Text) -> AskNode:
        return AskNode(kind="ask", slot=NUMBER_SLOT, type="digits", prompt=prompt, min_length=MIN_DIGITS,
                       max_length=MAX_DIGITS, next=READ_BACK, on_fail=BOOK)

    return {
        CONFIRM: YesNoNode(kind="yes_no", say=m.callback_confirm_number, on_yes=TIMES, on_no=ASK_OTHER),
        ASK_NUMBER: ask_number(m.callback_ask_number),
        ASK_OTHER: ask_number(_asked_again(m.callback_ask_number)),
        READ_BACK: YesNoNode(kind="yes_no", say=m.callback_read_back, on_yes=TIMES, on_no=ASK_OTHER),
        # Choice keys are the options' positions: "the second one" or key 2.
        TIMES: AskNode(kind="ask", slot=CHOICE_SLOT, type="choice", prompt=m.callback_offer_times,
                       choices=dict(m.callback_choices), next=BOOK, on_fail=BOOK),
        BOOK: CallbackNode(kind="callback", say=m.callback_offer, number_slot=NUMBER_SLOT,
                           choice_slot=CHOICE_SLOT),
    }


def _asked_again(ask: Text) -> Text:
    """`callback_ask_number`'s later variants: its first one opens the capture ("Our colleagues are not available
    right now, but ... What number should we call?"), which a caller who said "no" to a number has heard."""
    return ask[1:] if isinstance(ask, list) and len(ask) > 1 else ask


def enter(name: str, variables: dict[str, Any], hours: BusinessHours, at: datetime, language: str,
          reason: str | None) -> str:
    """The node to run instead of `name` (capture entry, offered times computed on the way in)."""
    if name == ENTRY:
        if variables.get(STARTED) or reason == SILENT:
            # Back here from a failed step, or a caller who stopped answering: book what we have (the
            # number they called from, the next opening) rather than ask questions nobody answers.
            return BOOK
        variables[STARTED] = True
        return CONFIRM if dialable(str(variables.get("caller_number") or "")) else ASK_NUMBER
    if name == TIMES:
        options = next_times(hours, at, full=frozenset(variables.get(FULL) or ()))
        if not options:
            return BOOK  # the line never opens: nothing to choose from
        variables["callback_options"] = [t.isoformat() for t in options]
        for var, moment in zip(option_variables(), options, strict=False):
            variables[var] = say_datetime(moment, language)
    return name


def may_offer_times(node: str | None) -> bool:
    """The caller's answer here may lead to the offered times (a confirmed number)."""
    return node in (CONFIRM, READ_BACK)


def capturing(node: str | None) -> bool:
    """The call is at one of the capture's questions."""
    return node in (CONFIRM, ASK_NUMBER, ASK_OTHER, READ_BACK, TIMES)


def dialable(number: str) -> bool:
    """A number we can call back: withheld callers arrive as 'anonymous', 'unknown', '' or a short extension."""
    return sum(c.isdigit() for c in number) >= MIN_DIGITS


def next_times(hours: BusinessHours, at: datetime, count: int = OPTIONS,
               full: frozenset[int] = frozenset()) -> list[datetime]:
    """The next `count` half-hour starts inside business hours, at least LEAD ahead and SPACING apart, none of
    them a half hour already `full` (epoch seconds of its start)."""
    t = hours.local(at) + LEAD
    t = t.replace(second=0, microsecond=0) + timedelta(minutes=(-t.minute) % 30)
    found: list[datetime] = []
    for _ in range(14 * 48):  # two weeks of half hours: a line closed longer offers fewer times
        if hours.is_open(t) and (not found or t - found[-1] >= SPACING) and int(t.timestamp()) not in full:
            found.append(t)
            if len(found) == count:
                break
        t += STEP
    return found


def chosen_time(variables: dict[str, Any], choice: Any) -> datetime | None:
    """The offered time the caller picked (choice keys are 1-based positions)."""
    options = variables.get("callback_options") or []
    if str(choice).isdigit() and 1 <= int(choice) <= len(options):
        return datetime.fromisoformat(options[int(choice) - 1])
    return None
