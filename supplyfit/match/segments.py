"""RFM customer segments with readable labels, and their share of revenue."""

from __future__ import annotations

import numpy as np
import pandas as pd

# (label, rule on r, f, m scores 1..5); first match wins
SEGMENT_RULES = [
    ("champions", lambda r, f, m: (r >= 4) & (f >= 4)),
    ("loyal", lambda r, f, m: (r >= 3) & (f >= 4)),
    ("new", lambda r, f, m: (r >= 4) & (f <= 1)),
    ("promising", lambda r, f, m: (r >= 4) & (f <= 3)),
    ("need attention", lambda r, f, m: (r == 3) & (f <= 3)),
    ("at risk", lambda r, f, m: (r <= 2) & (f >= 3)),
    ("hibernating", lambda r, f, m: (r <= 2) & (f <= 2)),
]


def _score(x: pd.Series, ascending: bool = True) -> pd.Series:
    """1..5 quintile score by rank (ties broken by order, so it works with few distinct values)."""
    ranks = x.rank(method="first", ascending=ascending)
    return np.ceil(ranks / len(x) * 5).clip(1, 5).astype(int)


COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment"]


def _no_customers() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("customer_id", "segment") else float) for c in COLUMNS})


def segments(orders: pd.DataFrame, asof=None) -> pd.DataFrame:
    """Per customer: recency (days), frequency (orders), monetary (net revenue), R/F/M scores and a segment.

    ``orders`` has customer_id, order_id, ts, quantity, unit_price (returns reduce monetary); ``asof``
    defaults to the day after the last order.
    """
    df = orders.dropna(subset=["customer_id"])
    if "is_product" in df.columns:
        df = df[df["is_product"]]
    ts = pd.to_datetime(df["ts"])
    if ts.isna().all():  # e.g. orders without customer ids: nobody to segment
        return _no_customers()
    asof = pd.Timestamp(asof) if asof is not None else ts.max().normalize() + pd.Timedelta(days=1)
    df = df[ts < asof].assign(revenue=lambda d: d["quantity"] * d["unit_price"])
    sales = df[df["quantity"] > 0]
    g = sales.groupby("customer_id")
    rfm = pd.DataFrame({"last": g["ts"].max(), "frequency": g["order_id"].nunique()})
    rfm["monetary"] = df.groupby("customer_id")["revenue"].sum().reindex(rfm.index).fillna(0.0)
    rfm["recency_days"] = (asof - pd.to_datetime(rfm["last"])).dt.days
    if rfm.empty:
        return _no_customers()
    rfm["r"] = _score(rfm["recency_days"], ascending=False)
    rfm["f"] = _score(rfm["frequency"])
    rfm["m"] = _score(rfm["monetary"])
    label = pd.Series("others", index=rfm.index)
    for name, rule in reversed(SEGMENT_RULES):
        label[rule(rfm["r"], rfm["f"], rfm["m"])] = name
    rfm["segment"] = label
    return rfm.reset_index()[COLUMNS]


def segment_summary(seg: pd.DataFrame) -> pd.DataFrame:
    """Customers and revenue per segment, with shares."""
    s = seg.groupby("segment").agg(customers=("customer_id", "size"), revenue=("monetary", "sum"))
    s["customer_share"] = s["customers"] / s["customers"].sum()
    s["revenue_share"] = s["revenue"] / s["revenue"].sum()
    return s.sort_values("revenue", ascending=False).reset_index()
