"""The briefing: what to do this week, from the stored results only (nothing is refitted).

Re-orders to place (the production plan, with descriptions and why), items rising (hotspots), urgent complaints,
this week's sales against the forecast, and how fresh the data is. A plain function of the store, so the report
and any other view (the dashboard, an e-mail) show the same numbers; each part is empty when its stage has not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..assets import stale, stale_stages
from ..store import Store
from ..voice import URGENCY

SEVERITY_OF_REASON = {name: "high" if w >= 4 else "medium" if w >= 3 else "low" for name, w, _ in URGENCY}


@dataclass
class Week:
    """Sales of the latest week in the store against the forecast for it (``days`` < 7: the week so far)."""

    start: pd.Timestamp
    days: int
    units: float
    forecast: float | None
    low: float | None
    high: float | None


@dataclass
class Freshness:
    last_order: pd.Timestamp | None
    last_review: pd.Timestamp | None
    last_load: pd.Timestamp | None
    stale: list[str] = field(default_factory=list)
    reviews: int = 0  # reviews stored, dated or not (a file of undated reviews has no latest review)
    stale_stages: list[str] = field(default_factory=list)  # the stages that refresh ``stale``, in run order


@dataclass
class Briefing:
    reorders: pd.DataFrame  # sku, description, qty, arrives, why
    reorder_total: tuple[int, float]  # SKUs and units in the whole plan
    rising: pd.DataFrame  # sku, description, category, why
    complaints: pd.DataFrame  # severity, category, reason, text
    week: Week | None
    freshness: Freshness


def _rows(store: Store, name: str, where: str = "") -> pd.DataFrame:
    return store.table(name, where=where) if store.has_table(name) else pd.DataFrame()


def _of(store: Store, table: str, ids: list[str], sql: str) -> pd.DataFrame:
    """``sql`` (SELECT … FROM ``table`` WHERE …) for the tenant's rows of the SKUs ``ids`` only: the briefing
    reads a handful of SKUs, not tables that hold every SKU's weeks."""
    if not store.has_table(table):
        return pd.DataFrame()
    return store.query(f"{sql} AND tenant = $tenant AND list_contains($ids, unique_id)", {"ids": ids})


def descriptions(store: Store) -> dict[str, str]:
    """SKU -> its description (the products table), for showing beside codes."""
    products = store.table("products", columns="sku, name") if store.has_table("products") else pd.DataFrame()
    return {} if products.empty else dict(zip(products["sku"].astype(str), products["name"].fillna(""), strict=True))


def _reorders(store: Store, names: dict[str, str], n: int) -> tuple[pd.DataFrame, tuple[int, float]]:
    plan = _rows(store, "production_plan")
    cols = ["sku", "description", "qty", "arrives", "why"]
    if plan.empty:
        return pd.DataFrame(columns=cols), (0, 0.0)
    top = plan.sort_values("qty", ascending=False, kind="stable").head(n)
    ids = top["unique_id"].astype(str).tolist()
    fc = _of(store, "forecasts", ids, "SELECT unique_id, ds, yhat, yhat_q90 FROM forecasts WHERE level = 'sku'")
    last = _of(
        store,
        "demand_panel",
        ids,
        "SELECT unique_id, y FROM demand_panel WHERE ds = (SELECT max(ds) FROM demand_panel WHERE tenant = $tenant)",
    )
    last = last.set_index("unique_id")["y"] if len(last) else pd.Series(dtype=float)
    rising = set(_rows(store, "hotspots").get("unique_id", pd.Series(dtype=str)).astype(str))
    why = []
    for sku, arrive in zip(top["unique_id"].astype(str), top["ds"], strict=True):
        f = fc[(fc["unique_id"] == sku) & (fc["ds"] <= arrive)] if len(fc) else fc
        parts = []
        if len(f):
            parts.append(
                f"forecast {f['yhat'].sum():,.0f} units this week through the arrival week "
                f"({len(f)} week(s)), up to {f['yhat_q90'].sum():,.0f} in a strong case"
            )
        parts.append(f"sold {last[sku]:,.0f} last week" if sku in last.index else "new item: a first batch")
        if sku in rising:
            parts.append("rising (hotspot)")
        why.append("; ".join(parts))
    out = pd.DataFrame(
        {
            "sku": top["unique_id"].astype(str),
            "description": [names.get(s, "") for s in top["unique_id"].astype(str)],
            "qty": top["qty"],
            "arrives": pd.to_datetime(top["ds"]).dt.strftime("%Y-%m-%d"),
            "why": why,
        }
    )
    return out, (len(plan), float(plan["qty"].sum()))


def _rising(store: Store, names: dict[str, str], n: int) -> pd.DataFrame:
    hs = _rows(store, "hotspots")
    if hs.empty:
        return pd.DataFrame(columns=["sku", "description", "category", "why"])
    top = hs.sort_values("rank").head(n)
    skus = top["unique_id"].astype(str)
    return pd.DataFrame(
        {
            "sku": skus,
            "description": [names.get(s, "") for s in skus],
            "category": top["category"],
            "why": top["reason"],
        }
    )


def _complaints(store: Store, n: int) -> pd.DataFrame:
    c = _rows(store, "complaints")
    if c.empty:
        return pd.DataFrame(columns=["severity", "category", "reason", "text"])
    top = c.sort_values("rank").head(n)
    return pd.DataFrame(
        {
            "severity": [SEVERITY_OF_REASON.get(r, "low") for r in top["reason"]],
            "category": top["category"],
            "reason": top["reason"],
            "text": top["text"].str.slice(0, 140),
        }
    )


def _week(store: Store) -> Week | None:
    weeks = store.table("ind_totals", where="freq = 'W'") if store.has_table("ind_totals") else pd.DataFrame()
    if weeks.empty:
        return None
    latest = weeks.sort_values("period").iloc[-1]
    start = pd.Timestamp(latest["period"])
    last_ts = store.query("SELECT max(ts) AS ts FROM orders WHERE tenant = $tenant")["ts"].iloc[0]
    days = 7 if bool(latest["complete"]) or pd.isna(last_ts) else (pd.Timestamp(last_ts).normalize() - start).days + 1
    row = _rows(store, "forecasts", where=f"level = 'total' AND ds = DATE '{start:%Y-%m-%d}'")
    if row.empty:
        return Week(start, days, float(latest["units"]), None, None, None)
    r = row.iloc[0]
    return Week(start, days, float(latest["units"]), float(r["yhat"]), float(r["yhat_q10"]), float(r["yhat_q90"]))


def _freshness(store: Store) -> Freshness:
    def newest(sql: str) -> pd.Timestamp | None:
        v = store.query(sql)["t"].iloc[0]
        return None if pd.isna(v) else pd.Timestamp(v)

    old = stale(store)  # read once: the tables and the stages that refresh them
    return Freshness(
        newest("SELECT max(ts) AS t FROM orders WHERE tenant = $tenant"),
        newest("SELECT max(ts) AS t FROM reviews WHERE tenant = $tenant"),
        newest("SELECT max(finished) AS t FROM loads WHERE tenant = $tenant AND status = 'ok'"),
        old,
        int(store.query("SELECT count(*) AS n FROM reviews WHERE tenant = $tenant")["n"].iloc[0]),
        stale_stages(store, old)["stage"].tolist(),
    )


def briefing(store: Store, n: int = 8) -> Briefing:
    """The week's briefing for the store's tenant, from its stored results (``n`` rows per list)."""
    names = descriptions(store)
    reorders, total = _reorders(store, names, n)
    return Briefing(reorders, total, _rising(store, names, 5), _complaints(store, 5), _week(store), _freshness(store))
