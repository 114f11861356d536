"""Frequent itemsets and association rules, identical to mlxtend's fpgrowth + association_rules, faster.

Itemsets are mined depth-first over vertical bitsets (Eclat): each item's baskets are a row of 64-bit words,
and all extensions of an itemset are counted at once with one vectorised AND and popcount; candidates are first
pruned to items that form a frequent pair with every member (one sparse product counts all pairs). Rules are
generated for all itemsets of a size at once, finding each antecedent and consequent by a hashed key.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import sparse

from .baskets import BasketMatrix, zero_one


def popcount_rows(bits: np.ndarray) -> np.ndarray:
    """Set bits per row of a 2-d uint64 array."""
    return np.bitwise_count(bits).sum(axis=1, dtype=np.int64)


def incidence(baskets) -> tuple[sparse.csc_matrix, np.ndarray]:
    """Baskets x items 0/1 matrix (CSC, int32) and the item names (sorted strings), from a list of lists, a long
    DataFrame (basket_id, item; baskets in order of first appearance, rows without an item ignored) or a
    :class:`~supplyfit.match.baskets.BasketMatrix` (as it is)."""
    if isinstance(baskets, BasketMatrix):
        return baskets.matrix, baskets.items
    if isinstance(baskets, pd.DataFrame):
        if not {"basket_id", "item"} <= set(baskets.columns):
            raise ValueError("a basket DataFrame needs columns basket_id and item")
        long = baskets.dropna(subset=["item"])
        rows = pd.factorize(long["basket_id"])[0]
        cols, names = pd.factorize(long["item"].astype(str), sort=True)
        n = int(rows.max()) + 1 if len(rows) else 0
        names = np.asarray(names, dtype=object)
    else:
        sets = [{str(i) for i in b if i is not None} for b in baskets]
        names = np.array(sorted(set().union(*sets)), dtype=object)
        index = {it: j for j, it in enumerate(names)}
        rows = np.fromiter((r for r, items in enumerate(sets) for _ in items), dtype=np.int64)
        cols = np.fromiter((index[it] for items in sets for it in items), dtype=np.int64, count=len(rows))
        n = len(sets)
    return zero_one(rows, cols, (n, len(names))), names


def _bitsets(X: sparse.csc_matrix) -> np.ndarray:
    """Each column of a 0/1 CSC matrix as a row of 64-bit words (bit r of the row: basket r has the item)."""
    words = (X.shape[0] + 63) // 64
    bits = np.zeros(X.shape[1] * words, dtype=np.uint64)
    if X.nnz:
        X.sort_indices()
        cols = np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))
        word = cols * words + X.indices // 64
        values = np.left_shift(np.uint64(1), (X.indices % 64).astype(np.uint64))
        starts = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])  # word is sorted: one run per word
        bits[word[starts]] = np.bitwise_or.reduceat(values, starts)
    return bits.reshape(X.shape[1], words)


def frequent_itemsets(baskets, min_support: float = 0.01, max_len: int | None = None) -> pd.DataFrame:
    """Itemsets with support >= min_support: columns support, itemsets (frozenset), as mlxtend returns them.

    Memory grows with the frequent items only: bitsets are built for them, and the frequent pairs are kept sparse."""
    X, names = incidence(baskets)
    n = X.shape[0]
    if n == 0:
        return pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": pd.Series(dtype=object)})
    counts = np.diff(X.indptr)
    frequent = np.array([j for j in np.argsort(-counts, kind="stable") if counts[j] / n >= min_support], dtype=int)
    inc = X[:, frequent]
    # Which pairs of frequent items are frequent, from one sparse product: an itemset can only grow by an item that
    # forms a frequent pair with each of its members, so candidates are pruned before any bitset is touched.
    pairs = (inc.T @ inc).tocsr()  # positions in ``frequent`` order
    pairs.data = (pairs.data / n >= min_support).astype(np.int8)
    pairs.eliminate_zeros()
    pairs.sort_indices()
    out_sets: list[frozenset] = []
    out_support: list[float] = []
    fnames = [names[j] for j in frequent]
    fbits = _bitsets(inc)

    def paired(c: int, rest: np.ndarray) -> np.ndarray:
        """The positions in ``rest`` (ascending) that form a frequent pair with ``c``."""
        return rest[np.isin(rest, pairs.indices[pairs.indptr[c] : pairs.indptr[c + 1]], assume_unique=True)]

    def grow(prefix: tuple, prefix_bits: np.ndarray, candidates: np.ndarray) -> None:
        inter = fbits[candidates] & prefix_bits
        support = popcount_rows(inter) / n
        keep = np.flatnonzero(support >= min_support)
        kept = candidates[keep]
        deeper = max_len is None or len(prefix) + 1 < max_len
        for rank, (pos, c, sup) in enumerate(zip(keep.tolist(), kept.tolist(), support[keep].tolist())):
            itemset = prefix + (fnames[c],)
            out_sets.append(frozenset(itemset))
            out_support.append(sup)
            if deeper:
                rest = paired(c, kept[rank + 1 :])
                if len(rest):
                    grow(itemset, inter[pos], rest)

    for pos, name in enumerate(fnames):
        out_sets.append(frozenset((name,)))
        out_support.append(float(counts[frequent[pos]] / n))
        rest = paired(pos, np.arange(pos + 1, len(frequent)))
        if (max_len is None or max_len > 1) and len(rest):
            grow((name,), fbits[pos], rest)
    return pd.DataFrame({"support": out_support, "itemsets": out_sets})


def _rule_splits(sets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every split of every itemset (2+ items) into antecedent + consequent, as indices into ``sets``: whole,
    antecedent, consequent. Subsets of a frequent itemset are frequent, so both parts are always found.

    An itemset's key is the sum (mod 2^64) of random 64-bit codes of its items, so a subset's key is a sum over
    columns and its complement's key a subtraction: all lookups are vectorised hash-table probes."""
    items = sorted({i for s in sets for i in s})
    codes = dict(
        zip(
            items,
            np.random.default_rng(0).integers(0, np.iinfo(np.uint64).max, len(items), dtype=np.uint64, endpoint=True),
        )
    )
    lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    keys = np.zeros(len(sets), dtype=np.uint64)
    by_size = {}
    for k in np.unique(lengths):
        idx = np.flatnonzero(lengths == k)
        mat = np.array([[codes[i] for i in sorted(sets[j])] for j in idx], dtype=np.uint64).reshape(len(idx), k)
        keys[idx] = mat.sum(axis=1, dtype=np.uint64)
        by_size[int(k)] = (idx, mat)
    table = pd.Index(keys)  # a hash table on the keys
    if not table.is_unique:
        raise RuntimeError("itemset key collision (odds ~ 1e-9); please report it")
    find = table.get_indexer
    whole, ante, cons = [], [], []
    for k, (idx, mat) in by_size.items():
        for r in range(1, k):
            for cols in combinations(range(k), r):
                a_key = mat[:, cols].sum(axis=1, dtype=np.uint64)
                whole.append(idx)
                ante.append(find(a_key))
                cons.append(find(keys[idx] - a_key))
    if not whole:
        return (np.zeros(0, dtype=np.int64),) * 3
    return np.concatenate(whole), np.concatenate(ante), np.concatenate(cons)


def association_rules(
    baskets, min_support: float = 0.01, min_confidence: float = 0.1, max_len: int | None = None
) -> pd.DataFrame:
    """Rules A → C with support, confidence, lift, leverage and conviction (mlxtend's definitions).

    Returns columns antecedents, consequents (frozensets), antecedent_support, consequent_support, support,
    confidence, lift, leverage, conviction; sorted by lift, then confidence.
    """
    return rules_from_itemsets(frequent_itemsets(baskets, min_support, max_len), min_confidence)


def rules_from_itemsets(fi: pd.DataFrame, min_confidence: float = 0.1) -> pd.DataFrame:
    """Rules from frequent itemsets (support, itemsets), e.g. mined by another engine; see association_rules."""
    sets = fi["itemsets"].to_numpy()
    support = fi["support"].to_numpy()
    whole, ante, cons = _rule_splits(sets)
    confidence = support[whole] / support[ante]
    keep = confidence >= min_confidence
    whole, ante, cons, confidence = whole[keep], ante[keep], cons[keep], confidence[keep]
    lift = confidence / support[cons]
    order = np.lexsort((-confidence, -lift))  # by lift, then confidence; stable, like sort_values
    whole, ante, cons, confidence, lift = whole[order], ante[order], cons[order], confidence[order], lift[order]
    sa, sc, s = support[ante], support[cons], support[whole]
    with np.errstate(divide="ignore", invalid="ignore"):  # confidence 1 (then also 0/0 when sc = 1): inf
        conviction = np.where(confidence >= 1.0, np.inf, (1 - sc) / (1 - confidence))
    return pd.DataFrame(
        {
            "antecedents": sets[ante],
            "consequents": sets[cons],
            "antecedent_support": sa,
            "consequent_support": sc,
            "support": s,
            "confidence": confidence,
            "lift": lift,
            "leverage": s - sa * sc,
            "conviction": conviction,
        }
    )


def product_lines(orders: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The product (non-return) lines of ``orders``, only ``columns`` of them if given (a smaller copy)."""
    keep = pd.Series(True, index=orders.index)
    for flag, wanted in (("is_return", False), ("is_product", True)):
        if flag in orders.columns:
            keep &= orders[flag] == wanted
    return orders.loc[keep, columns if columns is not None else orders.columns]


def order_items(orders: pd.DataFrame) -> pd.DataFrame:
    """Long baskets (basket_id, item): one row per order and distinct SKU of its product lines, orders in order of
    first appearance; what :func:`association_rules` and the recommender take without building Python sets."""
    lines = product_lines(orders, ["order_id", "sku"])
    return pd.DataFrame({"basket_id": lines["order_id"].to_numpy(), "item": lines["sku"].to_numpy()}).drop_duplicates(
        ignore_index=True
    )


def baskets_from_orders(orders: pd.DataFrame) -> list[list[str]]:
    """One basket per order: the distinct SKUs of its product (non-return) lines, sorted."""
    long = order_items(orders)
    long = long.assign(order=pd.factorize(long["basket_id"])[0]).sort_values(["order", "item"], kind="stable")
    return long.groupby("order", sort=True)["item"].agg(list).tolist()
