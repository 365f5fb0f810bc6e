"""Dates and times as callers say them, in Polish and English ("jutro o piętnastej", "next Tuesday at 3 pm").

Relative words resolve against `now`, which the caller of these functions passes in (tests pin it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from voicebot.dialog.numbers import UNITS, tokens
from voicebot.dialog.text import fold

_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "poniedzialek": 0, "wtorek": 1, "sroda": 2, "srode": 2, "srody": 2, "czwartek": 3, "piatek": 4,
    "sobota": 5, "sobote": 5, "niedziela": 6, "niedziele": 6,
}
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "stycznia": 1, "lutego": 2, "marca": 3, "kwietnia": 4, "maja": 5, "czerwca": 6, "lipca": 7,
    "sierpnia": 8, "wrzesnia": 9, "pazdziernika": 10, "listopada": 11, "grudnia": 12,
}
_RELATIVE = {"today": 0, "tonight": 0, "dzis": 0, "dzisiaj": 0, "tomorrow": 1, "jutro": 1, "pojutrze": 2}
# Ordinal stems (folded): Polish feminine/genitive forms share them ("piętnastej", "piętnastego").
_ORD_PL = {
    "pierwsz": 1, "drug": 2, "trzec": 3, "czwart": 4, "piat": 5, "szost": 6, "siodm": 7, "osm": 8,
    "dziewiat": 9, "dziesiat": 10, "jedenast": 11, "dwunast": 12, "trzynast": 13, "czternast": 14,
    "pietnast": 15, "szesnast": 16, "siedemnast": 17, "osiemnast": 18, "dziewietnast": 19, "dwudziest": 20,
    "trzydziest": 30,
}
_ORD_PL_ENDINGS = ("iej", "iego", "ia", "i", "ej", "ego", "a", "y", "e", "ym")
_ORD_EN = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30,
}
_EN_TENS_ORD = {"twenty": 20, "thirty": 30}
_PM = frozenset({"pm", "p", "afternoon", "evening", "popoludniu", "wieczorem", "wieczor"})
_AM = frozenset({"am", "morning", "rano", "rana"})
_LINKS = frozenset({"in", "the", "of", "o", "w"})  # words between an hour and its part of the day


def ordinal(word: str) -> int | None:
    if word in _ORD_EN:
        return _ORD_EN[word]
    m = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)?", word)
    if m:
        return int(m.group(1))
    for stem, value in _ORD_PL.items():
        if word.startswith(stem) and word[len(stem):] in _ORD_PL_ENDINGS:
            return value
    return None


def _ordinals(words: list[str]) -> list[tuple[int, int, int]]:
    """(index, value, words used) of every ordinal, combining 'twenty fifth' / 'dwudziestego piątego'."""
    out = []
    i = 0
    while i < len(words):
        w = words[i]
        first = ordinal(w) if not w.isdigit() or len(w) <= 2 else None
        if w in _EN_TENS_ORD and i + 1 < len(words) and (ordinal(words[i + 1]) or 0) < 10 and ordinal(words[i + 1]):
            out.append((i, _EN_TENS_ORD[w] + (ordinal(words[i + 1]) or 0), 2))
            i += 2
            continue
        if first is not None:
            nxt = ordinal(words[i + 1]) if i + 1 < len(words) and not words[i + 1].isdigit() else None
            if first in (20, 30) and nxt and nxt < 10:
                out.append((i, first + nxt, 2))
                i += 2
                continue
            out.append((i, first, 1))
        i += 1
    return out


# "From the 27th to the 30th", "z dwudziestego siódmego na trzydziestego": of two dates the one after the
# marker is the one the caller wants (the first is the visit being moved). Folded words.
_TARGET = re.compile(r"\b(?:to|until|till|onto|into|na)\b")


def _moved_to(text: str, parse: Callable[[str], Any], after_from: bool = False) -> Any:
    """What `parse` finds after the last "to"/"na" when it also finds something before it (and, with
    `after_from`, "from"/"z" comes before it); else what it finds in the whole text."""
    folded = fold(text)
    for marker in reversed(list(_TARGET.finditer(folded))):
        before, after = folded[:marker.start()], folded[marker.end():]
        if (not after_from or re.search(r"\b(?:from|z|ze)\b", before)) and (target := parse(after)) \
                and parse(before):
            return target
    return parse(text)


def parse_date(text: str, now: datetime) -> date | None:
    return _moved_to(text, lambda part: _one_date(part, now))


def _one_date(text: str, now: datetime) -> date | None:
    today = now.date()
    folded = fold(text)
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", folded)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.search(r"\b(\d{1,2})[./](\d{1,2})(?:[./](\d{4}))?\b", folded)
    if m:
        return _future(today, int(m.group(1)), int(m.group(2)), m.group(3))
    words = tokens(text)
    if "day" in words and "after" in words and "tomorrow" in words:
        return today + timedelta(days=2)
    for w in words:
        if w in _RELATIVE:
            return today + timedelta(days=_RELATIVE[w])
    month_idx = next((i for i, w in enumerate(words) if w in _MONTHS), None)
    if month_idx is not None:
        month = _MONTHS[words[month_idx]]
        near = [(abs(i - month_idx), v) for i, v, _ in _ordinals(words) if 1 <= v <= 31]
        if near:
            return _future(today, min(near)[1], month, None)
    for w in words:
        if w in _WEEKDAYS:
            ahead = (_WEEKDAYS[w] - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    # "the 25th" / "dwudziestego piątego": a day of this month, or next month if it has passed.
    for i, value, _ in _ordinals(words):
        if 1 <= value <= 31 and (words[i].endswith(("th", "st", "nd", "rd", "ego")) or words[i - 1:i] == ["the"]):
            return _future(today, value, today.month, None, roll_month=True)
    return None


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _future(today: date, day: int, month: int, year: str | None, roll_month: bool = False) -> date | None:
    if year:
        return _safe_date(int(year), month, day)
    found = _safe_date(today.year, month, day)
    if found and found < today:
        if roll_month:
            month += 1
            return _safe_date(today.year + (month > 12), (month - 1) % 12 + 1, day)
        return _safe_date(today.year + 1, month, day)
    return found


def parse_time(text: str) -> time | None:
    # "from 10 am to 2 pm", "z dziesiątej na czternastą": the time moved to. "From" is required: "ten to two"
    # is one time.
    return _moved_to(text, _one_time, after_from=True)


def _one_time(text: str) -> time | None:
    folded = fold(text)
    m = re.search(r"\b(\d{1,2})[:.](\d{2})\b", folded)
    words = tokens(text)
    pm = any(w in _PM for w in words) or "po poludniu" in folded
    am = any(w in _AM for w in words)
    hour: int | None = None
    minute = 0
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
    elif "noon" in words or "poludnie" in words or ("poludnia" in words and not pm):
        return time(12, 0)
    else:
        hour, minute = _spoken_time(words)
    if hour is None or hour > 24 or minute > 59:
        return None
    if pm and hour < 12:
        hour += 12
    elif not am and not m and 1 <= hour <= 7:
        hour += 12  # "at three" on a service line means the afternoon
    return time(hour % 24, minute)


def _spoken_time(words: list[str]) -> tuple[int | None, int]:
    for i, w in enumerate(words):
        # "wpół do czwartej" = 3:30; "half past three" = 3:30; "quarter past/to".
        if w == "wpol" or (w == "pol" and i + 1 < len(words) and words[i + 1] == "do"):
            h = _hour_word(words[i + 2:] if words[i + 1:i + 2] == ["do"] else words[i + 1:])
            return (h - 1 if h else None), 30
        if w in ("half", "quarter") and i + 2 < len(words) and words[i + 1] in ("past", "to"):
            h = _hour_word(words[i + 2:])
            if h is None:
                return None, 0
            mins = 30 if w == "half" else 15
            return (h, mins) if words[i + 1] == "past" else (h - 1, 60 - mins)
    for i, w in enumerate(words):
        anchor = w in ("at", "o", "around", "okolo", "godzina", "godzinie", "na") or w in _PM | _AM | {"oclock"}
        if i + 1 < len(words) and anchor and w not in _PM | _AM:
            h = _hour_word(words[i + 1:])
            if h is not None:
                return h, _minutes(words[i + 2:])
    # Bare "piętnasta trzydzieści" / "three pm".
    for i, w in enumerate(words):
        h = _hour_word(words[i:], ordinals_only=True)
        if h is not None:
            return h, _minutes(words[i + 1:])
        if w.isdigit() or w in UNITS:
            rest = [x for x in words[i + 1:i + 4] if x not in _LINKS]  # "ten in the morning" = "ten morning"
            if rest and (rest[0] in _PM | _AM or rest[0] == "oclock"):
                return _hour_word(words[i:]), 0
    return None, 0


def _hour_word(words: list[str], ordinals_only: bool = False) -> int | None:
    if not words:
        return None
    w = words[0]
    if not ordinals_only and w.isdigit() and int(w) <= 24:
        return int(w)
    if not ordinals_only and w in UNITS and 1 <= UNITS[w] <= 12:
        return UNITS[w]
    if w in _ORD_EN:
        return None  # "at the first" is a date, not a time
    value = ordinal(w) if not w.isdigit() else None
    if value is not None and len(words) > 1 and value == 20 and ordinal(words[1]) and ordinal(words[1]) < 5:
        return 20 + (ordinal(words[1]) or 0)
    if value is not None and 1 <= value <= 24 and w.endswith(("ej", "a")):
        return value
    return None


def _minutes(words: list[str]) -> int:
    if not words:
        return 0
    w = words[0]
    if w.isdigit() and len(w) == 2:
        return int(w)
    tens = {"thirty": 30, "fifteen": 15, "forty": 40, "trzydziesci": 30, "pietnascie": 15, "czterdziesci": 40,
            "dwadziescia": 20, "twenty": 20, "fifty": 50, "piecdziesiat": 50, "ten": 10, "dziesiec": 10}
    if w in tens:
        extra = UNITS.get(words[1], 0) if len(words) > 1 and UNITS.get(words[1], 10) < 10 else 0
        return tens[w] + extra
    return 0


def say_date(d: date, language: str) -> str:
    if language == "pl":
        days = ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")
        months = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
                  "października", "listopada", "grudnia")
        return f"{days[d.weekday()]}, {d.day} {months[d.month - 1]}"
    return f"{d.strftime('%A')}, {d.day} {d.strftime('%B')}"


def say_time(t: time, language: str) -> str:
    if language == "pl":
        return f"{t.hour}:{t.minute:02d}"
    suffix = "am" if t.hour < 12 else "pm"
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


def say_datetime(moment: datetime, language: str) -> str:
    joiner = " o " if language == "pl" else " at "
    return say_date(moment.date(), language) + joiner + say_time(moment.time(), language)
