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
    "czy pani w ogóle słucha?!", "No ja nie mogę!",  # escalation_blind16 pl-p15
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


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "i'm muddled, could someone real sort this out for me"),
    ("pl", "czy może mi pomóc ktoś prawdziwy"),
])
def test_asking_for_somebody_real_is_asking_for_a_person(lang: str, text: str) -> None:
    """A confused caller's "can somebody real help me" was answered with the help menu (blind12 en-p13)."""
    assert "explicit_request" in categories(text, lang)


def test_whole_utterance_phrase_does_not_match_inside_a_sentence() -> None:
    assert "explicit_request" not in categories("jestem starszym człowiekiem i nie umiem obsługiwać aplikacji")


@pytest.mark.parametrize("text", ["I already told you", "This is ridiculous", "you're not listening",
                                  "are you even listening?",
                                  # giving up, a fourth call (escalation_blind22 en-p17, en-p18)
                                  "this is going nowhere", "ugh, forget it", "this is the fourth time I'm calling"])
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


@pytest.mark.parametrize(("lang", "text", "category"), [
    ("en", "the heater started sparking and smoking", "safety_hazard"),
    ("pl", "grzejnik iskrzy i dymi", "safety_hazard"),
    # A fire feared, not yet burning (phone_blind18 en-e3).
    ("en", "I've unplugged it, but I'm scared it's going to catch fire", "safety_hazard"),
    ("pl", "wyłączyłem go z gniazdka, ale boję się, że się zapali", "safety_hazard"),
    ("en", "my father passed away last month", "bereavement"),
    ("pl", "mama zmarła w zeszłym tygodniu", "bereavement"),
    ("en", "my lawyer will be in touch", "legal_threat"),
    # The plural "s" lost on an 8 kHz line (phone_blind20 en-e5).
    ("en", "if it's not back by Friday I'm taken to the small claim court", "legal_threat"),
    # Somebody else hurt, said in the third person (escalation_blind15 pl-p09).
    ("pl", "mąż dostał prądem od tostera, boli go w klatce piersiowej", "health_emergency"),
    ("pl", "mąż dostał prądem od tostera", "safety_hazard"),
    ("en", "my husband got a shock from the toaster and has chest pains", "health_emergency"),
    ("en", "the smoke alarm went off and there is smoke coming from the kettle", "safety_hazard"),
    # escalation_blind16 pl-p05: a shock said with the victim first, and somebody not responding.
    ("pl", "tatę kopnął prąd od tostera i nie reaguje", "safety_hazard"),
    ("pl", "mama leży i nie oddycha", "health_emergency"),
    ("en", "my dad touched the toaster and passed out", "health_emergency"),
    ("en", "He's not really responding, what do I do?", "health_emergency"),  # phone_blind19 en-e3
    ("en", "sorry, my husband just collapsed, he's not answering me", "health_emergency"),  # escalation_blind22
    # a detail on the account changed by someone else (escalation_blind22 en-p04)
    ("en", "I got a text that the phone number on my account was changed, and it wasn't me", "account_security"),
    # phone_blind12 pl-e2 over the line: whisper's case ending ("przytomności"), and heavy breathing said alone.
    ("pl", "mój tata stracił przytomności, co mam robić", "health_emergency"),
    ("pl", "mama bardzo ciężko oddycha", "health_emergency"),
    # Something swallowed (escalation_blind28 pl-p11 missed it; own wording here).
    ("pl", "córka połknęła magnes z tej zabawki i teraz wymiotuje", "health_emergency"),
    ("en", "my little boy swallowed the battery out of it and he keeps throwing up", "health_emergency"),
    # An order on the caller's account they never placed is fraud, with no word of fraud in it.
    ("en", "there are two orders on my account that i never placed", "account_security"),
    ("pl", "widzę zamówienie, którego nie składałam, a pieniądze zniknęły", "account_security"),
    # phone_blind24 / escalation_blind24: whisper's "I never place", a burn, a device too scary to touch
    ("en", "someone has been in my account. No, I order, no, I never place.", "account_security"),
    ("en", "my son just burned his hand really badly on the toaster, the skin is coming off", "health_emergency"),
    ("pl", "czajnik wybuchnął i syn jest poparzony", "health_emergency"),
    ("en", "I've switched it off at the wall but I'm honestly scared to touch it", "safety_hazard"),
    ("pl", "wyłączyłam, ale boję się go dotknąć", "safety_hazard"),
])
def test_categories_that_hand_over_at_once(lang: str, text: str, category: str) -> None:
    [hit] = [h for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == category]
    assert hit.transfers


@pytest.mark.parametrize(("lang", "plain", "hedged"), [
    ("pl", "to denerwujące", "trochę to denerwujące"),
    ("en", "it's annoying", "it's a bit annoying"),
])
def test_a_hedge_halves_a_match(lang: str, plain: str, hedged: str) -> None:
    def weight(text: str) -> float:
        return next(h.weight for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == "frustration")
    assert weight(hedged) == pytest.approx(weight(plain) / 2)


@pytest.mark.parametrize(("content", "message"), [
    ("language: pl\ncategories: {bereavement: {weight: 0.7, transfers: yes please, phrases: [zmarl*]}}",
     r"bereavement\.transfers: must be true or false"),
    ("language: pl\nhedges: troche\ncategories: {swearing: {weight: 0.5, phrases: [kurw*]}}",
     "'hedges' must be a list"),
    ("language: pl\ncategories: {churn_threat: {weight: 0.7, names_reason: 1, phrases: [do konkurencji]}}",
     r"churn_threat\.names_reason: must be true or false"),
    ("language: en\ncategories: {churn_threat: {weight: 0.7, transfers: true, names_reason: true, phrases: [a b]}}",
     "transfers and names_reason exclude each other"),
])
def test_broken_transfers_or_hedges_name_the_key(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        load_lexicons(write(tmp_path, content))


@pytest.mark.parametrize(("text", "lang"), [
    ("you sound lovely, are you a real person", "en"),
    ("hello is this a real person", "en"),
    ("am i speaking to a real person or a machine", "en"),
    ("my husband spoke to an agent yesterday about the sofa", "en"),
    ("czy jesteś prawdziwym człowiekiem", "pl"),
    ("żona rozmawiała w poniedziałek z konsultantką o szafie", "pl"),  # up to 4 words apart
])
def test_a_question_about_the_bot_or_a_report_of_a_call_is_no_request_for_a_person(text: str, lang: str) -> None:
    hit = next(h for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == "explicit_request")
    assert hit.negated


@pytest.mark.parametrize(("text", "lang"), [
    ("I spoke to nobody yet, put me through to an agent", "en"),
    ("chcę rozmawiać z konsultantem", "pl"),
    ("manager please", "en"),
    ("let me speak to your supervisor", "en"),
    ("poproszę z kierownikiem", "pl"),
    ("to skomplikowane, jest ktoś techniczny, z kim mogę pogadać", "pl"),
    ("it's complicated, is there someone technical i could talk to", "en"),
])
def test_a_request_next_to_those_words_still_is_one(text: str, lang: str) -> None:
    hit = next(h for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == "explicit_request")
    assert not hit.negated


@pytest.mark.parametrize(("text", "lang"), [
    ("that's it, I'm switching to a competitor", "en"),
    ("rezygnuję z was, przechodzę do konkurencji", "pl"),
    ("that's the third delay this month, i'm cancelling everything and closing my account", "en"),
    ("dość tego, zamykam konto", "pl"),
])
def test_leaving_for_a_competitor_reaches_the_transfer_threshold_alone(text: str, lang: str) -> None:
    hits = {h.category: h for h in load_lexicons(LEXICONS)[lang].hits(text)}
    assert hits["churn_threat"].weight >= 0.7


def test_not_after_must_be_a_list_of_phrases(tmp_path: Path) -> None:
    (tmp_path / "pl.yaml").write_text("language: pl\ncategories:\n  explicit_request:\n    weight: 0.3\n"
                                      "    phrases: [konsultant*]\n    not_after: jestes\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"explicit_request\.not_after"):
        load_lexicons(tmp_path)


@pytest.mark.parametrize(("text", "lang"), [
    ("czy ty mnie w ogóle słuchasz", "pl"),
    ("to jakiś cyrk, niekompetentni ludzie", "pl"),
    ("obiecaliście zwrot na wczoraj", "pl"),
    ("do you even understand what I'm saying", "en"),
    ("you promised it would be here on Monday", "en"),
])
def test_doubting_the_bot_insults_and_broken_promises_are_frustration(text: str, lang: str) -> None:
    assert "frustration" in categories(text, lang)


@pytest.mark.parametrize("text", ["co się do cholery dzieje", "cholerny automat", "cholera jasna"])
def test_mild_swearing_matches_every_form_of_cholera(text: str) -> None:
    assert "mild_swearing" in categories(text)


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "i got a lamp i didn't order"),  # a wrong delivery: a complaint, not fraud
    ("en", "i've never placed an order before, how does delivery work"),
    ("pl", "przyszła lampka, której nie zamawiałem"),
    ("pl", "nie składałem jeszcze zamówienia, jak to zrobić"),
    ("en", "my phone number has been changed, can you update it on my account"),  # a contact change
])
def test_a_wrong_delivery_or_a_first_order_is_no_fraud(lang: str, text: str) -> None:
    assert "account_security" not in [h.category for h in load_lexicons(LEXICONS)[lang].hits(text)]


@pytest.mark.parametrize(("text", "lang"), [
    ("I ordered a smoke detector, no sorry, a desk lamp, where is it", "en"),
    ("is the fire alarm covered by the warranty", "en"),
    ("zamówiłem czujnik dymu, gdzie jest paczka", "pl"),
])
def test_a_thing_named_after_a_danger_is_no_hazard(text: str, lang: str) -> None:
    assert all(h.negated for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == "safety_hazard")


@pytest.mark.parametrize(("text", "lang"), [
    ("you charged me twice, I'm furious", "en"),
    ("pobraliście mi pieniądze dwa razy, jestem wściekły", "pl"),
    ("jestem bardzo zła, nikt nie odpisuje", "pl"),
])
def test_a_caller_who_says_they_are_angry_reaches_the_transfer_threshold_alone(text: str, lang: str) -> None:
    hits = {h.category: h for h in load_lexicons(LEXICONS)[lang].hits(text) if not h.negated}
    assert hits["anger"].weight >= 0.7


@pytest.mark.parametrize(("text", "lang"), [
    ("I'm not angry, I just want to know where my parcel is", "en"),
    ("nie jestem zły, tylko nie wiem gdzie jest paczka", "pl"),
])
def test_anger_denied_is_no_anger(text: str, lang: str) -> None:
    assert all(h.negated for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == "anger")


def test_not_before_must_be_a_list_of_phrases(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text("language: en\ncategories:\n  safety_hazard:\n    weight: 0.7\n"
                                      "    phrases: [smok*]\n    not_before: detector\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"safety_hazard\.not_before"):
        load_lexicons(tmp_path)


@pytest.mark.parametrize(("text", "lang"), [
    ("this is going round in circles, you're just not listening to me", "en"),
    ("kręcimy się w kółko, przecież mówię, że chodzi o czwartek", "pl"),
])
def test_two_complaints_about_the_bot_in_one_turn_are_two_phrases(text: str, lang: str) -> None:
    # two distinct phrases of a category weigh 1.6x its weight: with the bot's re-ask, past the transfer threshold
    [hit] = [h for h in load_lexicons(LEXICONS)[lang].hits(text) if h.category == "frustration"]
    assert len(hit.matched) == 2
