"""Text normalisation for matching what callers say: case- and diacritics-insensitive words.

ASR output and typed text arrive with or without Polish diacritics ("przecież" / "przeciez"), so both
the lexicons and the caller's words are folded the same way before they are compared.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# "ł" has no Unicode decomposition, so NFKD alone would keep it.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "Ł": "l", "’": "", "'": "", "ß": "ss"})
_CLAUSE_SPLIT = re.compile(r"[,.;:!?…—–]+")
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, apostrophes dropped, diacritics removed: "Przecież MÓWIĘ" -> "przeciez mowie"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLDS).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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
    for i, clause in enumerate(_CLAUSE_SPLIT.split(fold(text))):
        for w in _WORD.findall(clause):
            tokens.append(w)
            clauses.append(i)
    return Words(tuple(tokens), tuple(clauses))


def stems(text: str, length: int = 5, min_word: int = 3) -> frozenset[str]:
    """Crude inflection-proof content words: words of >= `min_word` letters cut to `length` letters.

    Polish inflects the ending ("zamówienie", "zamówienia", "zamówieniem"), so comparing prefixes
    is enough to recognise the caller saying the same thing again; short words are mostly function words.
    """
    return frozenset(w[:length] for w in words(text).tokens if len(w) >= min_word)
