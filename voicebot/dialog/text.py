"""Text folding, the one place for it: case- and diacritics-insensitive forms of what callers say.

ASR output and typed text arrive with or without Polish diacritics ("przecież" / "przeciez"), so the NLU,
slots, numbers and dates (`fold`) and the lexicons (`match_form`, `words`) fold text before comparing it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# "ł" has no Unicode decomposition, so NFKD alone would keep it.
_LETTER_FOLDS = str.maketrans({"ł": "l", "Ł": "l"})
_MATCH_FOLDS = str.maketrans({"ł": "l", "Ł": "l", "’": "", "'": "", "ß": "ss"})
_CLAUSE_MARKS = r"[,.;:!?…—–]+"
_CLAUSE_SPLIT = re.compile(_CLAUSE_MARKS)
# A clause for `without_clauses` also ends at "but"/"ale": "a technician comes on Friday, but can we move it".
_CLAUSE_OR_BUT_SPLIT = re.compile(_CLAUSE_MARKS + r"|\b(?:but|ale)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without diacritics (ł -> l too): "Pięć" -> "piec". Apostrophes stay ("o'clock")."""
    return _without_marks(text.translate(_LETTER_FOLDS).lower())


def match_form(text: str) -> str:
    """`fold` with apostrophes dropped (and ß -> ss), the form lexicon terms and the caller's words are compared
    in: "Przecież MÓWIĘ" -> "przeciez mowie", "don't" -> "dont"."""
    return _without_marks(text.translate(_MATCH_FOLDS).lower())


def _without_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Words:
    """The folded words of one utterance, with the clause (comma-separated part) each belongs to."""

    tokens: tuple[str, ...]
    clauses: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.tokens)


def words(text: str) -> Words:
    tokens: list[str] = []
    clauses: list[int] = []
    for i, clause in enumerate(_CLAUSE_SPLIT.split(match_form(text))):
        for w in _WORD.findall(clause):
            tokens.append(w)
            clauses.append(i)
    return Words(tuple(tokens), tuple(clauses))


# A clause that only says when or for what ("for Friday", "na piątek") right after a dropped clause goes with it:
# whisper on a phone line ends a sentence inside "a technician booked. For Friday" (phone_blind32 en-r3's visit was
# to be moved to the Friday it was booked for).
_CONTINUING = frozenset({"for", "on", "at", "na", "w", "we"})
CONTINUATION_WORDS = 3


def without_clauses(text: str, stems: Iterable[str]) -> str:
    """`text` without its clauses (comma- or sentence-separated parts, or split at "but"/"ale") that hold a word
    of `stems` (words as an admin writes them, folded here like the text: "miał*" matches "mial", "miała"; `*` for
    any ending), nor a short "for Friday" right after such a clause."""
    stems = tuple(match_form(s) for s in stems)
    kept = []
    dropped = False
    for clause in _CLAUSE_OR_BUT_SPLIT.split(text):
        found = _WORD.findall(match_form(clause))
        continues = dropped and bool(found) and found[0] in _CONTINUING and len(found) <= CONTINUATION_WORDS
        dropped = continues or any(stem_matches(w, s) for w in found for s in stems)
        if not dropped:
            kept.append(clause.strip())
    return ", ".join(c for c in kept if c)


def stem_matches(word: str, term: str) -> bool:
    """Whether folded `word` is `term`, or starts with it when `term` ends in `*` ("bank*" -> "banku")."""
    return word.startswith(term[:-1]) if term.endswith("*") else word == term


def content_stems(text: str, length: int = 5, min_word: int = 3) -> frozenset[str]:
    """Crude inflection-proof content words: words of >= `min_word` letters cut to `length` letters.

    Polish inflects the ending ("zamówienie", "zamówienia", "zamówieniem"), so comparing prefixes
    is enough to recognise the caller saying the same thing again; short words are mostly function words.
    """
    return frozenset(w[:length] for w in words(text).tokens if len(w) >= min_word)
