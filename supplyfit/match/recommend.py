"""Next-item and per-customer recommendations from co-purchases (EASE item-item model, cosine for the long tail,
popularity for cold starts)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

import numpy as np
from scipy import sparse

from .rules import to_baskets


class BasketRecommender:
    """Recommends what goes with a basket, and what a customer is likely to buy next.

    The item-to-item model is EASE (Steck, 2019): a closed-form linear item-item model,
    ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1``, trained on which items are bought together. It was chosen
    over cosine kNN, asymmetric cosine and implicit's ALS on a validation split of the retail invoices (see
    benchmarks/recommend.py). It needs a dense items x items matrix, so it covers the ``max_dense_items`` most
    bought items; the long tail beyond them, and baskets made only of such items, use an asymmetric cosine
    (``co / (n_i^alpha * n_j^(1-alpha))``). Unknown items are ignored; an empty or unknown basket gets the most
    popular items. For a customer, their own purchases (recency-weighted) seed both a repeat score and the
    item-to-item score.
    """

    def __init__(self, l2: float = 100.0, alpha: float = 0.5, repeat_weight: float = 1.0,
                 max_basket: int | None = None, max_dense_items: int = 8000):
        self.l2, self.alpha, self.repeat_weight = l2, alpha, repeat_weight
        self.max_basket, self.max_dense_items = max_basket, max_dense_items

    def fit(self, baskets, customer_id: Iterable | None = None) -> "BasketRecommender":
        """``baskets`` as for :func:`association_rules`; ``customer_id`` aligned with them (optional)."""
        sets = [b for b in to_baskets(baskets)]
        items = sorted({i for b in sets for i in b})
        self.items_ = np.array(items, dtype=object)
        self.index_ = {it: j for j, it in enumerate(items)}
        rows, cols = [], []
        for r, b in enumerate(sets):
            if self.max_basket is None or len(b) <= self.max_basket:
                js = [self.index_[i] for i in b]
                rows += [r] * len(js)
                cols += js
        X = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                              shape=(len(sets), len(items)))
        co = (X.T @ X).tocsr()
        counts = np.asarray(co.diagonal()).ravel()
        self.popularity_ = counts
        self.popular_order_ = np.argsort(-counts, kind="stable")
        self._fit_ease(co)
        co.setdiag(0)
        co.eliminate_zeros()
        norm_i = sparse.diags(1.0 / np.maximum(counts, 1) ** self.alpha)
        norm_j = sparse.diags(1.0 / np.maximum(counts, 1) ** (1 - self.alpha))
        self.sim_ = (norm_i @ co @ norm_j).tocsr()
        self.history_: dict[str, Counter] = defaultdict(Counter)
        if customer_id is not None:
            customers = list(customer_id)
            if len(customers) != len(sets):
                raise ValueError("customer_id must align with baskets")
            for pos, (c, b) in enumerate(zip(customers, sets)):
                if c is None or (isinstance(c, float) and np.isnan(c)):
                    continue
                for it in b:  # later baskets weigh more: baskets are taken in time order
                    self.history_[str(c)][it] += 1.0 + pos / max(len(sets), 1)
        return self

    def _fit_ease(self, co: sparse.csr_matrix) -> None:
        dense = np.sort(self.popular_order_[:self.max_dense_items])
        dense = dense[self.popularity_[dense] > 0]
        self.dense_ = dense
        self.dense_pos_ = {int(j): p for p, j in enumerate(dense)}
        if not len(dense):
            self.ease_ = np.zeros((0, 0), dtype=np.float32)
            return
        gram = co[dense][:, dense].toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        self.ease_ = b.astype(np.float32)

    def _top(self, scores: np.ndarray, exclude: set[int], k: int) -> list[str]:
        scores = scores.astype(float).copy()
        if exclude:
            scores[list(exclude)] = -np.inf
        order = np.argsort(-scores, kind="stable")
        picked = [j for j in order[:k + len(exclude)] if np.isfinite(scores[j]) and scores[j] > 0][:k]
        for j in self.popular_order_:  # fill up with popular items
            if len(picked) >= k:
                break
            if j not in exclude and j not in picked:
                picked.append(j)
        return [self.items_[j] for j in picked[:k]]

    def _item_scores(self, weights: dict[int, float]) -> np.ndarray:
        if not weights:
            return np.zeros(len(self.items_))
        covered = {self.dense_pos_[j]: w for j, w in weights.items() if j in self.dense_pos_}
        if covered:
            scores = np.zeros(len(self.items_))
            pos = np.fromiter(covered.keys(), dtype=np.int64, count=len(covered))
            scores[self.dense_] = np.fromiter(covered.values(), dtype=np.float64, count=len(covered)) \
                @ self.ease_[pos]
            return scores
        rows = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
        w = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        return np.asarray(self.sim_[rows].T @ w).ravel()

    def recommend(self, items: Iterable, k: int = 10) -> list[str]:
        """Up to k items that go with ``items`` (never one of them), best first."""
        known = {self.index_[str(i)] for i in items if str(i) in self.index_}
        scores = self._item_scores({j: 1.0 for j in known})
        return self._top(scores, known, k)

    def recommend_customer(self, customer_id, k: int = 10) -> list[str]:
        """Up to k items for a customer: what they re-buy and what goes with it; popular items if unknown."""
        hist = self.history_.get(str(customer_id), Counter())
        weights = {self.index_[i]: w for i, w in hist.items() if i in self.index_}
        scores = self._item_scores(weights)
        if weights:
            total = sum(weights.values())
            scale = scores.max() if scores.max() > 0 else 1.0
            for j, w in weights.items():
                scores[j] += self.repeat_weight * scale * w / total * len(weights)
        return self._top(scores, set(), k)
