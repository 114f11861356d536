"""Next-item and per-customer recommendations from co-purchases (EASE item-item model, cosine for the long tail,
popularity for cold starts)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import sparse

from .rules import incidence


class BasketRecommender:
    """Recommends what goes with a basket, and what a customer is likely to buy next.

    The item-to-item model is EASE (Steck, 2019): a closed-form linear item-item model,
    ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1``, trained on which items are bought together. It was chosen
    over cosine kNN, asymmetric cosine and implicit's ALS on a validation split of the retail invoices (see
    benchmarks/recommend.py). It needs a dense items x items matrix and its inverse (cubic time), so it covers the
    ``max_dense_items`` most bought items among those bought together with another (an item never bought with
    another has zero weights; 4,049 of the 4,130 items of the retail benchmark's training invoices, all covered);
    the long tail beyond them, and baskets made only of such items, use an asymmetric cosine
    (``co / (n_i^alpha * n_j^(1-alpha))``). Unknown items are ignored; an empty or unknown basket gets the most
    popular items. For a customer, their own purchases (recency-weighted) seed both a repeat score and the
    item-to-item score.
    """

    def __init__(
        self,
        l2: float = 100.0,
        alpha: float = 0.5,
        repeat_weight: float = 1.0,
        max_basket: int | None = None,
        max_dense_items: int = 4500,
    ):
        self.l2, self.alpha, self.repeat_weight = l2, alpha, repeat_weight
        self.max_basket, self.max_dense_items = max_basket, max_dense_items

    def fit(self, baskets, customer_id: Iterable | pd.Categorical | None = None) -> BasketRecommender:
        """``baskets`` as for :func:`association_rules` (baskets in time order); ``customer_id`` aligned with them
        (optional; missing ids are skipped; a Categorical is taken as it is, e.g. a BasketMatrix's customers)."""
        X, self.items_ = incidence(baskets)
        X = X.tocsr().astype(np.float32)
        self.index_ = {it: j for j, it in enumerate(self.items_)}
        trained = X
        if self.max_basket is not None:
            trained = sparse.diags((X.getnnz(axis=1) <= self.max_basket).astype(np.float32)) @ X
        co = (trained.T @ trained).tocsr()
        counts = np.asarray(co.diagonal()).ravel()
        self.popularity_ = counts
        self.popular_order_ = np.argsort(-counts, kind="stable")
        co.setdiag(0)
        co.eliminate_zeros()
        self._fit_ease(co, counts)
        self.sim_ = self._cosine(co, counts)
        self._fit_history(X, customer_id)
        return self

    def _cosine(self, co: sparse.csr_matrix, counts: np.ndarray, rows_at_once: int = 65536) -> sparse.csr_matrix:
        """``co`` scaled in place into the asymmetric cosine ``co / (n_i^alpha * n_j^(1-alpha))``: the products of
        diag(1 / n^alpha) @ co @ diag(1 / n^(1-alpha)), without two more matrices the size of ``co``."""
        n = np.maximum(counts, 1)
        norm_i, norm_j = 1.0 / n**self.alpha, 1.0 / n ** (1 - self.alpha)
        for lo in range(0, co.shape[0], rows_at_once):
            hi = min(lo + rows_at_once, co.shape[0])
            co.data[co.indptr[lo] : co.indptr[hi]] *= np.repeat(norm_i[lo:hi], np.diff(co.indptr[lo : hi + 1]))
        co.data *= norm_j[co.indices]
        return co

    def _fit_history(self, X: sparse.csr_matrix, customer_id: Iterable | pd.Categorical | None) -> None:
        """Per customer, the items bought, each purchase weighted 1 + (basket position / baskets): later weigh more."""
        if isinstance(customer_id, pd.Categorical):
            codes, names = customer_id.codes, customer_id.categories.astype(str)
        else:
            customers = pd.Series([] if customer_id is None else list(customer_id), dtype=object)
            codes, names = pd.factorize(customers.where(customers.isna(), customers.astype(str)))
        if customer_id is not None and len(codes) != X.shape[0]:
            raise ValueError("customer_id must align with baskets")
        self.customers_ = {c: r for r, c in enumerate(names)}
        rows = X.tocoo()
        known = codes[rows.row] >= 0 if len(codes) else np.zeros(rows.nnz, bool)
        weight = 1.0 + rows.row[known] / max(X.shape[0], 1)
        self.history_ = sparse.csr_matrix(
            (weight, (codes[rows.row[known]], rows.col[known])), shape=(len(names), X.shape[1])
        )

    def _fit_ease(self, co: sparse.csr_matrix, counts: np.ndarray) -> None:
        """EASE on the ``max_dense_items`` most bought items that were bought together with another item: an item
        never bought with another is a block of its own in the Gram matrix, its weights are zero, so it is left out."""
        paired = np.diff(co.indptr) > 0
        dense = np.sort(self.popular_order_[paired[self.popular_order_]][: self.max_dense_items])
        self.dense_ = dense
        self.dense_pos_ = {int(j): p for p, j in enumerate(dense)}
        if not len(dense):
            self.ease_ = np.zeros((0, 0), dtype=np.float32)
            return
        gram = co[dense][:, dense].astype(np.float64).toarray()
        gram[np.diag_indices_from(gram)] += counts[dense] + self.l2
        p = np.linalg.inv(gram)
        del gram
        p /= -np.diag(p).copy()
        p[np.diag_indices_from(p)] = 0.0
        self.ease_ = p.astype(np.float32)

    def _top(self, scores: np.ndarray, exclude: set[int], k: int) -> list[str]:
        scores = scores.astype(float).copy()
        if exclude:
            scores[list(exclude)] = -np.inf
        order = np.argsort(-scores, kind="stable")
        picked = [j for j in order[: k + len(exclude)] if np.isfinite(scores[j]) and scores[j] > 0][:k]
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
            scores[self.dense_] = np.fromiter(covered.values(), dtype=np.float64, count=len(covered)) @ self.ease_[pos]
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
        row = self.customers_.get(str(customer_id))
        hist = self.history_[row] if row is not None else sparse.csr_matrix((1, len(self.items_)))
        weights = dict(zip(hist.indices.tolist(), hist.data.tolist()))
        scores = self._item_scores(weights)
        if weights:
            total = sum(weights.values())
            scale = scores.max() if scores.max() > 0 else 1.0
            for j, w in weights.items():
                scores[j] += self.repeat_weight * scale * w / total * len(weights)
        return self._top(scores, set(), k)
