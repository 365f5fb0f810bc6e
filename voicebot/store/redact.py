"""PII redaction for stored transcripts, Polish and English.

What is removed (and replaced by a tag such as ``[CARD]``):

* payment card numbers, 13-19 digits, only when the Luhn check passes — written ("4111 1111 1111 1111")
  or spoken digit by digit ("four one one one ...", "cztery jeden jeden ...");
* PESEL (11 digits) only when its checksum passes;
* IBANs with a country prefix when mod-97 passes, and bare 26-digit Polish account numbers (NRB) that pass
  mod-97 as ``PL`` IBANs;
* phone numbers (``+48 600 100 200``, ``600-100-200``, ``(555) 123-4567``);
* e-mail addresses.

Digit groups may be joined by spaces, hyphens, brackets, and by a comma or dot standing between two digits
(``4,111,111,111,111,111`` and ``4111.1111.1111.1111`` are how whisper writes a spoken card number).

`redact_value` applies the same pass to everything else that is stored or shown (handoff packages, slots,
summaries, callbacks, call records): every string inside, except fields that must stay as they are (the
caller's own number, ids) and except the caller's own number inside a text.

Numbers that fail their checksum are left alone on purpose: an order number or an amount must stay readable
for supervisors, and a check digit is what tells a real card/PESEL from a random digit string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CARD, PESEL, IBAN, PHONE, EMAIL = "[CARD]", "[PESEL]", "[IBAN]", "[PHONE]", "[EMAIL]"

# Spoken digits as ASR writes them. "oh" is how English speakers often say 0 in card/phone numbers.
DIGIT_WORDS: dict[str, str] = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "jeden": "1", "jedna": "1", "jedynka": "1", "dwa": "2", "dwie": "2", "dwójka": "2", "trzy": "3",
    "cztery": "4", "pięć": "5", "piec": "5", "sześć": "6", "szesc": "6", "siedem": "7", "osiem": "8",
    "dziewięć": "9", "dziewiec": "9",
}

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# An IBAN with its country code: 2 letters, 2 check digits, then 11-30 alphanumerics, optionally in groups.
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
# Tokens: a digit group, a word, or one other character (separators are handled by the run scanner).
_TOKEN_RE = re.compile(r"\d+|[^\W\d_]+|\S", re.UNICODE)
_JOINERS = {"-", "(", ")", "/"}
_DIGIT_JOINERS = {",", "."}  # only between two digits: "4,111" joins, "200. 5" and "1, 2" do not


@dataclass(frozen=True)
class _Group:
    digits: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def pesel_ok(digits: str) -> bool:
    if len(digits) != 11 or not digits.isdigit():
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 10) % 10
    return check == int(digits[10])


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    if len(s) < 15 or len(s) > 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def _is_card(d: str) -> bool:
    return 13 <= len(d) <= 19 and luhn_ok(d)


def _is_nrb(d: str) -> bool:
    return len(d) == 26 and iban_ok("PL" + d)


def _checked_kind(d: str) -> str | None:
    """Numbers recognised by a check digit; these may sit inside a longer run of digits."""
    if _is_nrb(d):
        return IBAN
    if _is_card(d):
        return CARD
    if pesel_ok(d):
        return PESEL
    return None


def _is_phone(d: str, plus: bool) -> bool:
    if plus:
        return 8 <= len(d) <= 15
    return len(d) in (9, 10) or (len(d) == 11 and d.startswith("48"))


def _between_digits(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()


def _digit_runs(text: str) -> list[tuple[list[_Group], bool]]:
    """Runs of digit groups/spoken digits separated only by spaces, hyphens or brackets.

    Returns each run with a flag saying whether it started with "+" (international phone number).
    """
    runs: list[tuple[list[_Group], bool]] = []
    current: list[_Group] = []
    plus = False
    pending_plus = False
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        digits = tok if tok.isdigit() else DIGIT_WORDS.get(tok.lower())
        if digits is not None:
            if not current:
                plus = pending_plus
            current.append(_Group(digits, m.start(), m.end()))
            pending_plus = False
            continue
        if tok == "+":
            if current:
                runs.append((current, plus))
                current = []
            pending_plus = True
            continue
        if tok in _JOINERS or (tok in _DIGIT_JOINERS and _between_digits(text, m.start())):
            continue
        if current:
            runs.append((current, plus))
            current = []
        pending_plus = False
    if current:
        runs.append((current, plus))
    return runs


def _redact_run(groups: list[_Group], plus: bool) -> list[tuple[int, int, str]]:
    """Spans (start, end, tag) to replace inside one run."""
    whole = "".join(g.digits for g in groups)
    kind = _checked_kind(whole)
    if kind:
        return [(groups[0].start, groups[-1].end, kind)]
    if _is_phone(whole, plus):
        start = groups[0].start - (1 if plus else 0)
        return [(start, groups[-1].end, PHONE)]
    # Several numbers written one after another ("4111111111111111 44051401359"): each unbroken group is
    # checked on its own. Runs are never split at arbitrary points: any 16 digits pass Luhn one time in
    # ten, so splitting an invalid number would "find" cards that are not there.
    return [(g.start, g.end, kind) for g in groups if len(g.digits) >= 11 and (kind := _checked_kind(g.digits))]


def redact(text: str) -> str:
    """The text with PII replaced by tags; text without PII comes back unchanged."""
    if not text:
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _IBAN_RE.sub(lambda m: IBAN if iban_ok(m.group(0)) else m.group(0), text)
    spans: list[tuple[int, int, str]] = []
    for groups, plus in _digit_runs(text):
        spans.extend(_redact_run(groups, plus))
    for start, end, tag in sorted(spans, reverse=True):
        if start > 0 and text[start - 1] == "(":  # "(555) 123-4567": the bracket belongs to the number
            start -= 1
        text = text[:start] + tag + text[end:]
    return text


# Fields copied as they are: identifiers, times, and the caller's number (the agent calls it back).
KEEP_FIELDS = frozenset({
    "call_id", "handoff_id", "callback_id", "id", "caller_number", "number", "created_at", "started_at",
    "ended_at", "ts", "due", "preferred_time", "flow_id", "flow_version", "language", "channel", "node", "last_node",
})


def redact_keeping(text: str, keep: tuple[str, ...] = (), redactor: Callable[[str], str] = redact) -> str:
    """`redactor(text)`, leaving the exact strings in `keep` (the caller's own number) readable."""
    for k in keep:
        if k and k in text:
            return k.join(redact_keeping(part, keep, redactor) for part in text.split(k))
    return redactor(text)


def redact_value(value: object, redactor: Callable[[str], str] = redact, keep: tuple[str, ...] = (),
                 keep_fields: frozenset[str] = KEEP_FIELDS) -> Any:
    """Every string (and whole number) inside dicts/lists redacted, fields in `keep_fields` as they are.

    A number slot (a PESEL captured as an int) comes back as its tag when it is PII.
    """
    if isinstance(value, str):
        return redact_keeping(value, keep, redactor)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        cleaned = redactor(text)
        return value if cleaned == text else cleaned
    if isinstance(value, dict):
        return {k: v if k in keep_fields else redact_value(v, redactor, keep, keep_fields) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, redactor, keep, keep_fields) for v in value]
    return value
