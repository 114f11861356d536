"""The matching stage of the pipeline: rules, recommendations and segments written to the store.

Order lines are never copied into pandas: baskets come from the store as integer codes (:mod:`.baskets`), and
segments, segment structure and group demand are summed in DuckDB (:mod:`.lines`)."""

from __future__ import annotations

import pandas as pd

from ..store import Store
from ..store.db import STORE_MEMORY
from ..store.sql import memory_limit
from .baskets import BasketMatrix, basket_matrix
from .groups import group_demand, segment_structure
from .lines import Lines
from .recommend import BasketRecommender
from .rules import association_rules
from .segments import segment_summary, segments

STRUCTURE = ("category", "region")  # the dimensions of segment_structure
# DuckDB's memory while the stage runs (it spills beyond): under the store's 2 GB, the basket codes of 15M lines took
# all of it next to the stage's own arrays; with 1 GiB the stage peaks at 1.6 GiB on 200k SKUs (2.0 with customers)
STAGE_DUCKDB_MEMORY = 1 << 30


def _fitted(baskets: BasketMatrix) -> BasketRecommender:
    return BasketRecommender().fit(baskets, customer_id=baskets.customers)


def recommender(sales: pd.DataFrame) -> BasketRecommender:
    """A recommender fitted on the orders of ``sales`` (order lines; returns and non-product lines are left out),
    orders in time order, each with its first known customer."""
    with Lines.of_frame(sales) as lines:
        return _fitted(basket_matrix(lines))


def store_recommender(store: Store) -> BasketRecommender:
    """:func:`recommender` of the store's sales, read as integer codes (what the stage and the API fit)."""
    return _fitted(basket_matrix(Lines.of_store(store)))


def run(store: Store, min_support: float = 0.01, min_confidence: float = 0.2, per_customer: int = 10) -> str:
    """Write ``rules``, ``recommendations`` (per customer), ``segments``, ``segment_summary``, ``segment_structure``
    (segment x category and region) and ``group_demand`` (target groups by month)."""
    with memory_limit(store.con, STAGE_DUCKDB_MEMORY, STORE_MEMORY):
        return _run(store, min_support, min_confidence, per_customer)


def _run(store: Store, min_support: float, min_confidence: float, per_customer: int) -> str:
    lines = Lines.of_store(store)
    if not lines.execute("SELECT 1 FROM {lines} LIMIT 1").fetchall():
        return "no product sales"
    baskets = basket_matrix(lines)
    rules = association_rules(baskets, min_support, min_confidence, max_len=3)
    flat = rules.assign(
        antecedents=rules["antecedents"].map(lambda s: " + ".join(sorted(s))),
        consequents=rules["consequents"].map(lambda s: " + ".join(sorted(s))),
    )
    store.write_result("rules", flat)
    rec, n_baskets = _fitted(baskets), baskets.matrix.shape[0]
    del baskets  # the recommender keeps what it needs
    seg = segments(lines)
    top = seg.sort_values("monetary", ascending=False).head(200)["customer_id"]
    recs = pd.DataFrame(
        [
            {"customer_id": c, "rank": i + 1, "sku": sku}
            for c in top
            for i, sku in enumerate(rec.recommend_customer(c, per_customer))
        ],
        columns=["customer_id", "rank", "sku"],
    )
    store.write_result("recommendations", recs)
    store.write_result("segments", seg)
    store.write_result("segment_summary", segment_summary(seg))
    store.write_result(
        "segment_structure",
        pd.concat(
            [segment_structure(Lines.of_store(store, categories=by == "category"), seg, by) for by in STRUCTURE],
            ignore_index=True,
        ),
    )
    store.write_result("group_demand", group_demand(lines, store.table("products", columns="sku, attributes")))
    return (
        f"{n_baskets:,} baskets → {len(rules):,} rules (support ≥ {min_support}); "
        f"{seg['customer_id'].nunique():,} customers in {seg['segment'].nunique()} segments"
    )
