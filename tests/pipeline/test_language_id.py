"""Choosing the caller's language among the flows' languages from whisper's probabilities."""

from __future__ import annotations

import pytest

from voicebot.pipeline.language_id import choose, restricted


def test_probabilities_are_restricted_to_the_flows_languages_and_renormalised() -> None:
    # Robotic Polish: whisper's first choice is another Slavic language, but Polish beats English.
    shares = restricted({"ru": 0.5, "pl": 0.3, "en": 0.1, "cs": 0.1}, ("en", "pl"))
    assert shares == pytest.approx({"en": 0.25, "pl": 0.75})
    assert restricted({"ru": 1.0}, ("en", "pl")) == {"en": 0.5, "pl": 0.5}  # no evidence either way


@pytest.mark.parametrize(("shares", "current", "expected"), [
    ({"en": 0.25, "pl": 0.75}, "en", "pl"),  # clearly Polish: switch
    ({"en": 0.48, "pl": 0.52}, "en", "en"),  # a coin toss: stay on the line's language
    ({"en": 0.9, "pl": 0.1}, "en", "en"),
    ({"en": 0.9, "pl": 0.1}, "pl", "en"),  # an English caller on a Polish line
])
def test_another_language_needs_the_threshold_share_to_switch(shares, current, expected) -> None:
    assert choose(shares, current, 0.55) == expected
