"""Text preparation for the intent classifier: what a caller's words look like to the features.

ASR output and typed test input vary in case, punctuation, diacritics ("zamowienie" / "zamówienie") and
hesitations ("yyy", "um"); none of that carries intent, so it is folded away before the features see it.
Polish inflects heavily ("paczka", "paczki", "paczkę", "paczce"): a word's first letters stand in for a
stemmer, which we do not have offline for Polish.
"""

from __future__ import annotations

import re
from itertools import pairwise

from voicebot.dialog.text import fold

# Pure hesitation sounds, per language. Meaningful short words stay: English "no" ("no thanks" ends a
# call) and "ok"; Polish "no" is mostly a filler ("no to", "no bo") or a colloquial "yes", never an intent.
_FILLERS = {
    "en": frozenset({"um", "umm", "uh", "uhm", "uhh", "erm", "er", "hmm", "hm", "mm", "mhm", "ah", "eh", "well"}),
    "pl": frozenset({"yyy", "yy", "y", "eee", "ee", "eh", "hmm", "hm", "mmm", "mm", "mhm", "no"}),
}
# Language unknown: only sounds that are hesitations in every language we serve.
_ANY_FILLERS = (_FILLERS["en"] | _FILLERS["pl"]) - {"no", "well"}
# Openers that carry no request ("dzień dobry, dzwonię w sprawie zamówienia" is about the order): dropped
# when a request of two or more words follows, so a greeting does not outvote it. Folded, per language.
_OPENERS = {
    "en": ("good morning", "good afternoon", "good evening", "hello there", "hi there", "hey there", "hello", "hi",
           "hey", "hiya"),
    "pl": ("dzien dobry", "dobry wieczor", "witam serdecznie", "witam", "halo", "czesc", "hej"),
}
STEM_LENGTH = 5  # long enough to tell "zamow(ienie)" from "zamkn(iete)", short enough to merge endings


def normalize(text: str, language: str | None = None) -> str:
    """Lower-case, fold diacritics, digits -> one token, drop punctuation, fillers and a leading greeting."""
    text = re.sub(r"\d+", " 0 ", fold(text))  # order numbers differ per caller; "a number was said" matters
    words = re.findall(r"[\w']+", text)
    fillers = _FILLERS.get(language or "", _ANY_FILLERS)
    kept = [w for w in words if w not in fillers] or words
    openers = _OPENERS.get(language or "", _OPENERS["en"] + _OPENERS["pl"])
    stripped = True
    while stripped:
        stripped = False
        for opener in openers:
            n = opener.count(" ") + 1
            if " ".join(kept[:n]) == opener and len(kept) - n >= 2:
                kept, stripped = kept[n:], True
                break
    return " ".join(kept)


def stems(text: str) -> list[str]:
    """Word prefixes and prefix bigrams of normalized text: inflection-tolerant word features."""
    words = [w[:STEM_LENGTH] for w in text.split()]
    return words + [f"{a}_{b}" for a, b in pairwise(words)]
