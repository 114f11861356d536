"""Next-item and per-customer recommendations from co-purchases (item-to-item, with popularity fallback)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

import numpy as np
from scipy import sparse

from .rules import to_baskets


class BasketRecommender:
    """Recommends what goes with a basket, and what a customer is likely to buy next.

    Item-to-item scores are co-occurrence counts normalised by an asymmetric cosine
    (``co / (n_i^alpha * n_j^(1-alpha))``), which favours items that are bought *with* the basket over items that
    are merely popular; unknown items are ignored and an empty or unknown basket gets the most popular items.
    For a customer, their own purchases (recency-weighted) seed both a repeat score and the item-to-item score.
    """

    def __init__(self, alpha: float = 0.5, repeat_weight: float = 1.0, max_basket: int = 200):
        self.alpha, self.repeat_weight, self.max_basket = alpha, repeat_weight, max_basket

    def fit(self, baskets, customer_id: Iterable | None = None) -> "BasketRecommender":
        """``baskets`` as for :func:`association_rules`; ``customer_id`` aligned with them (optional)."""
        sets = [b for b in to_baskets(baskets)]
        items = sorted({i for b in sets for i in b})
        self.items_ = np.array(items, dtype=object)
        self.index_ = {it: j for j, it in enumerate(items)}
        rows, cols = [], []
        for r, b in enumerate(sets):
            if len(b) <= self.max_basket:
                js = [self.index_[i] for i in b]
                rows += [r] * len(js)
                cols += js
        X = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                              shape=(len(sets), len(items)))
        co = (X.T @ X).tocsr()
        counts = np.asarray(co.diagonal()).ravel()
        co.setdiag(0)
        co.eliminate_zeros()
        norm_i = sparse.diags(1.0 / np.maximum(counts, 1) ** self.alpha)
        norm_j = sparse.diags(1.0 / np.maximum(counts, 1) ** (1 - self.alpha))
        self.sim_ = (norm_i @ co @ norm_j).tocsr()
        self.popularity_ = counts
        self.popular_order_ = np.argsort(-counts, kind="stable")
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
        v = sparse.csr_matrix((list(weights.values()), ([0] * len(weights), list(weights.keys()))),
                              shape=(1, len(self.items_)))
        return np.asarray((v @ self.sim_).todense()).ravel()

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
