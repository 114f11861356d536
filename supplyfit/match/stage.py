"""The matching stage of the pipeline: rules, recommendations and segments written to the store."""

from __future__ import annotations

import pandas as pd

from ..store import Store
from .groups import group_demand, segment_structure
from .recommend import BasketRecommender
from .rules import association_rules, order_items, product_lines
from .segments import segment_summary, segments


def recommender(sales: pd.DataFrame) -> BasketRecommender:
    """A recommender fitted on the orders of ``sales`` (order lines; returns and non-product lines are left out),
    orders in time order, each with its first known customer."""
    lines = product_lines(sales, ["order_id", "sku", "ts", "customer_id"]).sort_values("ts", kind="stable")
    baskets = order_items(lines)
    customers = lines.groupby("order_id", sort=False)["customer_id"].first()
    return BasketRecommender().fit(baskets, customer_id=customers.to_numpy())


def run(store: Store, min_support: float = 0.01, min_confidence: float = 0.2, per_customer: int = 10) -> str:
    """Write ``rules``, ``recommendations`` (per customer), ``segments``, ``segment_summary``, ``segment_structure``
    (segment x category and region) and ``group_demand`` (target groups by month)."""
    orders = store.sales().drop(columns=["line_no", "description", "channel"], errors="ignore")  # unread here
    if orders.empty:
        return "no product sales"
    baskets = order_items(orders)
    rules = association_rules(baskets, min_support, min_confidence, max_len=3)
    flat = rules.assign(
        antecedents=rules["antecedents"].map(lambda s: " + ".join(sorted(s))),
        consequents=rules["consequents"].map(lambda s: " + ".join(sorted(s))),
    )
    store.write_result("rules", flat)
    rec = recommender(orders)
    seg = segments(orders)
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
        pd.concat([segment_structure(orders, seg, by) for by in ("category", "region")], ignore_index=True),
    )
    store.write_result("group_demand", group_demand(orders, store.table("products")))
    return (
        f"{baskets['basket_id'].nunique():,} baskets → {len(rules):,} rules (support ≥ {min_support}); "
        f"{seg['customer_id'].nunique():,} customers in {seg['segment'].nunique()} segments"
    )
