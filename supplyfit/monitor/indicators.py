"""Consumption indicators: scale, growth and structure of what consumers buy, per week or month.

Everything is computed from order lines (the store's ``sales()`` or a DataFrame of the same columns) so the
numbers in the report, the API and a user's notebook are the same numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..demand.panel import FREQ, product_lines, returns_mask, week_start

if TYPE_CHECKING:
    from ..store import Store

SEASON = {"W": 52, "M": 12}  # periods in a year
PERIOD = {"W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1)}
METRICS = ["revenue", "units", "orders", "customers"]
DIMENSIONS = ("category", "region", "channel")
PRICE_BANDS = (0, 1, 2, 5, 10, 20, np.inf)


@dataclass
class Indicators:
    """Indicator tables; ``tables()`` gives them by name, as the store and the API keep them."""

    freq: str
    totals: pd.DataFrame
    by_dimension: pd.DataFrame
    contribution: pd.DataFrame
    concentration: pd.DataFrame
    price_bands: pd.DataFrame
    customers: pd.DataFrame
    sentiment: pd.DataFrame
    forecast: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        names = ["totals", "by_dimension", "contribution", "concentration", "price_bands", "customers",
                 "sentiment", "forecast"]
        return {n: getattr(self, n).assign(freq=self.freq) for n in names}


def period_start(ts: pd.Series, freq: str) -> pd.Series:
    """Start of each timestamp's period: Monday of the week ('W') or first day of the month ('M')."""
    if freq == "W":
        return week_start(ts)
    return pd.to_datetime(ts).dt.to_period("M").dt.to_timestamp()


def complete(periods: pd.Series, freq: str, last: pd.Timestamp) -> pd.Series:
    """Whether each period (given by its start) ends on or before the day of the last data, ``last``."""
    return periods + PERIOD[freq] - pd.Timedelta(days=1) <= last.normalize()


def _aggregate(lines: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    sold = lines[~lines.is_return]
    g = sold.groupby(keys)
    out = pd.DataFrame({
        "revenue": lines.groupby(keys).revenue.sum(),  # net of returns
        "units": g.quantity.sum(),
        "orders": g.order_id.nunique(),
        "customers": g.customer_id.nunique(),
        "returned_units": lines[lines.is_return].groupby(keys).quantity.sum().abs(),
    }).fillna(0.0)
    out["avg_basket"] = g.revenue.sum() / out.orders.where(out.orders > 0)
    out["return_rate"] = out.returned_units / out.units.where(out.units > 0)
    return out.reset_index()


def _growth(frame: pd.DataFrame, keys: list[str], season: int, freq: str) -> pd.DataFrame:
    """Adds ``<metric>_pop`` (vs previous period) and ``<metric>_yoy`` (vs the same period a year before)."""
    frame = frame.sort_values(keys + ["period"])
    step = pd.DateOffset(weeks=season) if freq == "W" else pd.DateOffset(months=season)
    for offset, suffix in ((PERIOD[freq], "pop"), (step, "yoy")):
        base = frame[keys + ["period"] + METRICS].copy()
        base["period"] = base["period"] + offset
        merged = frame[keys + ["period"]].merge(base, on=keys + ["period"], how="left")
        for m in METRICS:
            before = merged[m].to_numpy(float)
            ratio = np.divide(frame[m].to_numpy(float), before, out=np.full(len(before), np.nan), where=before > 0)
            frame[f"{m}_{suffix}"] = ratio - 1.0
    return frame.reset_index(drop=True)


def _lines(source: Store | pd.DataFrame, freq: str) -> pd.DataFrame:
    df = product_lines(source.sales() if hasattr(source, "sales") else source, returns=True).copy()
    df["is_return"] = returns_mask(df)
    for col in ("customer_id", *DIMENSIONS):
        if col not in df.columns:
            df[col] = None
    df["revenue"] = df["quantity"] * df["unit_price"]
    df["period"] = period_start(df["ts"], freq)
    return df


def indicators(source: Store | pd.DataFrame, freq: str = "W", horizon: int | None = None,
               reviews: pd.DataFrame | None = None, forecast: bool = True) -> Indicators:
    """Indicators of consumption from order lines, per period (``freq`` 'W' or 'M').

    ``source``: a Store or order lines (sku, quantity, unit_price, ts, order_id; optional customer_id,
    category, region, channel, is_return). ``reviews`` with ts, category and p_positive (the voice module's
    scores) give the sentiment index; from a Store they are read from ``review_scores``. ``forecast`` adds the
    next ``horizon`` periods of revenue, units, orders and customers from :mod:`supplyfit.demand`.
    """
    if freq not in SEASON:
        raise ValueError(f"freq must be 'W' or 'M', not {freq!r}")
    season = SEASON[freq]
    lines = _lines(source, freq)
    notes: list[str] = []
    if lines.empty:
        raise ValueError("no product order lines to compute indicators from")
    last = lines.ts.max()
    totals = _growth(_aggregate(lines, ["period"]), [], season, freq)
    totals["complete"] = complete(totals.period, freq, last)
    if not totals.complete.iloc[-1]:
        notes.append(f"the last period (from {totals.period.iloc[-1]:%Y-%m-%d}) is incomplete: data end "
                     f"{last:%Y-%m-%d}")
    dims = []
    for d in DIMENSIONS:  # a dimension without data still gives its (empty) columns: tables keep one shape
        known = lines if lines[d].notna().any() else lines.iloc[:0]
        if known.empty:
            notes.append(f"no {d} column in the orders: no breakdown by {d}")
        part = _growth(_aggregate(known.assign(value=known[d].fillna("unknown")), ["value", "period"]),
                       ["value"], season, freq)
        part["share"] = part.revenue / part.groupby("period").revenue.transform("sum")
        dims.append(part.assign(dimension=d))
    by_dim = pd.concat([p for p in dims if len(p)] or dims[:1], ignore_index=True)
    ind = Indicators(freq, totals, by_dim, _contribution(lines), _concentration(lines), _price_bands(lines),
                     _new_returning(lines), _sentiment(source, reviews, freq, notes), notes=notes)
    if forecast:
        ind.forecast = _forecast(lines, freq, horizon or (8 if freq == "W" else 3))
    return ind


def _contribution(lines: pd.DataFrame) -> pd.DataFrame:
    """Each category's revenue change and its share of the total's change (percentage points of growth)."""
    cat = lines.assign(category=lines.category.fillna("unknown")).pivot_table(
        index="period", columns="category", values="revenue", aggfunc="sum").fillna(0.0)
    change = cat.diff()
    total_before = cat.sum(axis=1).shift()
    contrib = change.div(total_before.where(total_before > 0), axis=0)
    out = pd.DataFrame({"revenue_change": change.stack(), "contribution": contrib.stack()}).reset_index()
    return out.dropna(subset=["contribution"])


def _concentration(lines: pd.DataFrame) -> pd.DataFrame:
    sku = lines.groupby(["period", "sku"]).revenue.sum().clip(lower=0).reset_index()
    sku["share"] = sku.revenue / sku.groupby("period").revenue.transform("sum")
    top = sku.sort_values("share", ascending=False).groupby("period").head(10).groupby("period").share.sum()
    hhi = (sku.share**2).groupby(sku.period).sum() * 10_000
    return pd.DataFrame({"top10_share": top, "hhi": hhi, "skus": sku.groupby("period").size()}).reset_index()


def _price_bands(lines: pd.DataFrame) -> pd.DataFrame:
    sold = lines[~lines.is_return]
    labels = [f"{lo:g}–{hi:g}" if np.isfinite(hi) else f"{lo:g}+" for lo, hi in itertools.pairwise(PRICE_BANDS)]
    band = pd.cut(sold.unit_price, PRICE_BANDS, labels=labels, right=False)
    out = sold.groupby(["period", band], observed=False).agg(revenue=("revenue", "sum"), units=("quantity", "sum"))
    out = out.reset_index().rename(columns={"unit_price": "band"})
    out["share"] = out.revenue / out.groupby("period").revenue.transform("sum")
    out["band"] = out["band"].astype(str)
    return out


def _new_returning(lines: pd.DataFrame) -> pd.DataFrame:
    sold = lines[~lines.is_return & lines.customer_id.notna()]
    if sold.empty:
        return pd.DataFrame(columns=["period", "new_customers", "returning_customers", "new_revenue",
                                     "returning_revenue"])
    first = sold.groupby("customer_id").period.min().rename("first")
    s = sold.join(first, on="customer_id")
    s["kind"] = np.where(s.period == s["first"], "new", "returning")
    cust = s.groupby(["period", "kind"]).customer_id.nunique().unstack(fill_value=0)
    rev = s.groupby(["period", "kind"]).revenue.sum().unstack(fill_value=0.0)
    out = pd.DataFrame({"new_customers": cust.get("new", 0), "returning_customers": cust.get("returning", 0),
                        "new_revenue": rev.get("new", 0.0), "returning_revenue": rev.get("returning", 0.0)})
    return out.reset_index()


def sentiment_index(scores: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Consumer-sentiment index per period and category (and 'all'): 100 + 100 × (positive share − negative
    share), i.e. 0 (all negative) … 100 (balanced) … 200 (all positive), read like a confidence index."""
    s = scores.dropna(subset=["ts"]).assign(period=lambda d: period_start(d.ts, freq),
                                            pos=lambda d: d.p_positive >= 0.5)
    both = pd.concat([s, s.assign(category="all")])
    g = both.groupby(["period", "category"])
    out = pd.DataFrame({"reviews": g.size(), "positive_share": g.pos.mean()}).reset_index()
    out["index"] = 100.0 + 100.0 * (2 * out.positive_share - 1.0)
    return out


def scored_reviews(store: Store) -> pd.DataFrame | None:
    """The voice stage's review scores with each review's date (category, p_positive, ts); None before it ran."""
    if not store.has_table("review_scores"):
        return None
    return store.query("SELECT s.category, s.p_positive, r.ts FROM review_scores s JOIN reviews r "
                       "ON r.tenant = s.tenant AND r.review_id = s.review_id WHERE s.tenant = $tenant")


def _sentiment(source, reviews: pd.DataFrame | None, freq: str, notes: list[str]) -> pd.DataFrame:
    if reviews is None and hasattr(source, "has_table"):
        reviews = scored_reviews(source)
    if reviews is None or reviews.empty:
        notes.append("no scored reviews: run the voice stage for the sentiment index")
        return pd.DataFrame(columns=["period", "category", "reviews", "positive_share", "index"])
    if reviews["ts"].isna().all():
        notes.append("reviews carry no dates: the sentiment index needs a review date column (ts)")
        return pd.DataFrame(columns=["period", "category", "reviews", "positive_share", "index"])
    return sentiment_index(reviews, freq)


def _forecast(lines: pd.DataFrame, freq: str, horizon: int) -> pd.DataFrame:
    """Next periods of the total metrics, from weekly forecasts of :mod:`supplyfit.demand` (summed into months
    for 'M'; monthly bands are the sums of the weekly quantiles, so they are wide on purpose, and distinct
    customers are not forecast per month because weekly counts do not add up to monthly ones)."""
    from ..demand import Forecaster

    weekly = _aggregate(lines.assign(period=period_start(lines.ts, "W")), ["period"])
    full = pd.date_range(weekly.period.min(), weekly.period.max(), freq=FREQ)
    weekly = weekly.set_index("period").reindex(full, fill_value=0).rename_axis("period").reset_index()
    weekly = weekly[complete(weekly.period, "W", lines.ts.max())]  # a partial last week would read as a collapse
    if len(weekly) < 8:
        return pd.DataFrame(columns=["metric", "period", "yhat", "yhat_q10", "yhat_q90"])
    long = weekly.melt(id_vars="period", value_vars=METRICS, var_name="unique_id", value_name="y")
    steps = horizon if freq == "W" else (horizon + 1) * 5 + 1
    fc = Forecaster(h=steps, model="ses").fit(long.rename(columns={"period": "ds"})).predict()
    fc = fc.rename(columns={"unique_id": "metric", "ds": "period"})[["metric", "period", "yhat", "yhat_q10",
                                                                      "yhat_q90"]]
    if freq == "M":
        fc["period"] = period_start(fc.period, "M")
        fc = fc[fc.metric != "customers"].groupby(["metric", "period"], as_index=False).sum()
        fc = fc[fc.period.isin(sorted(fc.period.unique())[1:horizon + 1])]  # first month is partly history
    return fc.reset_index(drop=True)
