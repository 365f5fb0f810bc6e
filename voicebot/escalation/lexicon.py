"""Frustration lexicons: admin-editable YAML files (dialogs/lexicons/{lang}.yaml), validated on load.

File layout::

    language: pl
    negations: [nie, bez]          # cancel a `negatable` category in the same clause ("nie chcę konsultanta")
    hedges: [troche, lekko]        # soften a match 1-2 words later: "trochę to denerwujące" counts half
    categories:
      swearing:                    # category name = signal name in the escalation decision
        weight: 0.7                # frustration contribution of one hit (0..1)
        phrases: [kurw*, "do diabla"]
      sarcasm:
        weight: 0.4
        max_gap: 1                 # words allowed between the words of a phrase (default 2)
        phrases: ["great just great"]
        pairs: {first: [super, great], then: [znowu, again], within: 4}
      safety_hazard:
        weight: 0.7
        transfers: true            # hands over at once, with the category's name as the transfer reason
        phrases: [dym*, iskrz*]
      churn_threat:
        weight: 0.7
        names_reason: true         # a caller handed over the same turn (frustration, a complaint) goes with this name
        phrases: [do konkurencji]
      explicit_request:
        not_after: [rozmawial*, "are you a"]  # a match right after these is a report or a question, not a request
      safety_hazard:
        not_before: [detector*, alarm*]  # a match right before these names a thing ("smoke detector"), not a danger

Phrase syntax (matched diacritics- and case-insensitively): words in order, a word ending in `*` is a
stem that matches any ending (`konsultant*` -> konsultanta, konsultantem), a phrase starting with `=`
must be the whole utterance (`= agent`). `pairs` fire when a `first` word is followed, within `within`
words, by a `then` word: a positive word in a negative context is the usual shape of sarcasm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voicebot.dialog.text import Words, match_form, words

# Category with special meaning for the policy: the caller asks for a person.
EXPLICIT_REQUEST = "explicit_request"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TERM = re.compile(r"^[a-z0-9]+\*?$")
_MIN_STEM = 3  # shorter stems match half the dictionary ("ku*")
HEDGE_FACTOR = 0.5  # "a bit annoying" is half as strong as "annoying"
HEDGE_WINDOW = 2  # words before a match a hedge may stand ("trochę to denerwujące")
NOT_AFTER_WINDOW = 4  # words before a match a `not_after` phrase lies in ("rozmawiał wczoraj z waszym konsultantem")
NOT_BEFORE_WINDOW = 2  # words after a match a `not_before` phrase starts in ("smoke and carbon detector")


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file, the place and what is expected."""


@dataclass(frozen=True)
class Term:
    text: str
    stem: bool

    def matches(self, word: str) -> bool:
        return word.startswith(self.text) if self.stem else word == self.text


@dataclass(frozen=True)
class Phrase:
    source: str  # as written by the admin, for explanations
    terms: tuple[Term, ...]
    whole: bool = False

    def find(self, w: Words, max_gap: int) -> tuple[int, int] | None:
        """(first, last + 1) word indexes of the first match in `w`, or None."""
        return next(self.spans(w, max_gap), None)

    def spans(self, w: Words, max_gap: int) -> Iterator[tuple[int, int]]:
        """(first, last + 1) word indexes of each match in `w`, left to right."""
        if self.whole:
            if len(w) == len(self.terms) and all(t.matches(x) for t, x in zip(self.terms, w.tokens, strict=True)):
                yield 0, len(w)
            return
        for start, word in enumerate(w.tokens):
            if self.terms[0].matches(word) and (end := self._rest(w.tokens, start + 1, 1, max_gap)) is not None:
                yield start, end

    def _rest(self, tokens: tuple[str, ...], pos: int, k: int, max_gap: int) -> int | None:
        if k == len(self.terms):
            return pos
        for i in range(pos, min(len(tokens), pos + max_gap + 1)):
            if self.terms[k].matches(tokens[i]) and (end := self._rest(tokens, i + 1, k + 1, max_gap)) is not None:
                return end
        return None


@dataclass(frozen=True)
class Pairs:
    first: tuple[Term, ...]
    then: tuple[Term, ...]
    within: int

    def find(self, w: Words) -> tuple[int, int] | None:
        """(first, last + 1) word indexes of the first pair in `w`, or None."""
        for i, a in enumerate(w.tokens):
            if not any(t.matches(a) for t in self.first):
                continue
            for j in range(i + 1, min(len(w), i + 1 + self.within)):
                if any(t.matches(w.tokens[j]) for t in self.then):
                    return i, j + 1
        return None


@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    phrases: tuple[Phrase, ...]
    max_gap: int = 2
    negatable: bool = False
    pairs: Pairs | None = None
    transfers: bool = False  # a hit hands the caller over at once, reason = the category's name
    # A hit does not hand over alone (its weight does, as frustration), but a caller handed over in that turn goes
    # with the category's name as the reason: a retention line ([escalation] skills) keeps one leaving.
    names_reason: bool = False
    # Phrases that, ending up to NOT_AFTER_WINDOW words before a match in the same clause, make it a report
    # ("rozmawiał z konsultantem") or a question about the bot ("are you a real person"): counted as negated.
    not_after: tuple[Phrase, ...] = ()
    # Phrases starting up to NOT_BEFORE_WINDOW words after a match, in the same clause, make it the name of a
    # thing ("smoke detector", "fire alarm"): not counted.
    not_before: tuple[Phrase, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One category that fired in one utterance, and the phrases that made it fire."""

    category: str
    weight: float
    matched: tuple[str, ...]
    negated: bool = False  # only negated matches ("nie chcę konsultanta"): the caller said the opposite
    transfers: bool = False  # the category hands over at once (a safety hazard, a bereavement, a legal threat)
    names_reason: bool = False  # a transfer in this turn goes with the category's name (a churn threat)


@dataclass(frozen=True)
class Lexicon:
    language: str
    categories: tuple[Category, ...]
    negations: frozenset[str] = frozenset()
    hedges: frozenset[str] = frozenset()

    def hits(self, text: str) -> list[Hit]:
        w = words(text)
        out: list[Hit] = []
        for cat in self.categories:
            matched: list[str] = []
            negated: list[str] = []
            hedged = 0  # matches softened by a hedge word ("a bit annoying")
            taken: list[tuple[int, int]] = []
            # Longest phrases first; a phrase inside one already matched ("i told you" within "i already
            # told you") is the same complaint, not a second one.
            for phrase in sorted(cat.phrases, key=lambda p: -len(p.terms)):
                # The first match that is not negated, reported or a thing's name counts: "the smoke detector
                # went off and there is smoke in the kitchen" is a hazard at its second "smoke".
                spans = list(phrase.spans(w, cat.max_gap))
                span = next((s for s in spans if not self._excluded(w, s, cat)), None)
                if span is None:
                    if spans:
                        negated.append(phrase.source)
                    continue
                if any(span[0] < b and a < span[1] for a, b in taken):
                    continue
                taken.append(span)
                matched.append(phrase.source)
                hedged += self._hedged(w, span[0])
            pair = cat.pairs.find(w) if cat.pairs else None
            if pair and not any(pair[0] < b and a < pair[1] for a, b in taken):
                matched.append(f"{w.tokens[pair[0]]} … {w.tokens[pair[1] - 1]}")
            if matched:
                # Every match hedged: the caller is mildly put out, not angry.
                weight = cat.weight * (HEDGE_FACTOR if hedged == len(matched) else 1.0)
                out.append(Hit(cat.name, weight, tuple(matched), transfers=cat.transfers,
                               names_reason=cat.names_reason))
            elif negated:
                out.append(Hit(cat.name, cat.weight, tuple(negated), negated=True, transfers=cat.transfers))
        return out

    def _excluded(self, w: Words, span: tuple[int, int], cat: Category) -> bool:
        return ((cat.negatable and self._negated(w, span[0])) or _after(w, span[0], cat.not_after)
                or _before(w, span[1], cat.not_before))

    def _hedged(self, w: Words, start: int) -> bool:
        """A hedge word ("trochę", "a bit") up to HEDGE_WINDOW words before the match, in the same clause."""
        clause = w.clauses[start]
        return any(w.clauses[i] == clause and w.tokens[i] in self.hedges
                   for i in range(max(0, start - HEDGE_WINDOW), start))

    def _negated(self, w: Words, start: int) -> bool:
        """A negation word up to 3 words before the match, in the same clause ("nie, chcę…" is not negated)."""
        clause = w.clauses[start]
        for i in range(max(0, start - 3), start):
            if w.clauses[i] == clause and w.tokens[i] in self.negations:
                return True
        return False


def _after(w: Words, start: int, phrases: tuple[Phrase, ...]) -> bool:
    """One of `phrases` lies within NOT_AFTER_WINDOW words before `start`, in the same clause."""
    if not phrases:
        return False
    lo = start
    while lo > 0 and start - lo < NOT_AFTER_WINDOW and w.clauses[lo - 1] == w.clauses[start]:
        lo -= 1
    window = Words(w.tokens[lo:start], w.clauses[lo:start])
    return any(p.find(window, 0) is not None for p in phrases)


def _before(w: Words, end: int, phrases: tuple[Phrase, ...]) -> bool:
    """One of `phrases` starts within NOT_BEFORE_WINDOW words after `end`, in the clause of the match."""
    if not phrases or end == 0:
        return False
    clause = w.clauses[end - 1]
    hi = end
    while hi < len(w) and hi - end < NOT_BEFORE_WINDOW + 2 and w.clauses[hi] == clause:
        hi += 1
    window = Words(w.tokens[end:hi], w.clauses[end:hi])
    return any(s[0] < NOT_BEFORE_WINDOW for p in phrases for s in p.spans(window, 0))


# -- loading and validation -------------------------------------------------------------------------------
def load_lexicon(path: Path) -> Lexicon:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML: {exc}") from exc
    return parse_lexicon(data, str(path))


def load_lexicons(directory: Path) -> dict[str, Lexicon]:
    """Every `{lang}.yaml` in `directory`, keyed by language. A missing directory is an error: without
    lexicons the bot would silently stop noticing swearing and requests for a person."""
    if not directory.is_dir():
        raise LexiconError(f"{directory}: lexicon directory does not exist (escalation.lexicons_dir)")
    out: dict[str, Lexicon] = {}
    for path in sorted(directory.glob("*.yaml")):
        lex = load_lexicon(path)
        if lex.language != path.stem:
            raise LexiconError(f"{path}: language is {lex.language!r} but the file name says {path.stem!r}")
        out[lex.language] = lex
    if not out:
        raise LexiconError(f"{directory}: no lexicon files (*.yaml)")
    return out


def parse_lexicon(data: Any, source: str) -> Lexicon:
    if not isinstance(data, dict):
        raise LexiconError(f"{source}: expected a mapping with 'language' and 'categories'")
    unknown = set(data) - {"language", "negations", "hedges", "categories"}
    if unknown:
        raise LexiconError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: language, negations, hedges, "
                           "categories")
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        raise LexiconError(f"{source}: 'language' must be a two-letter code like pl, got {language!r}")
    negations = _word_list(data, "negations", source)
    hedges = _word_list(data, "hedges", source)
    cats = data.get("categories")
    if not isinstance(cats, dict) or not cats:
        raise LexiconError(f"{source}: 'categories' must be a non-empty mapping of name -> category")
    categories = tuple(_category(name, spec, f"{source}: categories.{name}") for name, spec in cats.items())
    return Lexicon(language, categories, frozenset(match_form(n) for n in negations),
                   frozenset(match_form(h) for h in hedges))


def _word_list(data: dict, key: str, source: str) -> list[str]:
    values = data.get(key, [])
    if not isinstance(values, list):
        raise LexiconError(f"{source}: '{key}' must be a list of words")
    for i, n in enumerate(values):
        if not isinstance(n, str):  # bare `no`/`yes` in YAML are booleans
            raise LexiconError(f"{source}: {key}[{i}] must be a word, got {n!r} (quote it)")
    return values


def _category(name: Any, spec: Any, where: str) -> Category:
    if not isinstance(name, str) or not _NAME.match(name):
        raise LexiconError(f"{where}: category names are lower_case_words")
    if not isinstance(spec, dict):
        raise LexiconError(f"{where}: expected a mapping with weight and phrases")
    unknown = set(spec) - {"weight", "phrases", "max_gap", "negatable", "pairs", "transfers", "names_reason",
                           "not_after", "not_before"}
    if unknown:
        raise LexiconError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: weight, phrases, max_gap, "
                           "negatable, pairs, transfers, names_reason, not_after, not_before")
    weight = spec.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise LexiconError(f"{where}.weight: must be a number between 0 and 1, got {weight!r}")
    max_gap = spec.get("max_gap", 2)
    if isinstance(max_gap, bool) or not isinstance(max_gap, int) or not 0 <= max_gap <= 5:
        raise LexiconError(f"{where}.max_gap: must be an integer 0..5, got {max_gap!r}")
    raw_phrases = spec.get("phrases", [])
    if not isinstance(raw_phrases, list):
        raise LexiconError(f"{where}.phrases: must be a list of phrases")
    phrases = tuple(_phrase(p, f"{where}.phrases[{i}]") for i, p in enumerate(raw_phrases))
    pairs = _pairs(spec["pairs"], f"{where}.pairs") if "pairs" in spec else None
    if not phrases and pairs is None:
        raise LexiconError(f"{where}: needs at least one phrase or pairs")
    transfers, names_reason = (_flag(spec, key, where) for key in ("transfers", "names_reason"))
    if transfers and names_reason:
        raise LexiconError(f"{where}: transfers and names_reason exclude each other (a category that transfers "
                           "already names the reason)")
    not_after, not_before = (_phrase_list(spec, key, where) for key in ("not_after", "not_before"))
    return Category(name, float(weight), phrases, max_gap, bool(spec.get("negatable", False)), pairs, transfers,
                    names_reason, not_after, not_before)


def _flag(spec: dict, key: str, where: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise LexiconError(f"{where}.{key}: must be true or false, got {value!r}")
    return value


def _phrase_list(spec: dict, key: str, where: str) -> tuple[Phrase, ...]:
    raw = spec.get(key, [])
    if not isinstance(raw, list):
        raise LexiconError(f"{where}.{key}: must be a list of phrases")
    return tuple(_phrase(p, f"{where}.{key}[{i}]") for i, p in enumerate(raw))


def _phrase(raw: Any, where: str) -> Phrase:
    if not isinstance(raw, str) or not raw.strip():
        raise LexiconError(f"{where}: must be a non-empty string, got {raw!r}")
    text = raw.strip()
    whole = text.startswith("=")
    terms = tuple(_term(t, where) for t in match_form(text.removeprefix("=")).split())
    if not terms:
        raise LexiconError(f"{where}: {raw!r} has no words")
    return Phrase(raw, terms, whole)


def _term(raw: str, where: str) -> Term:
    if not _TERM.match(raw):
        raise LexiconError(f"{where}: {raw!r} is not a word (letters/digits, optional * at the end)")
    if raw.endswith("*") and len(raw) - 1 < _MIN_STEM:
        raise LexiconError(f"{where}: stem {raw!r} is too short (at least {_MIN_STEM} letters before *)")
    return Term(raw.rstrip("*"), raw.endswith("*"))


def _pairs(spec: Any, where: str) -> Pairs:
    if not isinstance(spec, dict) or set(spec) - {"first", "then", "within"}:
        raise LexiconError(f"{where}: expected a mapping with first, then (word lists) and optional within")
    lists = {}
    for key in ("first", "then"):
        value = spec.get(key)
        if not isinstance(value, list) or not value:
            raise LexiconError(f"{where}.{key}: must be a non-empty list of words")
        for i, x in enumerate(value):
            if not isinstance(x, str):
                raise LexiconError(f"{where}.{key}[{i}]: must be a word, got {x!r} (quote it)")
        lists[key] = tuple(_term(match_form(x.strip()), f"{where}.{key}") for x in value)
    within = spec.get("within", 4)
    if isinstance(within, bool) or not isinstance(within, int) or not 1 <= within <= 10:
        raise LexiconError(f"{where}.within: must be an integer 1..10, got {within!r}")
    return Pairs(lists["first"], lists["then"], within)
