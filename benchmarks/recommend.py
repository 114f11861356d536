"""Next-item and per-customer recommendation quality: supplyfit vs popularity, item-item cosine kNN and
implicit's ALS, on the same time-based split of the 2009–2010 invoices.

    pip install -e ".[dev,bench]"; python benchmarks/recommend.py [--test-share 0.2] [--seed 0]

Next item: the last 20% of invoice dates are the test; in each test basket with >= 2 items one item is hidden
(seeded) and 10 are recommended from the rest. Per customer: customers with invoices on both sides of the split
get 10 recommendations from their history; a hit is any of them among the items they buy after the split.
Settings of ours and of ALS (grids below) are chosen on a validation split inside the training period (its last
20% of dates), never on the test; item-kNN and popularity have none.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
from _common import UCI
from scipy import sparse

from supplyfit.match import BasketRecommender
from supplyfit.store import Store, ingest_orders


def load_baskets() -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp, Store(f"{tmp}/s.duckdb") as st:
        ingest_orders(st, UCI, preset="uci-online-retail")
        sales = st.sales()
    sales = sales[~sales.is_return]
    return (
        sales.groupby("order_id", sort=False)
        .agg(ts=("ts", "min"), customer_id=("customer_id", "first"), items=("sku", lambda s: sorted(set(s))))
        .sort_values("ts")
        .reset_index()
    )


def split(b: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    days = np.sort(b.ts.dt.normalize().unique())
    cut = days[int(len(days) * (1 - share))]
    return b[b.ts < cut].reset_index(drop=True), b[b.ts >= cut].reset_index(drop=True)


def next_item_cases(test: pd.DataFrame, seed: int) -> list[tuple[list[str], str]]:
    rng = np.random.default_rng(seed)
    cases = []
    for items in test["items"]:
        if len(items) >= 2:
            hidden = items[rng.integers(len(items))]
            cases.append(([i for i in items if i != hidden], hidden))
    return cases


def scores(ranked: list[list[str]], truth: list[str]) -> tuple[float, float]:
    hits, rr = 0, 0.0
    for recs, t in zip(ranked, truth):
        if t in recs[:10]:
            hits += 1
            rr += 1.0 / (recs.index(t) + 1)
    return hits / len(truth), rr / len(truth)


class Popularity:
    def fit(self, baskets: list[list[str]]) -> Popularity:
        counts = pd.Series([i for b in baskets for i in b]).value_counts()
        self.order = counts.index.tolist()
        return self

    def recommend(self, items, k=10):
        seen = set(items)
        return [i for i in self.order[: k + len(seen)] if i not in seen][:k]


class ItemKNN:
    """Item-item cosine similarity on the binary basket-item matrix; a basket's score is the sum over its items."""

    def fit(self, baskets: list[list[str]]) -> ItemKNN:
        self.items = sorted({i for b in baskets for i in b})
        self.index = {it: j for j, it in enumerate(self.items)}
        rows = [r for r, b in enumerate(baskets) for _ in b]
        cols = [self.index[i] for b in baskets for i in b]
        X = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), (len(baskets), len(self.items)))
        n = np.sqrt(np.asarray(X.sum(0)).ravel())
        co = (X.T @ X).tocsr()
        co.setdiag(0)
        self.sim = (sparse.diags(1 / np.maximum(n, 1)) @ co @ sparse.diags(1 / np.maximum(n, 1))).tocsr()
        self.pop = Popularity().fit(baskets)
        return self

    def recommend(self, items, k=10):
        known = [self.index[i] for i in items if i in self.index]
        if not known:
            return self.pop.recommend(items, k)
        s = np.asarray(self.sim[known].sum(0)).ravel()
        s[known] = -np.inf
        top = [self.items[j] for j in np.argsort(-s)[:k] if s[j] > 0]
        return (top + [i for i in self.pop.recommend(set(items) | set(top), k)])[:k]


class ALS:
    """implicit's AlternatingLeastSquares; a basket is folded in as a new user (recalculate_user)."""

    def __init__(self, factors=64, iterations=15, regularization=0.05, alpha=10.0):
        self.kw = dict(factors=factors, iterations=iterations, regularization=regularization, alpha=alpha)

    def fit(self, baskets: list[list[str]], users: list | None = None) -> ALS:
        from implicit.als import AlternatingLeastSquares

        self.items = sorted({i for b in baskets for i in b})
        self.index = {it: j for j, it in enumerate(self.items)}
        keys = users if users is not None else list(range(len(baskets)))
        self.users = {u: r for r, u in enumerate(dict.fromkeys(keys))}
        rows = [self.users[u] for u, b in zip(keys, baskets) for _ in b]
        cols = [self.index[i] for b in baskets for i in b]
        self.ui = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), (len(self.users), len(self.items))
        )
        self.ui.sum_duplicates()
        self.model = AlternatingLeastSquares(random_state=0, **self.kw)
        self.model.fit(self.ui, show_progress=False)
        self.pop = Popularity().fit(baskets)
        return self

    def _row(self, items) -> sparse.csr_matrix:
        js = sorted({self.index[i] for i in items if i in self.index})
        return sparse.csr_matrix((np.ones(len(js), dtype=np.float32), ([0] * len(js), js)), (1, len(self.items)))

    def recommend(self, items, k=10):
        row = self._row(items)
        if not row.nnz:
            return self.pop.recommend(items, k)
        ids, _ = self.model.recommend(0, row, N=k, recalculate_user=True, filter_already_liked_items=True)
        return [self.items[j] for j in ids]

    def recommend_customer(self, customer, k=10):
        if customer not in self.users:
            return self.pop.recommend([], k)
        u = self.users[customer]
        ids, _ = self.model.recommend(u, self.ui[u], N=k, filter_already_liked_items=False)
        return [self.items[j] for j in ids]


def evaluate(train: pd.DataFrame, test: pd.DataFrame, seed: int, models: dict) -> pd.DataFrame:
    cases = next_item_cases(test, seed)
    truth = [h for _, h in cases]
    rows = []
    for name, make in models.items():
        t0 = time.perf_counter()
        model = make(train)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ranked = [model.recommend(given, 10) for given, _ in cases]
        hr, mrr = scores(ranked, truth)
        rows.append(
            dict(
                model=name, hit_rate_10=hr, mrr_10=mrr, fit_s=fit_s, recs_per_s=len(cases) / (time.perf_counter() - t0)
            )
        )
    return pd.DataFrame(rows)


def customer_eval(train: pd.DataFrame, test: pd.DataFrame, models: dict) -> pd.DataFrame:
    known = train.dropna(subset=["customer_id"])
    later = test.dropna(subset=["customer_id"]).groupby("customer_id")["items"].agg(lambda s: set().union(*s))
    customers = [c for c in later.index if c in set(known.customer_id)]
    rows = []
    for name, make in models.items():
        model = make(train)
        hits = recall = 0.0
        for c in customers:
            recs = model.recommend_customer(c, 10)
            got = later[c] & set(recs)
            hits += bool(got)
            recall += len(got) / min(len(later[c]), 10)
        rows.append(
            dict(
                model=name,
                customers=len(customers),
                hit_rate_10=hits / len(customers),
                recall_10=recall / len(customers),
            )
        )
    return pd.DataFrame(rows)


def ours(train: pd.DataFrame, **kw) -> BasketRecommender:
    return BasketRecommender(**kw).fit(train["items"].tolist(), customer_id=train.customer_id.tolist())


OURS_GRID = [dict(l2=v, max_basket=m) for v in (20.0, 100.0, 300.0, 1000.0) for m in (None, 30, 60)]
ALS_GRID = [dict(factors=f, alpha=a) for f in (64, 128, 256) for a in (1.0, 10.0, 40.0)]


def tune(train: pd.DataFrame, seed: int, make, grid: list[dict]) -> tuple[dict, float]:
    """The grid point with the best next-item HitRate@10 on the last 20% of the training dates."""
    fit_part, valid = split(train, 0.2)
    cases = next_item_cases(valid, seed + 1)
    truth = [h for _, h in cases]
    results = [
        (scores([m.recommend(g, 10) for g, _ in cases], truth)[0], kw) for kw in grid for m in [make(fit_part, kw)]
    ]
    hr, kw = max(results, key=lambda r: r[0])
    return kw, hr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    b = load_baskets()
    train, test = split(b, args.test_share)
    print(f"{len(b):,} invoices; train {len(train):,} (to {train.ts.max():%Y-%m-%d}), test {len(test):,}")
    als_kw, als_valid = tune(train, args.seed, lambda tr, kw: ALS(**kw).fit(tr["items"].tolist()), ALS_GRID)
    our_kw, our_valid = tune(train, args.seed, lambda tr, kw: ours(tr, **kw), OURS_GRID)
    print(f"chosen on validation (HitRate@10): ALS {als_kw} ({als_valid:.4f}); supplyfit {our_kw} ({our_valid:.4f})")
    baselines = {
        "popularity": lambda tr: Popularity().fit(tr["items"].tolist()),
        "item-kNN (cosine)": lambda tr: ItemKNN().fit(tr["items"].tolist()),
        "implicit ALS": lambda tr: ALS(**als_kw).fit(tr["items"].tolist()),
        "supplyfit": lambda tr: ours(tr, **our_kw),
    }
    nxt = evaluate(train, test, args.seed, baselines)
    print("\nnext item (hide one of a test basket, recommend 10 from the rest):")
    print(nxt.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    best = nxt[nxt.model != "supplyfit"].hit_rate_10.max()
    print(
        f"supplyfit / best baseline HitRate@10: {nxt.set_index('model').hit_rate_10['supplyfit'] / best:.3f} "
        "(target >= 1.10)"
    )

    class CustomerPopularity(Popularity):
        def recommend_customer(self, _c, k=10):
            return self.recommend([], k)

    per_customer = {
        "popularity": lambda tr: CustomerPopularity().fit(tr["items"].tolist()),
        "implicit ALS": lambda tr: ALS(**als_kw).fit(tr["items"].tolist(), users=tr.customer_id.fillna("?").tolist()),
        "supplyfit": lambda tr: ours(tr, **our_kw),
    }
    cust = customer_eval(train, test, per_customer)
    print("\nper customer (10 recommendations from history; hit = any bought after the split):")
    print(cust.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
