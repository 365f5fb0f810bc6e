"""Which of the flows' languages a caller speaks, from whisper's language probabilities.

Whisper scores ~100 languages; a call can only switch to a language we have a flow for, so the probabilities
are restricted to those and renormalised: the caller's language is the one with the largest share, and it
replaces the line's language only when its share reaches `min_share`. On robotic (espeak-ng) Polish through an
8 kHz phone line whisper-base often names another Slavic language first, while Polish still beats English;
the share between the flows' languages is what bench/language_id.py calibrates `min_share` on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def restricted(probabilities: Mapping[str, float], languages: Iterable[str]) -> dict[str, float]:
    """`probabilities` (language -> p) over `languages` only, summing to 1 (all equal if whisper gave none)."""
    langs = list(dict.fromkeys(languages))
    raw = {lang: max(0.0, probabilities.get(lang, 0.0)) for lang in langs}
    total = sum(raw.values())
    if total <= 0:
        return {lang: 1 / len(langs) for lang in langs} if langs else {}
    return {lang: p / total for lang, p in raw.items()}


def choose(shares: Mapping[str, float], current: str, min_share: float) -> str:
    """The language to go on in: another language only when its share is at least `min_share`."""
    if not shares:
        return current
    best = max(shares, key=lambda lang: shares[lang])
    return best if best != current and shares[best] >= min_share else current


def needs_reading(language: str, share: float, sure_share: Mapping[str, float]) -> bool:
    """Must a switch to `language` at this share be confirmed by how well the turn reads in it?

    Whisper base's language choice is lopsided on phone audio: English speech gets Polish at most 0.13, but robotic
    Polish at 8 kHz is often named English at shares up to 0.98, and then read as English words that nobody said
    ("Hello, my name is K.M.", ASR confidence 0.14-0.39; bench/results/language_switch.md). A language listed in
    `sure_share` is taken on the share alone only at that share; under it the reading decides (`min_confidence`).
    """
    return share < sure_share.get(language, 0.0)
