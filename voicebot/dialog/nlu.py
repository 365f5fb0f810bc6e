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

from voicebot.dialog.nlu_text import normalize, stems

OUT_OF_SCOPE = "out_of_scope"

__all__ = ["OUT_OF_SCOPE", "IntentClassifier", "Understanding", "normalize"]


@dataclass(frozen=True)
class Understanding:
    intent: str | None  # None = out of scope or not confident enough
    confidence: float  # calibrated probability of the best in-scope intent
    best: str  # best in-scope intent even when rejected (for logs and the handoff)
    out_of_scope: bool = False  # rejected because it looks like a request we do not handle (not just unsure)


class IntentClassifier:
    def __init__(self, examples: dict[str, list[str]], out_of_scope: list[str], threshold: float = 0.5,
                 language: str | None = None) -> None:
        self.language = language
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

    def scores(self, text: str) -> dict[str, float]:
        probs = self.pipeline.predict_proba([normalize(text, self.language)])[0]
        return {str(c): float(p) for c, p in zip(self.classes, probs, strict=True)}

    def classify(self, text: str) -> Understanding:
        if not text.strip():
            return Understanding(None, 0.0, "")
        scores = self.scores(text)
        top = max(scores, key=scores.__getitem__)
        in_scope = {k: v for k, v in scores.items() if k != OUT_OF_SCOPE}
        best = max(in_scope, key=in_scope.__getitem__)
        # Sigmoid calibration is one-vs-rest; renormalised scores stay in 0..1.
        confidence = round(in_scope[best], 3)
        if top == OUT_OF_SCOPE or confidence < self.threshold:
            return Understanding(None, confidence, best, out_of_scope=top == OUT_OF_SCOPE)
        return Understanding(best, confidence, best)
