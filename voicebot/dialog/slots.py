"""Slot values from what the caller said (or typed on the keypad), one function per slot type."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from voicebot.dialog.datetimes import parse_date, parse_time, say_date, say_time
from voicebot.dialog.numbers import parse_digits, parse_number, short_answer_soundalike, tokens
from voicebot.dialog.schema import AskNode
from voicebot.dialog.text import fold

SCORE_MAX = 10  # a number question up to this (a survey's score) takes whisper's soundalikes of one digit
# Folded (no diacritics) words and phrases; phrases are matched before single words.
_YES = frozenset({"yes", "yeah", "yep", "yup", "sure", "correct", "right", "ok", "okay", "alright", "absolutely",
        "definitely", "certainly", "indeed", "tak", "jasne", "zgadza", "dobrze", "oczywiscie", "pewnie", "owszem",
        "zgoda", "potwierdzam", "dokladnie", "okej", "prawda", "dobra", "smialo", "mhm", "poprawnie",
        # regional and colloquial Polish yes: "ano" (Lesser Poland, Czech border), "jo" (Silesia)
        "ano", "jo"})
_NO = frozenset({"no", "nope", "nah", "not", "wrong", "incorrect", "negative", "nie", "niestety", "zle", "blednie",
       "wcale", "nigdy"})
_YES_PHRASES = ("that's right", "thats right", "sounds good", "go ahead", "of course", "no jasne", "no pewnie",
                "no tak", "no dobrze", "that is correct", "please do", "moze byc", "jak najbardziej",
                "no problem", "uh huh", "that's the one", "thats the one", "spot on", "bang on", "dead on", "all right")
_NO_PHRASES = ("no thanks", "not really", "rather not", "don't", "dont", "nie bardzo", "raczej nie", "no nie",
               "chyba nie", "absolutely not", "no way", "that's wrong", "thats wrong", "nie zgadza", "isn't", "isnt",
               "is not", "wasn't", "wasnt", "was not", "aren't", "arent")

# "I don't have it", "nie pamiętam": the caller cannot give what the question asks for. That is an unusable
# answer at this question (counted toward a person), never a new topic: "I don't have the number, I deleted the
# e-mail" is not a request to change an e-mail address. Folded token phrases.
_CANNOT = ("don t have", "dont have", "do not have", "don t know", "dont know", "do not know", "no idea",
           "can t remember", "cant remember", "cannot remember", "can t find", "cant find", "cannot find",
           "don t remember", "dont remember", "lost it", "deleted the", "threw away", "threw it away",
           "nie mam", "nie znam", "nie pamietam", "nie wiem", "nie moge znalezc", "nie moge go znalezc",
           "zgubil", "zgubilam", "zgubilem", "wyrzucil", "wyrzucilam", "wyrzucilem", "skasowal", "skasowalam",
           "skasowalem", "usunal", "usunelam", "usunalem")

# "How do I do that?", "gdzie go znajdę?": the caller asks how to answer the question, or how the task goes.
_HOW = ("how do i", "how can i", "how does", "where do i find", "where can i find",
        "where would i find", "where do i get", "where is it", "what do i do", "what should i do", "what do i need",
        "how long do i", "how long have i", "how many days", "ile mam czasu", "ile mam dni", "ile dni",
        "jak to zrobic", "jak mam", "jak moge", "jak to dziala", "gdzie znajde", "gdzie go znajde",
        "gdzie moge", "gdzie to jest", "gdzie jest ten", "co mam zrobic", "co mam teraz", "skad wziac", "skad mam")


def says_any(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether the turn's folded tokens hold one of `phrases` (folded token phrases) as whole words."""
    folded = " " + " ".join(tokens(text)) + " "
    return any(f" {phrase} " in folded for phrase in phrases)


def cannot_answer(text: str) -> bool:
    """The caller says they do not have or know the answer ("I don't have the number", "nie pamiętam")."""
    return says_any(text, _CANNOT)


def asks_how(text: str) -> bool:
    """The caller asks how or where rather than answering ("How do I do that?", "gdzie znajdę numer?")."""
    return says_any(text, _HOW)


YES_NO_WORDS = _YES | _NO  # for a caller outside this module that tells a yes/no answer from a request
# Words a bare yes or no may come with ("yes please", "nie, dziękuję", "uh huh yeah").
_COURTESY = frozenset({"please", "thanks", "thank", "you", "uh", "huh", "oh", "dziekuje", "dzieki", "prosze",
                       "bardzo", "no"})


# The yes/no phrases as token sequences ("that's right" -> "that s right"): words a bare answer may consist of.
_ANSWER_PHRASES = tuple(" ".join(tokens(p)) for p in _YES_PHRASES + _NO_PHRASES)


def bare_yes_no(text: str, language: str = "en") -> bool | None:
    """`yes_no` of a turn that says nothing else: "absolutely", "spot on", "nie, dziękuję" - not "pralka nie
    wiruje"."""
    folded = " " + " ".join(tokens(text)) + " "
    if not folded.strip():
        return None
    for phrase in _ANSWER_PHRASES:  # "spot on" is a yes though neither of its words is one
        while f" {phrase} " in folded:
            folded = folded.replace(f" {phrase} ", " ")
    if not all(w in _YES or w in _NO or w in _COURTESY for w in folded.split()):
        return None
    return yes_no(text, language)


# Yes words that also just acknowledge what the bot said ("ok, I'll try the link, thanks", "dobra, spróbuję").
_ACKNOWLEDGE = frozenset({"ok", "okay", "okej", "dobra", "dobrze", "right", "alright"})


# Praise of what the bot just said ("Wonderful.", "Świetnie!"): a yes to a read-back ("I have: 14 Mill Lane,
# Oxford. Is that correct?"), a thank-you after an answer. Folded words.
_APPROVAL = frozenset({"perfect", "great", "wonderful", "brilliant", "lovely", "excellent", "fantastic", "awesome",
                       "splendid", "superb", "super", "marvellous", "marvelous", "cool", "swietnie", "doskonale",
                       "idealnie", "znakomicie", "cudownie", "wspaniale", "fajnie", "rewelacja", "rewelacyjnie",
                       "ekstra", "extra", "spoko"})
_APPROVAL_FILLER = frozenset({"that", "thats", "s", "sounds", "just", "really", "very", "so", "oh", "ah", "how",
                              "to", "jest", "po", "prostu", "naprawde", "bardzo", "ok", "okay", "och"})


def approves(text: str) -> bool:
    """The turn only praises ("Wonderful.", "That's perfect, thank you", "Świetnie, dziękuję"): no request,
    no no, no other words."""
    words = tokens(text)
    return any(w in _APPROVAL for w in words) and all(
        w in _APPROVAL or w in _APPROVAL_FILLER or w in _COURTESY for w in words)


def only_acknowledges(text: str) -> bool:
    """Every yes word of the turn is an acknowledgement ("ok", "dobra"), none a real yes ("yes", "tak", "go
    ahead"): said with a goodbye, such a turn takes note of the answer and declines the offer."""
    folded = " " + " ".join(tokens(text)) + " "
    if any(f" {phrase} " in folded for phrase in _YES_PHRASES):
        return False
    yes = {w for w in tokens(text) if w in _YES}
    return bool(yes) and yes <= _ACKNOWLEDGE


# The caller has more to ask ("ok thanks, and one more thing", "dobrze, a jeszcze jedno"): to "anything else?" that is
# a yes, whatever thank-you comes with it; the call ended on it (escalation_blind23 en-p16). Folded token phrases.
_MORE_TO_ASK = ("one more thing", "one more question", "one other thing", "another thing", "another question",
                "something else", "a couple more", "a few more", "i also wanted", "also wanted to", "while i have you",
                "while i ve got you", "jeszcze jedno", "jeszcze jedna", "jeszcze jeden", "jeszcze cos",
                "jeszcze pytanie", "jeszcze sprawa", "jeszcze sprawe", "mam jeszcze", "druga sprawa", "inna sprawa",
                "przy okazji")


def asks_more(text: str) -> bool:
    """The turn says the caller has something more to ask (see _MORE_TO_ASK)."""
    return says_any(text, _MORE_TO_ASK)


# The caller declines more help in a sentence ("I don't need anything else", "nie potrzebuję niczego więcej"):
# a "no" even when the negation is not the first word. Folded token phrases.
_DECLINES = ("don t need", "dont need", "do not need", "don t want", "dont want", "do not want", "nothing else",
             "that s all", "thats all", "that s it", "thats it", "i m good", "im good", "all set",
             "nie potrzebuje", "nie chce", "nic wiecej", "niczego wiecej", "to wszystko", "nie trzeba")


def declines(text: str) -> bool:
    """The turn declines what was offered in a sentence of its own ("I don't need anything else")."""
    return says_any(text, _DECLINES)


# Words a "no" to "anything else?" may close with ("no, I'm fine, thanks", "nie, to już wszystko, do widzenia").
_CLOSING = frozenset({"i", "m", "am", "fine", "good", "great", "ok", "okay", "all", "that", "s", "it", "is",
                      "everything", "bye", "goodbye", "have", "a", "nice", "day", "to", "juz", "wszystko", "do",
                      "widzenia", "dobrze", "dobra", "milego", "dnia", "na", "razie", "then", "really", "sir",
                      "pan", "pani", "panu"})
CLOSING_ROOM = 3  # more words than this besides a "no" and its closing: the caller is saying something else


def says_more_than_no(text: str) -> bool:
    """A "no" followed by news of its own ("nie, na końcu jest jedynka, 5 5 5 0 1", "no, the number is wrong"),
    not by a closing ("no, I'm fine, thanks"): to "anything else?" it is no goodbye."""
    rest = [w for w in tokens(text) if w not in _YES and w not in _NO and w not in _COURTESY and w not in _CLOSING]
    return len(rest) > CLOSING_ROOM


# What opens a "no" with the right answer after it ("no, it's Polna 5 in Sopot", "nie, to jest Polna 5, Sopot").
_NO_OPENING = re.compile(
    r"^\W*(?:(?:no|nope|nah|not quite|sorry|wrong|that's wrong|that is wrong|it's|it is|that's|that is|"
    r"the right one is|actually|nie|źle|zle|przepraszam|to jest|to|jest|chodzi o)\b[\s,.!:;-]*)+", re.IGNORECASE)
SAID_INSTEAD_WORDS = 2  # fewer words after the "no" are no answer ("no, wrong"): the question again


def said_instead(text: str) -> str | None:
    """The answer a "no" carries to a read-back of what the caller said ("I have: Polna 5. Is that correct?" -
    "No, it's Polna 5 in Sopot" -> "Polna 5 in Sopot"), else None (a bare "no": the question is asked again)."""
    if not answers_first(text):
        return None
    rest = _NO_OPENING.sub("", text.strip()).strip()
    return rest if len(tokens(rest)) >= SAID_INSTEAD_WORDS else None


def answers_first(text: str) -> bool:
    """The turn opens with its yes or no ("nie, to wszystko", "yes I would"), as an answer does; a "nie" later
    in a sentence ("to mi nic nie mówi, ...") negates a verb instead."""
    words = [w for w in tokens(text) if w not in _COURTESY or w == "no"]
    return bool(words) and (words[0] in _YES or words[0] in _NO or words[0] == "no")


# What was read back is not the caller's ("that's not my number", "to nie jest mój adres"): a "no" wherever it
# stands in the turn, and no new topic although it names one. Folded token phrases.
_NOT_MINE = ("that s not", "that is not", "that isn t", "that was not", "that wasn t", "it s not", "it is not",
             "it isn t", "this is not", "this isn t", "not my", "not mine", "not the", "to nie jest", "to nie moj",
             "to nie moje", "to nie moja", "to nie ten", "to nie ta", "to nie to", "nie jest moj", "nie jest moje",
             "nie jest moja")
# Words that make a turn a request of its own rather than an answer ("no, I'd like to return something",
# "tak, a gdzie jest moja paczka?"): with one of them the request wins over a leading yes or no.
_ASKS = ("want", "wanna", "would like", "d like", "need", "can you", "could you", "can i", "could i", "instead",
         "how do", "how can", "how much", "how long", "where is", "where s", "where are", "when is", "when will",
         "when can", "what is", "what s", "what are", "why", "chce", "chcialbym", "chcialabym", "chcialem",
         "chcialam", "potrzebuje", "prosze o", "czy moge", "czy mozna", "czy mozecie", "gdzie", "kiedy",
         "dlaczego", "zamiast", "wolalbym", "wolalabym")


def clear_answer(text: str, language: str = "en") -> bool:
    """A yes or no the turn states plainly, whatever topic words come with it ("yes that's my address all
    good", "to nie jest mój numer", "no you've got the wrong order"), and no request of its own."""
    if yes_no(text, language) is None:
        return False
    folded = " " + " ".join(tokens(text)) + " "
    if any(f" {phrase} " in folded for phrase in _ASKS):
        return False
    return answers_first(text) or any(f" {phrase} " in folded for phrase in _NOT_MINE)


def yes_no(text: str, language: str = "en") -> bool | None:
    """'tak', 'no jasne' -> True; 'nope', 'raczej nie' -> False. A lone Polish "no" is ambiguous (it
    often means "yeah"), so in Polish it is None and the caller is asked again."""
    folded = " " + " ".join(tokens(text)) + " "
    raw = " " + fold(text) + " "
    for phrase in _NO_PHRASES:
        if f" {phrase} " in raw or f" {phrase} " in folded:
            return False
    for phrase in _YES_PHRASES:
        if f" {phrase} " in folded:
            return True
    words = tokens(text)
    no = [w for w in words if w in _NO]
    yes = [w for w in words if w in _YES]
    if no and not yes:
        if language == "pl" and set(no) == {"no"}:
            return None
        return False
    if yes and not no:
        return True
    if not yes and not no and approves(text):
        return True  # "Wonderful." to "Is that correct?"
    if yes and no:
        # "no tak" (Polish filler + yes) is a yes; "tak, to ja tego nie zamawiałem": a yes, then a statement
        # with a negated verb; any other negation wins ("absolutely not", "tak, nie").
        return set(no) == {"no"} or _yes_then_negated_statement(words)
    return None


def _yes_then_negated_statement(words: list[str]) -> bool:
    """The answer starts with a yes word and every no word negates the word after it (none stands alone at
    the end): the caller says yes and goes on, e.g. about an order they never placed."""
    first = next(w for w in words if w in _YES or w in _NO)
    negations = [i for i, w in enumerate(words) if w in _NO and w != "no"]
    return first in _YES and first != "no" and all(i + 1 < len(words) for i in negations)


def date_with_time(text: str, now: datetime) -> str | None:
    """A date said along with a time ("the thirtieth in the morning"), as an ISO date; not the "first" of "first
    thing in the morning", which names no day."""
    if " first thing " in " " + " ".join(tokens(text)) + " ":
        return None
    d = parse_date(text, now)
    return d.isoformat() if d else None


_GREETING = re.compile(r"\bgood\s+(?:morning|afternoon|evening)\b", re.IGNORECASE)


def choice(text: str, choices: dict[str, list[str]]) -> str | None:
    folded = " " + " ".join(tokens(text)) + " "
    for value, synonyms in choices.items():
        for s in [value, *synonyms]:
            if f" {' '.join(tokens(s))} " in folded:
                return value
    return None


def digits(text: str, node: AskNode) -> str | None:
    found = parse_digits(text)
    if not found:
        return None
    lo = node.length or node.min_length or 1
    hi = node.length or node.max_length or 32
    return found if lo <= len(found) <= hi else None


def soundalike_digits(text: str, node: AskNode) -> str | None:
    """The number in a run of digit sound-alikes ("It's time, time, time, near one"), when it fits the node.
    A last resort after the plain reading, and a guess: the caller is asked "Did you say ...?"."""
    found = parse_digits(text, soundalike_runs=True)
    return digits(found, node) if found != parse_digits(text) else None


def number(value: int | None, node: AskNode) -> int | None:
    """A number inside the node's min_value..max_value (a survey's 1-5), else None: asked again."""
    if value is None or (node.min_value is not None and value < node.min_value) \
            or (node.max_value is not None and value > node.max_value):
        return None
    return value


def bookable(clock: str, node: AskNode) -> bool:
    """A time "HH:MM" inside the node's earliest..latest (either may be open)."""
    return (node.earliest is None or clock >= node.earliest) and (node.latest is None or clock <= node.latest)


def completed_digits(node: AskNode, partial: str, text: str) -> str | None:
    """A number said over two turns ("4 8 1" ... "5 2"): the digits kept from before + this turn's."""
    found = parse_digits(text)
    return digits(partial + found, node) if partial and found else None


def extract(node: AskNode, text: str, now: datetime, language: str = "en") -> Any:
    """The slot value in `text`, or None when the text does not contain one."""
    kind = node.type
    if kind == "digits":
        return digits(text, node)
    if kind == "number":
        value = parse_number(text)
        if value is None and node.max_value is not None and node.max_value <= SCORE_MAX \
                and yes_no(text, language) is None:  # a score ("I would say for"), not "I don't want to"
            value = short_answer_soundalike(text)
        return number(value, node)
    if kind == "date":
        d = parse_date(text, now)
        return d.isoformat() if d else None
    if kind == "time":
        t = parse_time(text)
        if t is not None and not bookable(t.strftime("%H:%M"), node):
            t = None  # "in the morning at 6 o'clock" to slots from 9 to 4: the morning's slot, or asked again
        if t is None and node.choices:
            # "rano", "in the afternoon", "any time": no clock time, but a part of the day the flow maps to a
            # slot of its own ("09:00": [rano, ...]); the confirmation question reads that time back. "Good
            # morning" is a greeting, not the time wanted (phone_blind28 en-r4 was offered 9 am for it).
            return choice(_GREETING.sub(" ", text), node.choices)
        return t.strftime("%H:%M") if t else None
    if kind == "yes_no":
        return yes_no(text, language)
    if kind == "choice":
        return choice(text, node.choices)
    if kind == "contact":
        return contact(text)
    if kind == "free_text":
        # Without whisper's closing full stop: read back inside a sentence ("I have: 14 Mill Lane, Oxford. Is that
        # correct?"), not "Oxford.. Is that correct?".
        return text.strip().rstrip(".") or None
    raise ValueError(f"unknown slot type {kind!r}")  # validation rejects these at load time


# A phone number has at least this many digits (a Polish one 9, a British one 10 or 11; an extension is not one).
MIN_PHONE_DIGITS = 7
# An e-mail address as said and transcribed: "ewa@wp.pl", "john dot smith at gmail dot com", "ewa małpa wp kropka pl".
_EMAIL = re.compile(r"@|\b[\w.-]+\.(com|pl|net|org|eu|uk|de|info|io)\b"
                    r"|\b(at|małpa|malpa|małpka|malpka)\b.*\b(dot|kropka|com|pl|net|org|gmail|outlook|hotmail)\b",
                    re.IGNORECASE)


def contact(text: str) -> str | None:
    """A phone number or an e-mail address said (the words as said, for the read-back and the agent), else None:
    words with neither are not new contact details (phone_blind25 en-e3: the caller's next sentence about a
    break-in, garbled on the line, was read back as the new e-mail address)."""
    if len(parse_digits(text) or "") < MIN_PHONE_DIGITS and not _EMAIL.search(text):
        return None
    return text.strip().rstrip(".") or None


# Slot types whose answer is complete once it parses: a caller who said five digits, "yes" or "next Tuesday"
# has answered. A time ("ten ... thirty"), a number ("twenty ... five") or free text may still go on.
COMPLETE_WHEN_PARSED = ("digits", "yes_no", "date", "choice")


def fills(node: AskNode, text: str, now: datetime, language: str = "en") -> bool:
    """The words so far already answer `node`'s question in full (digits: all of them, at the maximum length)."""
    if node.type not in COMPLETE_WHEN_PARSED:
        return False
    value = extract(node, text, now, language)
    if node.type == "digits":
        return value is not None and len(value) == (node.length or node.max_length or 32)
    return value is not None


def partly_fills(node: AskNode, text: str) -> bool:
    """Some, not yet enough, of the digits `node` asks for ("my order number is 4 8 1" to a five-digit question):
    a caller reading a number pauses between groups, so the rest is likely to follow."""
    if node.type != "digits":
        return False
    found = parse_digits(text) or ""
    return 0 < len(found) < (node.length or node.min_length or 1)


def from_dtmf(node: AskNode, keys: str) -> Any:
    """Keypad input: digits and numbers directly, 1/2 for yes/no, the n-th choice."""
    keys = keys.strip().rstrip("#")
    if not re.fullmatch(r"[0-9*]+", keys):
        return None
    if node.type == "digits":
        return digits(keys, node)
    if node.type == "number":
        return number(int(keys), node) if keys.isdigit() else None
    if node.type == "yes_no":
        return {"1": True, "2": False}.get(keys)
    if node.type == "choice" and keys.isdigit() and 1 <= int(keys) <= len(node.choices):
        return list(node.choices)[int(keys) - 1]
    return None


def spoken(kind: str, value: Any, language: str) -> str:
    """How a slot value is read back to the caller (dates as 'Thursday, 26 November')."""
    if value is None:
        return ""
    if kind == "date":
        return say_date(datetime.fromisoformat(str(value)[:10]).date(), language)
    if kind == "time":
        return say_time(datetime.strptime(str(value)[:5], "%H:%M").time(), language)
    if kind == "digits":
        return " ".join(value)
    if kind == "yes_no":
        return {"pl": ("nie", "tak"), "en": ("no", "yes")}.get(language, ("no", "yes"))[bool(value)]
    return str(value)
