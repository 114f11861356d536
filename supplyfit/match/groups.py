"""Who buys what: demand by consumer group (children, students, seniors, gifts & trend, read from product names)
and by customer segment × category, so the monitor can show where each group's demand goes."""

from __future__ import annotations

import json

import pandas as pd


def group_demand(sales: pd.DataFrame, products: pd.DataFrame, freq: str = "M") -> pd.DataFrame:
    """Units and revenue per target group and period (a product in two groups counts in both; 'general' = none).

    ``sales``: sku, ts, quantity, unit_price, is_return; ``products``: sku, attributes (JSON with ``groups``)."""
    groups = products.set_index("sku")["attributes"].map(lambda a: json.loads(a or "{}").get("groups") or ["general"])
    sold = sales.loc[~sales.is_return, ["sku", "ts", "quantity", "unit_price"]]
    sold = sold.assign(revenue=sold.quantity * sold.unit_price, period=sold.ts.dt.to_period(freq).dt.start_time)
    per_sku = sold.groupby(["sku", "period"], as_index=False)[["quantity", "revenue"]].sum()  # then one row per group
    per_sku = per_sku.assign(group=per_sku.sku.map(groups)).explode("group").fillna({"group": "general"})
    out = per_sku.groupby(["group", "period"], as_index=False).agg(
        units=("quantity", "sum"), revenue=("revenue", "sum")
    )
    out["revenue_share"] = out.revenue / out.groupby("period").revenue.transform("sum")
    return out


def segment_structure(sales: pd.DataFrame, seg: pd.DataFrame, by: str = "category") -> pd.DataFrame:
    """Revenue of each customer segment split by ``by`` (category or region), with the share within the segment."""
    sold = sales[~sales.is_return & sales.customer_id.notna()]
    sold = sold.assign(revenue=sold.quantity * sold.unit_price).merge(seg[["customer_id", "segment"]], on="customer_id")
    out = sold.groupby(["segment", by], as_index=False).revenue.sum().rename(columns={by: "value"})
    out.insert(1, "dimension", by)
    out["share"] = out.revenue / out.groupby("segment").revenue.transform("sum")
    return out.sort_values(["segment", "revenue"], ascending=[True, False])
