"""Intent classification trained from a flow's example utterances when the flow loads (no cloud, < 1 s).

Three views of the normalized text (see nlu_text) are combined: character n-grams survive ASR
misspellings and unseen inflections, words and word pairs carry phrasing, word prefixes ("stems") tie
Polish inflected forms together. A linear SVM over them, calibrated with sigmoid scaling, gives a
probability-like confidence 0..1. Out-of-scope examples train an explicit rejection class, so "what's the
weather" is not forced into the nearest business intent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

from voicebot.dialog.nlu_text import (
    answer_with_remark,
    asks_how_or_whether,
    follows_up,
    greeting_only,
    mentions,
    normalize,
    praises,
    request_after_yes,
    request_clause,
    resolved,
    stems,
    thanks_only,
    untroubled,
)
from voicebot.dialog.slots import YES_NO_WORDS, bare_yes_no, yes_no

OUT_OF_SCOPE = "out_of_scope"
SHORT_ANSWER = 3  # words (after fillers) of a turn the yes/no words alone may decide: "absolutely", "no not today"
RULE_CONFIDENCE = 0.9  # of an intent the product's own word lists decided
# What a short yes or no may also be, and then stays: "ok bye" is a goodbye, "ok thanks" a thank-you.
_ANSWER_LIKE = frozenset({"affirm", "deny", "goodbye", "thanks"})
# A turn of yes/no words is a yes or a no over the model's goodbye or thank-you, though: "no thanks" and "nie
# dziękuję" decline (to "anything else?" that closes the call all the same, to "shall I send the link?" it is the
# "no" branch, not a hang-up), "yep that's it" confirms a read-back. Unless a word of its own closes the call or
# thanks ("ok that's all", "ok thanks", "tak, dziękuję"): folded words.
_CLOSING_WORDS = frozenset({"all", "everything", "nothing", "thanks", "thank", "thx", "bye", "goodbye", "cheers",
                            "wszystko", "dzieki", "dziekuje", "dziekujemy", "widzenia", "pa", "nic"})
# A turn about a thing the shop does not deal in (the flow's `out_of_scope_topics`: a bank, a SIM card, a job)
# is rejected unless an intent is this sure of it: "the phone number of my bank" shares its words with
# change_contact, but the object decides. At 0.9 a foreign object with our verbs still got through ("the opening
# hours of the zoo" 0.91, "my address on my driving licence" 0.92); no in-scope turn of the spent nlu_blind3..10
# sets that names a topic scores above 0.6.
FOREIGN_TOPIC_OVERRIDE = 0.95
# A question of whether/how ("can I pay by card?") is not a trouble report; the best other intent is taken when
# it has at least this score (the trouble intent outvoted it on shared words), else the turn is unclear.
ASKED_ALTERNATIVE_MIN = 0.15
# A request clause at the end of a story ("..., i want my cash back") takes a turn away from a trouble report to a
# routine intent only when this sure: an angry story ends in requests too ("skandal, chcę pieniądze z powrotem"),
# and a handover missed costs the caller more than one the colleague finds routine.
LEAVE_TROUBLE_MIN = 0.75
# A short follow-up right after an information answer ("and bank transfer?" after the payment methods) is the same
# question unless another intent is this sure: "and where is my order" (0.9) is a new request.
FOLLOW_UP_SURE = 0.75
# A turn this short with no word of trouble ("the kettle", "my lamp", "czajnik") names a product and says nothing about
# it: not a fault report, whatever the model makes of the product's name (it was handed to technical support).
MENTION_MAX_WORDS = 2
# A one-word turn taken for a request for a person only when the model is this sure: whisper's "Operate." for a
# served caller's "Oh great." scored 0.53 from its letters and handed them over (phone_blind18 en-r1), "Opera." 0.56;
# the words themselves ("agent", "operator", "human", "konsultant", "człowiek") score 0.6-0.9 and are the
# explicit-request lexicon's, which transfers whatever the intent.
ONE_WORD_PERSON_MIN = 0.7

__all__ = ["OUT_OF_SCOPE", "IntentClassifier", "Understanding", "normalize"]


@dataclass(frozen=True)
class Understanding:
    intent: str | None  # None = out of scope or not confident enough
    confidence: float  # calibrated probability of the best in-scope intent
    best: str  # best in-scope intent even when rejected (for logs and the handoff)
    out_of_scope: bool = False  # rejected because it looks like a request we do not handle (not just unsure)


class IntentClassifier:
    def __init__(self, examples: dict[str, list[str]], out_of_scope: list[str], threshold: float = 0.5,
                 language: str | None = None, topics: tuple[str, ...] = (),
                 min_confidence: dict[str, float] | None = None, trouble: frozenset[str] = frozenset(),
                 untroubled_only: frozenset[str] = frozenset(), informational: frozenset[str] = frozenset()) -> None:
        self.language = language
        self.informational = informational  # intents answered from the FAQ: a follow-up may ask the same again
        self.untroubled_only = untroubled_only  # intents of a turn with no word of trouble (IntentDef.untroubled)
        self.trouble = trouble  # intents that report trouble and hand over at once (IntentDef.reports_trouble)
        self.min_confidence = min_confidence or {}  # per intent, above the flow's threshold (IntentDef)
        self.topics = topics
        texts: list[str] = []
        labels: list[str] = []
        for intent, utterances in examples.items():
            texts += [normalize(u, language) for u in utterances]
            labels += [intent] * len(utterances)
        if len(out_of_scope) >= 3:
            texts += [normalize(u, language) for u in out_of_scope]
            labels += [OUT_OF_SCOPE] * len(out_of_scope)
        self.threshold = threshold
        features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("stems", TfidfVectorizer(analyzer=stems, sublinear_tf=True)),
        ])
        folds = min(3, min(labels.count(lab) for lab in set(labels)))
        # ensemble=False: one SVM on all data, calibrated on cross-validated scores (5x cheaper to train).
        model = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), cv=folds, method="sigmoid",
                                       ensemble=False)
        self.pipeline = make_pipeline(features, model)
        self.pipeline.fit(texts, labels)
        self.classes: list[str] = [str(c) for c in self.pipeline.classes_]

    def _by_rule(self, text: str) -> str | None:
        """greeting / thanks / affirm / deny for a turn that is only a greeting, a thank-you or a short yes or no."""
        words = normalize(text, self.language).split()
        if greeting_only(words, self.language):
            return "greeting"
        if thanks_only(words, self.language):
            return "thanks"
        if len(words) <= SHORT_ANSWER and (answer := bare_yes_no(text, self.language or "en")) is not None:
            return "affirm" if answer else "deny"
        # "uh huh, that's the one I meant", "to nie jest mój numer": a yes or no with a remark on what was read
        # back; the remark's words ("number", "adres") must not make it a request to change that thing.
        if answer_with_remark(words, YES_NO_WORDS, self.language) and (
                answer := yes_no(text, self.language or "en")) is not None:
            return "affirm" if answer else "deny"
        return None

    @staticmethod
    def _answer_over_closing(ruled: str, best: str, normalized: str) -> bool:
        """The yes/no words decide over the model's goodbye or thank-you (see _CLOSING_WORDS)."""
        if best not in ("goodbye", "thanks") or ruled not in ("affirm", "deny"):
            return False
        return ruled == "deny" or not _CLOSING_WORDS & set(normalized.split())

    def scores(self, text: str) -> dict[str, float]:
        probs = self.pipeline.predict_proba([normalize(text, self.language)])[0]
        return {str(c): float(p) for c, p in zip(self.classes, probs, strict=True)}

    def classify(self, text: str, after: str | None = None) -> Understanding:
        """`after`: the intent the bot just answered; a short follow-up on an information answer asks it again."""
        understood = self._classify_turn(text)
        if after in self.informational and understood.intent != after and not understood.out_of_scope \
                and (understood.intent is None or understood.confidence < FOLLOW_UP_SURE) \
                and follows_up(normalize(text, self.language), self.language):
            # "and bank transfer?" shares words with a failed bank transfer; after the payment methods it asks
            # about one more of them.
            return Understanding(after, understood.confidence, after)
        if understood.intent == "affirm" and (
                clause := request_after_yes(normalize(text, self.language), self.language, YES_NO_WORDS)):
            # "Yes, I need to move it" after "…if you'd like to move or cancel it, just say so": the yes opens the
            # request, which is the intent (the yes alone scored higher, 0.53 against 0.40).
            asked = self._classify_turn(clause)
            if asked.intent and asked.intent not in _ANSWER_LIKE:
                return asked
        # A story then a request ("the fridge hums, could you send someone to look at it"): where the whole turn
        # reads as a trouble report or is unclear, the request clause decides when it is surer of another intent.
        # Not where the turn is out of scope: there the story names what we do not deal in ("my internet
        # provider is useless, can you help").
        if (understood.intent in self.trouble or (understood.intent is None and not understood.out_of_scope)) and (
                clause := request_clause(normalize(text, self.language), self.language)):
            asked = self._classify_turn(clause)
            leaves_trouble = understood.intent in self.trouble and asked.intent not in self.trouble
            if asked.intent and asked.intent != understood.intent and asked.confidence > (
                    understood.confidence if understood.intent else 0.0) and (
                    not leaves_trouble or asked.confidence >= LEAVE_TROUBLE_MIN):
                return asked
        return understood

    def _classify_turn(self, text: str) -> Understanding:
        if not text.strip():
            return Understanding(None, 0.0, "")
        scores = self.scores(text)
        normalized = normalize(text, self.language)
        if self.untroubled_only and self.trouble and not untroubled(normalized):
            # "the washer i bought leaks" names a product like "the washer i bought" does, and says what is wrong
            # with it: what the model gave a mere mention goes to the likeliest trouble report (a fault, a complaint).
            mention = sum(v for k, v in scores.items() if k in self.untroubled_only)
            scores = {k: v for k, v in scores.items() if k not in self.untroubled_only}
            reported = max(self.trouble & scores.keys(), key=scores.__getitem__)
            scores[reported] += mention
        elif self.untroubled_only and len(normalized.split()) <= MENTION_MAX_WORDS \
                and max(scores, key=scores.__getitem__) in self.trouble:
            # The other way round: what the model gave a trouble report goes to the mere mention (the flow asks
            # what about the product: a fault, a return, an order).
            trouble = sum(v for k, v in scores.items() if k in self.trouble)
            scores = {k: 0.0 if k in self.trouble else v for k, v in scores.items()}
            mentioned = max(self.untroubled_only & scores.keys(), key=scores.__getitem__)
            scores[mentioned] += trouble
        top = max(scores, key=scores.__getitem__)
        in_scope = {k: v for k, v in scores.items() if k != OUT_OF_SCOPE}
        best = max(in_scope, key=in_scope.__getitem__)
        asked = text.rstrip().endswith("?") and untroubled(normalized)
        if best in self.trouble and (asked or asks_how_or_whether(normalized, self.language)
                                     or praises(normalized, self.language) or resolved(normalized)):
            # "and can I pay by BLIK?" after an answer shares the words of a failed payment; asked as a question
            # of whether or how, with no word of trouble, it is a request for information (or unclear). So is any
            # question whisper marked with "?" and no word of trouble ("and it goes back to my card?", "a odesłanie
            # jest płatne?": escalation_blind30, routine follow-ups handed over as payment problems). A thank-you
            # told as a story ("I wanted to thank the lady from yesterday") is no complaint either, nor a remark
            # that the trouble is over ("my neighbour managed to sort the problem out", phone_blind32 en-r6).
            others = {k: v for k, v in in_scope.items() if k not in self.trouble}
            alternative = max(others, key=others.__getitem__, default=None)
            if alternative is None or others[alternative] < ASKED_ALTERNATIVE_MIN:
                # "jaka jest pogoda" asks too: where the model took it for a foreign request, it stays one.
                return Understanding(None, round(in_scope[best], 3), best, out_of_scope=top == OUT_OF_SCOPE)
            best = alternative
        # Sigmoid calibration is one-vs-rest; renormalised scores stay in 0..1.
        confidence = round(in_scope[best], 3)
        # A turn of greeting words only is a greeting even where a model learnt the word as a goodbye too
        # ("cześć" is both; a bare one is far more often the caller's first word than their last); a bare
        # thank-you ("thanks a lot") is thanks, which asks "anything else?" rather than hanging up.
        if (ruled := self._by_rule(text)) and ruled in in_scope and (
                ruled in (best, "greeting", "thanks") or best not in _ANSWER_LIKE
                or self._answer_over_closing(ruled, best, normalized)):
            # A few examples cannot list every "yes" and "hello" a caller has: the words the yes/no parser and
            # the greeting stripper know decide a turn made of nothing else.
            return Understanding(ruled, max(RULE_CONFIDENCE, confidence), ruled)
        foreign = confidence < FOREIGN_TOPIC_OVERRIDE and mentions(normalized, self.topics)
        needed = max(self.threshold, self.min_confidence.get(best, 0.0))
        if best == "talk_to_human" and len(normalized.split()) == 1:
            needed = max(needed, ONE_WORD_PERSON_MIN)
        if top == OUT_OF_SCOPE or foreign or confidence < needed:
            return Understanding(None, confidence, best, out_of_scope=top == OUT_OF_SCOPE or foreign)
        return Understanding(best, confidence, best)
