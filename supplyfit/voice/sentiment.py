"""Review sentiment: hashed character n-grams, NB-SVM log-count-ratio weighting, logistic regression.

Character n-grams need no word segmentation, so Chinese, English, mixed text, traditional characters and
emoji all work; hashing keeps the shipped model small (no vocabulary) and the load fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

PRETRAINED = "sentiment_zh.joblib"


_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z']+")
EN_POSITIVE = set(
    """good great excellent love loved perfect nice happy recommend recommended fast quick best awesome
amazing fantastic comfortable beautiful well worth sturdy easy smooth fresh delicious satisfied pleased friendly
helpful clean cute lovely reliable value superb""".split()
)
EN_NEGATIVE = set(
    """bad poor terrible awful broken broke hate worst slow late disappointed disappointing cheap fake
defective damaged useless waste refund return returned rude dirty wrong missing faulty leak leaks leaking never
stopped unhappy horrible overpriced flimsy noisy smell smells expired""".split()
)
NEGATORS = {"not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "hardly", "won't", "can't"}


def english_lexicon_proba(text: str) -> float:
    """P(positive) of an English text from a small opinion lexicon with negation (the fallback for English
    text when a model was trained on Chinese reviews only)."""
    words = _WORD.findall(normalize(text))
    score = 0.0
    for i, w in enumerate(words):
        polarity = 1.0 if w in EN_POSITIVE else -1.0 if w in EN_NEGATIVE else 0.0
        if polarity and any(x in NEGATORS for x in words[max(0, i - 2) : i]):
            polarity = -polarity
        score += polarity
    return float(1.0 / (1.0 + np.exp(-1.5 * score)))


def _is_english(text: str) -> bool:
    return not _CJK.search(text) and len(_WORD.findall(text)) >= 2


def normalize(text: object) -> str:
    """NFKC (full-width → half-width), lower case; non-strings become ''."""
    if not isinstance(text, str):
        return ""
    return unicodedata.normalize("NFKC", text).lower()[:2000]


class SentimentModel:
    """Binary sentiment classifier (1 positive, 0 negative) with a scikit-learn style API.

    >>> m = SentimentModel().fit(texts, labels)
    >>> m.predict_proba(["质量很好，物流也快"])   # P(positive)
    """

    def __init__(
        self, ngram_range: tuple[int, int] = (1, 3), n_features: int = 2**20, C: float = 4.0, nb_alpha: float = 1.0
    ):
        self.ngram_range, self.n_features, self.C, self.nb_alpha = ngram_range, n_features, C, nb_alpha

    def _vectorizer(self) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            n_features=self.n_features,
            alternate_sign=False,
            norm=None,
            preprocessor=normalize,
            dtype=np.float32,
        )

    def _features(self, texts: Iterable) -> sparse.csr_matrix:
        X = self._vectorizer().transform(list(texts))
        X.data = np.log1p(X.data)  # sublinear term frequency
        X = X.multiply(self.weights_).tocsr()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ X

    def fit(self, texts: Iterable, labels: Iterable) -> SentimentModel:
        texts, y = list(texts), np.asarray(list(labels), dtype=int)
        if set(np.unique(y)) - {0, 1}:
            raise ValueError("labels must be 1 (positive) or 0 (negative)")
        counts = self._vectorizer().transform(texts)
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        idf = np.log((1 + len(texts)) / (1 + df)) + 1
        binary = (counts > 0).astype(np.float32)
        p = self.nb_alpha + np.asarray(binary[y == 1].sum(axis=0)).ravel()
        q = self.nb_alpha + np.asarray(binary[y == 0].sum(axis=0)).ravel()
        ratio = np.log((p / p.sum()) / (q / q.sum()))
        # NB-SVM: up-weight features that separate the classes, on top of idf
        self.weights_ = (idf * (0.5 + np.abs(ratio))).astype(np.float32)
        self.clf_ = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear")
        self.clf_.fit(self._features(texts), y)
        english = sum(_is_english(normalize(t)) for t in texts)
        self.english_fallback_ = english < 0.05 * len(texts)  # too little English to learn it from
        return self

    def predict_proba(self, texts: Iterable) -> np.ndarray:
        """P(positive) per text, shape (n,)."""
        texts = list(texts)
        if not texts:
            return np.zeros(0)
        p = self.clf_.predict_proba(self._features(texts))[:, 1]
        if self.english_fallback_:
            for i, t in enumerate(texts):
                if isinstance(t, str) and _is_english(normalize(t)):
                    p[i] = english_lexicon_proba(t)
        return p

    def predict(self, texts: Iterable) -> np.ndarray:
        """1 (positive) or 0 (negative) per text."""
        return (self.predict_proba(texts) >= 0.5).astype(int)

    def save(self, path: str | Path) -> None:
        """Write the model (features hashed, so only weights are stored), compressed."""
        w, coef = self.weights_, self.clf_.coef_.ravel().astype(np.float32)
        values, counts = np.unique(w, return_counts=True)
        default = values[np.argmax(counts)]  # the weight of every bucket never seen in training
        idx = np.flatnonzero((w != default) | (coef != 0))
        state = {
            "params": (self.ngram_range, self.n_features, self.C, self.nb_alpha),
            "default": default,
            "english_fallback": self.english_fallback_,
            "idx": idx.astype(np.int32),
            "w": w[idx],
            "coef": coef[idx],
            "intercept": self.clf_.intercept_,
        }
        joblib.dump(state, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> SentimentModel:
        state = joblib.load(path)
        model = cls(*state["params"])
        model.english_fallback_ = state["english_fallback"]
        model.weights_ = np.full(model.n_features, state["default"], dtype=np.float32)
        model.weights_[state["idx"]] = state["w"]
        coef = np.zeros((1, model.n_features))
        coef[0, state["idx"]] = state["coef"]
        clf = LogisticRegression()
        clf.classes_ = np.array([0, 1])
        clf.coef_, clf.intercept_ = coef, state["intercept"]
        model.clf_ = clf
        return model

    @classmethod
    def pretrained(cls) -> SentimentModel:
        """The shipped model, trained on the 50k-review 10-category Chinese e-commerce set."""
        return cls.load(Path(str(resources.files("supplyfit.voice") / PRETRAINED)))
