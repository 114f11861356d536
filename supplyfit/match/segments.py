"""RFM customer segments with readable labels, and their share of revenue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lines import Lines, as_lines

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


_ASOF = """
SELECT coalesce(CAST($asof AS TIMESTAMP), date_trunc('day', max(ts)) + INTERVAL 1 DAY)
FROM {lines} WHERE customer_id IS NOT NULL
"""
_CUSTOMER_LINES = "SELECT * FROM {lines} WHERE customer_id IS NOT NULL AND ts < $asof"
_RECENCY_FREQUENCY = f"""
WITH per_order AS (
    SELECT customer_id, order_id, max(ts) AS last FROM ({_CUSTOMER_LINES}) WHERE quantity > 0 GROUP BY ALL)
SELECT customer_id, max(last) AS last, count(*) AS frequency FROM per_order GROUP BY ALL ORDER BY customer_id
"""
_REVENUE = f"""
SELECT customer_id, quantity * unit_price AS revenue FROM ({_CUSTOMER_LINES})
WHERE hash(customer_id) % CAST($parts AS UBIGINT) = CAST($part AS UBIGINT) ORDER BY {{order}}
"""
CHUNK_LINES = 1_000_000  # customers' lines summed at once in pandas (about 100 MB with their ids as strings)


def _monetary(lines: Lines, asof) -> pd.Series:
    """Net revenue per customer, summed in the lines' order as pandas sums a group (Kahan), so that equal
    revenues stay equal for the ranks; customers a hashed slice at a time, each of at most about CHUNK_LINES."""
    n = lines.scalar(f"SELECT count(*) FROM ({_CUSTOMER_LINES})", {"asof": asof})
    parts = max(1, -(-n // CHUNK_LINES))
    sums = [
        lines.execute(_REVENUE, {"asof": asof, "parts": parts, "part": part}).df().groupby("customer_id").revenue.sum()
        for part in range(parts)
    ]
    return pd.concat(sums)


def segments(orders: pd.DataFrame | Lines, asof=None) -> pd.DataFrame:
    """Per customer: recency (days), frequency (orders), monetary (net revenue), R/F/M scores and a segment.

    ``orders`` (a DataFrame or :class:`Lines`) has customer_id, order_id, ts, quantity, unit_price (returns reduce
    monetary); customers with no sale (only returns) are left out. ``asof`` defaults to the day after the last
    order. Lines are aggregated in DuckDB; one row per customer reaches pandas.
    """
    with as_lines(orders) as lines:
        asof = lines.scalar(_ASOF, {"asof": None if asof is None else pd.Timestamp(asof)})
        if asof is None:  # no customer ids: nobody to segment
            return _no_customers()
        rfm = lines.execute(_RECENCY_FREQUENCY, {"asof": asof}).df()
        rfm["monetary"] = _monetary(lines, asof).reindex(rfm["customer_id"]).to_numpy()
    if rfm.empty:
        return _no_customers()
    rfm["recency_days"] = (pd.Timestamp(asof) - rfm["last"]).dt.days
    rfm["r"] = _score(rfm["recency_days"], ascending=False)
    rfm["f"] = _score(rfm["frequency"])
    rfm["m"] = _score(rfm["monetary"])
    label = pd.Series("others", index=rfm.index)
    for name, rule in reversed(SEGMENT_RULES):
        label[rule(rfm["r"], rfm["f"], rfm["m"])] = name
    rfm["segment"] = label
    return rfm[COLUMNS]


def segment_summary(seg: pd.DataFrame) -> pd.DataFrame:
    """Customers and revenue per segment, with shares."""
    s = seg.groupby("segment").agg(customers=("customer_id", "size"), revenue=("monetary", "sum"))
    s["customer_share"] = s["customers"] / s["customers"].sum()
    s["revenue_share"] = s["revenue"] / s["revenue"].sum()
    return s.sort_values("revenue", ascending=False).reset_index()
