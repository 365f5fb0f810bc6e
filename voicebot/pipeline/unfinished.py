"""Does a caller turn's transcript sound unfinished (or whole)? Then the caller paused mid-sentence (or at its end).

smart-turn judges only the audio; at a 300-400 ms pause after a comma it often says "complete". Whisper's text
is usually ready by then (speculative ASR), and its punctuation and last word are a strong second opinion:
"Hello," or "No thanks, and" are not whole requests. Nor is a bare "Hello" / "No thanks": callers pause
after them far more often than they stop there.
"""

from __future__ import annotations

import re

from voicebot.config import TurnSettings

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # letters only: "dzień", "że"; punctuation and digits split words


def sounds_unfinished(text: str, turn: TurnSettings) -> bool:
    text = text.strip()
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return False  # nothing said: nothing to wait for
    # After a question mark whisper heard a question's end: questions may end on "with" / "for" / "do".
    if not text.endswith("?") and (text.endswith((",", "-", "…", "...")) or words[-1] in turn.unfinished_words):
        return True
    return all(w in turn.opener_words for w in words)


def sounds_finished(text: str, turn: TurnSettings) -> bool:
    """A whole sentence: whisper closed it with . ? ! and nothing in it sounds unfinished."""
    text = text.strip()
    return text.endswith((".", "?", "!")) and not text.endswith("...") and not sounds_unfinished(text, turn)


def no_words(text: str, turn: TurnSettings) -> bool:
    """Only sounds: whisper's rendering of a breath, a hum or line noise ("Ah...", "Hmm.") is not a request.

    Digits are words: whisper writes a spoken number as "4-8-12", the answer to an order-number question."""
    if any(c.isdigit() for c in text):
        return False
    return all(w.lower() in turn.sound_words for w in _WORD.findall(text))
