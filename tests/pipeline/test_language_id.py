"""Choosing the caller's language among the flows' languages from whisper's probabilities."""

from __future__ import annotations

import pytest

from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import CallInfo
from voicebot.pipeline.call import language_detection
from voicebot.pipeline.language_id import choose, needs_reading, restricted
from voicebot.pipeline.services import CallServices


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


@pytest.mark.parametrize(("language", "share", "expected"), [
    ("en", 0.98, True),  # the most whisper gave English for robotic Polish: how the turn reads decides
    ("en", 1.0, False),  # most English callers: taken as named
    ("pl", 0.6, False),  # Polish is not over-named: the share alone switches
])
def test_a_switch_to_an_over_named_language_must_also_read_well(language, share, expected) -> None:
    assert needs_reading(language, share, Settings().languages.switch_sure_probability) is expected


def test_sure_shares_name_known_languages_above_a_coin_toss() -> None:
    with pytest.raises(ValueError, match="switch_sure_probability"):
        Settings.model_validate({"languages": {"switch_sure_probability": {"de": 0.9}}})
    with pytest.raises(ValueError, match="switch_sure_probability"):
        Settings.model_validate({"languages": {"switch_sure_probability": {"en": 0.4}}})


async def test_only_calls_whose_language_the_line_did_not_choose_are_detected(settings: Settings) -> None:
    # A Polish number ([languages] numbers, Twilio ?language=, the AudioSocket dialplan) is answered in Polish
    # whoever calls it, and whisper skips the detection; the default number lets the caller's words decide.
    engine = load_engine(settings)
    try:
        services = CallServices(settings=settings, models=None, dialog=engine, store=None)  # type: ignore[arg-type]
        detect = language_detection(services, CallInfo(call_id="default", language="en"))
        assert detect is not None and set(detect.languages) == {"en", "pl"}
        assert language_detection(services, CallInfo(call_id="numbered", language="pl", language_fixed=True)) is None
    finally:
        await engine.close()
