"""The shipped lexicon files load, match Polish robustly, and a broken file gives a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.escalation.lexicon import LexiconError, load_lexicons
from voicebot.escalation.policy import lexicons_for

LEXICONS = PROJECT_ROOT / "dialogs" / "lexicons"


def categories(text: str, lang: str = "pl") -> set[str]:
    return {h.category for h in load_lexicons(LEXICONS)[lang].hits(text)}


def test_shipped_lexicons_cover_both_languages() -> None:
    lex = load_lexicons(LEXICONS)
    assert set(lex) >= {"pl", "en"}
    for language in ("pl", "en"):
        names = {c.name for c in lex[language].categories}
        assert names >= {"explicit_request", "swearing", "frustration", "sarcasm"}


@pytest.mark.parametrize("text", [
    "Nie rozumiesz mnie!", "nie rozumiesz", "NIE ROZUMIESZ", "Przecież mówię!", "przeciez mowie",
    "przecież mówiłem już", "Przecież mówiłam", "Ile razy mam to powtarzać?",
])
def test_polish_frustration_matches_case_diacritics_and_inflection(text: str) -> None:
    assert "frustration" in categories(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("chcę konsultanta", "explicit_request"),
    ("z konsultantką proszę", "explicit_request"),
    ("proszę połączyć z konsultantem", "explicit_request"),
    ("człowiek", "explicit_request"),  # the whole utterance
    ("wkurwia mnie to", "swearing"),
    ("SKURWYSYN", "swearing"),
])
def test_polish_stems(text: str, expected: str) -> None:
    assert expected in categories(text)


def test_whole_utterance_phrase_does_not_match_inside_a_sentence() -> None:
    assert "explicit_request" not in categories("jestem starszym człowiekiem i nie umiem obsługiwać aplikacji")


@pytest.mark.parametrize("text", ["I already told you", "This is ridiculous", "you're not listening"])
def test_english_frustration(text: str) -> None:
    assert "frustration" in categories(text, "en")


def test_nested_phrases_count_once_distinct_phrases_add(tmp_path: Path) -> None:
    [hit] = [h for h in load_lexicons(LEXICONS)["en"].hits("I already told you") if h.category == "frustration"]
    assert hit.matched == ("i already told you",)
    [hit] = [h for h in load_lexicons(LEXICONS)["en"].hits("I already told you, ridiculous") if h.category ==
             "frustration"]
    assert set(hit.matched) == {"i already told you", "ridiculous"}


def write(tmp_path: Path, text: str, name: str = "pl.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("content", "message"), [
    ("language: pl\ncategories: {swearing: {weight: 2, phrases: [kurw*]}}", r"categories\.swearing\.weight"),
    ("language: pl\ncategories: {swearing: {weight: 0.5, phrases: [k*]}}", "stem 'k\\*' is too short"),
    ("language: pl\ncategories: {swearing: {weight: 0.5, phrases: ['ku*rwa']}}", "is not a word"),
    ("language: pl\ncategories: {swearing: {weight: 0.5, phrases: [kurw*], colour: red}}", "unknown key"),
    ("language: pl\nnegations: [no]\ncategories: {swearing: {weight: 0.5, phrases: [kurw*]}}", "quote it"),
    ("language: en\ncategories: {swearing: {weight: 0.5, phrases: [kurw*]}}", "file name says 'pl'"),
    ("language: pl\ncategories: {swearing: {weight: 0.5}}", "at least one phrase"),
    ("language: pl\ncategories: [oops", "not valid YAML"),
])
def test_broken_lexicon_names_file_and_place(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message) as err:
        load_lexicons(write(tmp_path, content))
    assert "pl.yaml" in str(err.value)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="does not exist"):
        load_lexicons(tmp_path / "nowhere")


def test_edited_lexicon_is_picked_up_without_restart(tmp_path: Path) -> None:
    write(tmp_path, "language: pl\ncategories: {swearing: {weight: 0.7, phrases: [kurw*]}}")
    assert not lexicons_for(tmp_path)["pl"].hits("motyla noga")
    write(tmp_path, "language: pl\ncategories: {swearing: {weight: 0.7, phrases: [kurw*, motyl* noga]}}\n# edited")
    assert [h.category for h in lexicons_for(tmp_path)["pl"].hits("motyla noga")] == ["swearing"]
