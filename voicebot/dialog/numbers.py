"""Spoken numbers and digit strings in Polish and English ("cztery osiem jeden", "twenty three")."""

from __future__ import annotations

import re

from voicebot.dialog.text import fold

_UNITS_EN = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS_EN = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
# Polish keys are written without diacritics: text is folded before lookup (ASR output varies).
_UNITS_PL = {
    "zero": 0, "jeden": 1, "jedna": 1, "jedno": 1, "dwa": 2, "dwie": 2, "trzy": 3, "cztery": 4, "piec": 5,
    "szesc": 6, "siedem": 7, "osiem": 8, "dziewiec": 9, "dziesiec": 10, "jedenascie": 11, "dwanascie": 12,
    "trzynascie": 13, "czternascie": 14, "pietnascie": 15, "szesnascie": 16, "siedemnascie": 17,
    "osiemnascie": 18, "dziewietnascie": 19,
}
_TENS_PL = {"dwadziescia": 20, "trzydziesci": 30, "czterdziesci": 40, "piecdziesiat": 50, "szescdziesiat": 60,
            "siedemdziesiat": 70, "osiemdziesiat": 80, "dziewiecdziesiat": 90}
_HUNDREDS_PL = {"sto": 100, "dwiescie": 200, "trzysta": 300, "czterysta": 400, "piecset": 500, "szescset": 600,
                "siedemset": 700, "osiemset": 800, "dziewiecset": 900}
UNITS = _UNITS_EN | _UNITS_PL
TENS = _TENS_EN | _TENS_PL
THOUSAND = frozenset({"thousand", "tysiac", "tysiace", "tysiecy"})
HUNDRED = frozenset({"hundred"})
_DOUBLE = {"double": 2, "triple": 3, "podwojne": 2}
_FILLER = frozenset({"and", "i", "-", "a"})
# The words that carry a number in a short answer ("it's", "it is", "to jest"): no other words beside the digits.
_CARRIERS = _FILLER | {"it", "s", "its", "is", "to", "jest"}
# What whisper writes for a digit heard over an 8 kHz line ("4 8 1 time 2": the "f" of five is above 4 kHz).
# Taken as that digit only between two digits, where the word itself makes no sense.
_SOUNDALIKES = {"for": "4", "fore": "4", "to": "2", "too": "2", "ate": "8", "won": "1", "time": "5", "fine": "5",
                "tree": "3", "free": "3", "sex": "6", "nein": "9", "near": "0", "hero": "0"}
# A number said with a run of such words: espeak's "five five five zero one" heard as "It's time, time, time,
# near one" in four blind phone sets (phone_blind30, 31, 33). Read so only as a last resort, for a number question
# whose length it then fits, and always read back (see soundalike_digits).
SOUNDALIKE_RUN = 3
# "It's 4a. one five two": whisper's "eight" said after a digit and a short pause (piper's voice, 8 kHz), written
# glued to the digit. A letter after a digit means nothing in the numbers this parses (orders, phones, codes).
_GLUED_EIGHT = re.compile(r"(?<=\d)a\b")
# Words a caller uses to take back what they just said ("four eight one five two, no sorry, ... three",
# "pięć pięć pięć jeden zero, a nie, przepraszam, ..."): folded token sequences.
_CORRECTIONS = (("no", "sorry"), ("sorry",), ("i", "mean"), ("correction",), ("no", "wait"), ("rather",),
                ("przepraszam",), ("a", "nie"), ("nie", "nie"), ("to", "znaczy"), ("znaczy",), ("poprawka",),
                ("pomylka",), ("pomylilem",), ("pomylilam",), ("no",), ("nie",))


def tokens(text: str) -> list[str]:
    return re.findall(r"\d+|[a-z]+", fold(text).replace("-", " "))


def _group(words: list[str], i: int) -> tuple[int | None, int, int]:
    """Parse one compound number starting at words[i]: (value, next index, number of words used)."""
    total, current, j, used = 0, 0, i, 0
    last = None  # "unit" | "ten" | "hundred"
    while j < len(words):
        w = words[j]
        if w in _HUNDREDS_PL and last is None and current == 0:
            current, last = _HUNDREDS_PL[w], "hundred"
        elif w in HUNDRED and last == "unit" and current < 10:
            current, last = current * 100, "hundred"
        elif w in TENS and last in (None, "hundred") and current % 100 == 0:
            current, last = current + TENS[w], "ten"
        elif w in UNITS and (last in (None, "hundred") or (last == "ten" and UNITS[w] < 10)) and (
            last is not None or current == 0
        ):
            if last == "hundred" and current % 100:
                break
            current, last = current + UNITS[w], "unit"
        elif w in THOUSAND and (current or last is None):
            total, current, last = total + max(current, 1) * 1000, 0, None
        elif w in _FILLER and last == "hundred" and j + 1 < len(words) and (words[j + 1] in UNITS | TENS):
            pass
        else:
            break
        j += 1
        used += 1
    if used == 0:
        return None, i, 0
    return total + current, j, used


def parse_number(text: str) -> int | None:
    """The first number in the text, digits or words: 'dwadzieścia trzy' -> 23, '4 items' -> 4."""
    words = tokens(text)
    for i, w in enumerate(words):
        if w.isdigit():
            return int(w)
        value, _, used = _group(words, i)
        if used and value is not None and w not in ("o", "a", "i", "oh"):
            return value
    return None


def short_answer_soundalike(text: str, max_words: int = 5) -> int | None:
    """A short answer to "from 1 to 5" whose digit whisper wrote as a word: 'I would say for' -> 4, 'free' -> 3.

    Only when exactly one such word is there (several: unclear), for a question whose answer is one small number.
    """
    words = tokens(text)
    found = [w for w in words if w in _SOUNDALIKES]
    if len(words) > max_words or len(found) != 1:
        return None
    return int(_SOUNDALIKES[found[0]])


def corrected(words: list[str]) -> list[str]:
    """The words after the caller's last self-correction that follows a number, else all of them.

    '4 8 1 5 2 no sorry 4 8 1 5 3' -> '4 8 1 5 3'; 'sorry, it is 4 8 1 5 2' is not a correction (no number
    before it), and neither is a correction with no number after it.
    """
    for i in range(len(words) - 1, 0, -1):
        for marker in _CORRECTIONS:
            if tuple(words[i:i + len(marker)]) != marker:
                continue
            before, after = words[:i], words[i + len(marker):]
            if _digit_words(before) and _digit_words(after):
                return after
    return words


def self_corrected(text: str) -> bool:
    """The caller took back a number in this turn ('4 8 1 5 2 no sorry 4 8 1 5 3'): what counts is a guess."""
    words = tokens(text)
    return corrected(words) != words


def _digit_words(words: list[str]) -> bool:
    return any(w.isdigit() or (w in UNITS and w not in ("o", "oh")) or w in TENS for w in words)


def trailing_digits(text: str) -> str:
    """The digits of the number words the turn ends on: 'could you check order 55?' -> '55' (the caller's
    "fifty-five, five oh one" cut at its comma on a phone line), 'where is my order' -> ''."""
    words = tokens(text)
    start = len(words)
    while start and _digit_words([words[start - 1]]):
        start -= 1
    return parse_digits(" ".join(words[start:])) if start < len(words) else ""


def mostly_digits(text: str) -> bool:
    """At least two number words and no more other words than them: 'to jest 4 8 1 2', 'it is four eight one'.
    Such a turn answers a number question, however much its few other words sound like a topic."""
    words = [w for w in tokens(text) if w not in _CARRIERS]
    numeric = sum(1 for w in words if _digit_words([w]))
    return numeric >= 2 and numeric >= len(words) - numeric


def number_only(text: str) -> bool:
    """A turn that is a number and little else: '48152', '4-8-1-5-2.', 'cztery osiem jeden pięć dwa', 'it is 4 8 1 5 2'.
    At least three digits (not "one" or "two", a menu choice) and no more other words than number words, not
    counting the "it's" that carries it ("It's time for two one four.": whisper's "nine, oh, two, one, oh")."""
    words = [w for w in tokens(text) if w not in _CARRIERS]
    numeric = sum(1 for w in words if _digit_words([w]))
    # A number written in one piece weighs as its digits said one by one: with more digits than other words,
    # "okay here it is, 90210" is a number; "my order 48152 has not arrived" is a request (the classifier's).
    weighed = sum(len(w) - 1 for w in words if w.isdigit()) + numeric
    others = len(words) - numeric
    return len(parse_digits(text)) >= 3 and (numeric >= max(1, others) or weighed > others)


def _in_soundalike_run(words: list[str], i: int) -> bool:
    """words[i] is inside a run of at least SOUNDALIKE_RUN digit words and sound-alikes with a real digit word."""
    def numeric(w: str) -> bool:
        return w in _SOUNDALIKES or _digit_words([w])
    start, end = i, i + 1
    while start and numeric(words[start - 1]):
        start -= 1
    while end < len(words) and numeric(words[end]):
        end += 1
    run = words[start:end]
    return len(run) >= SOUNDALIKE_RUN and any(w not in _SOUNDALIKES and _digit_words([w]) for w in run)


def parse_digits(text: str, soundalike_runs: bool = False) -> str:
    """Every digit the caller said, in order: 'four eight one five two' -> '48152', 'double five' -> '55'.

    Compound numbers keep their digits ('forty eight' -> '48'); words that are not numbers are skipped,
    so 'my order is 4 8 1' works too. A self-correction counts from its end: '..., no sorry, 4 8 1 5 3'.
    `soundalike_runs`: also the digits whisper wrote as words in a run ('time, time, time, near one' -> '55501').
    """
    words = corrected(tokens(_GLUED_EIGHT.sub(" 8", fold(text))))
    out: list[str] = []
    i = 0
    repeat = 1
    while i < len(words):
        w = words[i]
        if w.isdigit():
            out.append(w * repeat if len(w) == 1 else w)
            repeat, i = 1, i + 1
            continue
        if w in _DOUBLE:
            repeat, i = _DOUBLE[w], i + 1
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        is_digit_next = nxt.isdigit() or nxt in UNITS or nxt in TENS
        if w in _SOUNDALIKES and ((i and _digit_words(words[i - 1:i]) and is_digit_next)
                                  or (soundalike_runs and _in_soundalike_run(words, i))):
            out.append(_SOUNDALIKES[w] * repeat)
            repeat, i = 1, i + 1
            continue
        # "nine oh two one oh" / "... one oh which was cancelled": after a single digit "oh" is its last digit
        after_digit = bool(i) and ((words[i - 1] in UNITS and UNITS[words[i - 1]] < 10)
                                   or (words[i - 1].isdigit() and len(words[i - 1]) == 1))
        if (w in ("o", "a", "i") and not out) or (w == "oh" and not is_digit_next and not after_digit):
            # Polish prepositions and the English filler "oh"; "o"/"oh" are zero only inside a number or right
            # after a digit
            i += 1
            continue
        value, j, used = _group(words, i)
        if used:
            out.append(str(value) * repeat if value is not None and value < 10 else str(value))
            repeat, i = 1, j
        else:
            repeat, i = 1, i + 1
    return "".join(out)
