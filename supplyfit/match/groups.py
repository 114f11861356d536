"""Who buys what: demand by consumer group (children, students, seniors, gifts & trend, read from product names)
and by customer segment × category, so the monitor can show where each group's demand goes.

Lines are summed in DuckDB with Kahan summation (``fsum``), in no fixed order: a sum may differ from pandas' sum
of the same lines in its last bit. Only one row per group and period, or per segment and value, reaches pandas."""

from __future__ import annotations

import json

import pandas as pd

from .lines import Lines, as_lines

PERIODS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}  # pandas' names, DuckDB's parts
_GROUP_DEMAND = """
WITH per_sku AS (
    SELECT sku, date_trunc($part, ts) AS period, fsum(quantity) AS quantity, fsum(quantity * unit_price) AS revenue
    FROM {lines} WHERE NOT is_return GROUP BY ALL)
SELECT coalesce(g."group", 'general') AS "group", p.period,
       fsum(p.quantity) AS units, fsum(p.revenue) AS revenue
FROM per_sku p LEFT JOIN _sku_groups g USING (sku) GROUP BY ALL ORDER BY 1, 2
"""
_SEGMENT_STRUCTURE = """
SELECT s.segment, l.{by} AS value, fsum(l.quantity * l.unit_price) AS revenue
FROM {lines} l JOIN _segments s USING (customer_id)
WHERE NOT l.is_return AND l.{by} IS NOT NULL GROUP BY ALL ORDER BY 1, 2
"""


def _sku_groups(products: pd.DataFrame) -> pd.DataFrame:
    """One row per product and target group (sku, group); 'general' for a product in none."""
    groups = products.set_index("sku")["attributes"].map(lambda a: json.loads(a or "{}").get("groups") or ["general"])
    long = groups.explode().fillna("general")
    return pd.DataFrame({"sku": long.index.to_numpy(), "group": long.to_numpy()})


def group_demand(sales: pd.DataFrame | Lines, products: pd.DataFrame, freq: str = "M") -> pd.DataFrame:
    """Units and revenue per target group and period (a product in two groups counts in both; 'general' = none).

    ``sales`` (a DataFrame or :class:`Lines`): sku, ts, quantity, unit_price, is_return; ``products``: sku,
    attributes (JSON with ``groups``); ``freq``: a key of :data:`PERIODS`."""
    if freq not in PERIODS:
        raise ValueError(f"freq must be one of {sorted(PERIODS)}, not {freq!r}")
    with as_lines(sales) as lines, lines.registered("_sku_groups", _sku_groups(products)):
        out = lines.execute(_GROUP_DEMAND, {"part": PERIODS[freq]}).df()
    out["revenue_share"] = out.revenue / out.groupby("period").revenue.transform("sum")
    return out


def segment_structure(sales: pd.DataFrame | Lines, seg: pd.DataFrame, by: str = "category") -> pd.DataFrame:
    """Revenue of each customer segment split by ``by`` (category or region), with the share within the segment."""
    if by not in ("category", "region"):
        raise ValueError(f"by must be category or region, not {by!r}")
    with as_lines(sales) as lines, lines.registered("_segments", seg[["customer_id", "segment"]]):
        out = lines.execute(_SEGMENT_STRUCTURE.replace("{by}", by)).df()
    out.insert(1, "dimension", by)
    out["share"] = out.revenue / out.groupby("segment").revenue.transform("sum")
    return out.sort_values(["segment", "revenue"], ascending=[True, False])
