"""Demand sensing: the current business week so far against the stored forecast, per SKU and per category.

"Now" is business time: the latest order time the tenant has sent, not the wall clock, so a replayed or
delayed stream reads the same. The week is the forecasts' week (starting Monday). The forecast's expectation
so far is its weekly mean prorated by the elapsed fraction ``f`` of the week; the spread so far is the weekly
spread implied by the 80% band (q10..q90, as a normal's +-1.2816 sd) scaled by sqrt(f), floored by a Poisson
sd (sqrt of the expectation) so that a narrow band on a small series does not make every sale a surprise.
``score`` is the z-score of the units so far; ``p_tail`` its one-sided tail probability.
Computed on read from the stored orders and forecasts: nothing is refitted.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import special

from ..store.cancellations import cancelled_sql, taken_sql

Z80 = 1.2815515655446004  # the 90% quantile of a standard normal: q10..q90 spans 2 * Z80 sd

# the business clock first, on its own: given to the week's query as values, its time filter skips the orders'
# older row groups (joined from a CTE, it scanned them all: 40% of the query on a year of a shop's orders)
_CLOCK = "SELECT max(ts) AS now, date_trunc('week', max(ts)) AS week FROM orders WHERE tenant = ?"
# the week so far's product lines, as a CTE named product ($tenant, $week, $now): the sensing and a re-order's buyers
WEEK_LINES = """product AS (
    SELECT sku, customer_id, quantity, unit_price, ts, is_return, category FROM orders
    WHERE tenant = $tenant AND ts >= $week::TIMESTAMP AND ts <= $now::TIMESTAMP AND is_product)"""
_SQL = f"""
WITH clock AS (SELECT $now::TIMESTAMP AS now, $week::TIMESTAMP AS week),
frac AS (
    SELECT now, week, greatest(least(epoch(now - week) / 604800.0, 1.0), 1e-4) AS f FROM clock),
{WEEK_LINES},
sold_lines AS (SELECT * FROM product WHERE NOT is_return AND quantity > 0),
lines AS (
    SELECT o.sku, coalesce(o.category, p.category) AS category, o.sign * o.quantity AS quantity,
           o.sign * o.quantity * o.unit_price AS revenue
    FROM (SELECT sku, category, quantity, unit_price, 1 AS sign FROM sold_lines
          UNION ALL SELECT sku, category, quantity, unit_price, -1 AS sign
          FROM ({taken_sql("sold_lines", "{cancelled}", ("sku", "quantity", "unit_price", "category"))})) o
    LEFT JOIN products p ON p.tenant = $tenant AND p.sku = o.sku),
sold AS (
    SELECT {{key}} AS unique_id, sum(quantity) AS units, sum(revenue) AS revenue FROM lines GROUP BY 1),
fc AS (
    SELECT unique_id, yhat, yhat_q10, yhat_q90 FROM forecasts, frac
    WHERE tenant = $tenant AND level = $level AND ds = frac.week)
SELECT * FROM (
SELECT coalesce(sold.unique_id, fc.unique_id) AS unique_id, {{category}} AS category, coalesce(units, 0) AS units,
       coalesce(revenue, 0) AS revenue, yhat * f AS expected, yhat AS forecast_week, yhat_q10, yhat_q90,
       f AS elapsed, week, now
FROM sold FULL JOIN fc USING (unique_id), frac)
ORDER BY unique_id
"""
# A sale of the week that a return of the week cancels is not demand, as in the panel the forecast was fitted on
# (:mod:`supplyfit.store.cancellations`). The week's lines suffice: a sale is cancelled by a later return within a
# day, and a return whose latest earlier sale falls before the week cancels nothing of this week. The week's
# cancellations are found once (both levels use them) and the week sums every sale less those taken out: within one
# statement DuckDB took the few cancelled keys for the big side of the join (a week of a million lines: 225 ms a
# level, 40 ms of it finding the cancellations).
_CANCELLED = f"WITH {WEEK_LINES} SELECT * FROM ({cancelled_sql('product')})"


def clock(con: duckdb.DuckDBPyConnection, tenant: str, since: Any = None) -> tuple[Any, Any]:
    """The business clock: the tenant's latest order time and its week (Monday), (None, None) without orders.

    ``since``, an earlier reading of the clock, lets the scan skip the row groups of older orders (a full scan
    of a year of a shop's orders was 10 ms of each week so far); the clock only moves back when orders are
    removed, and then no order is at or after ``since`` and the whole table is read."""
    if since is not None:
        found = con.execute(_CLOCK + " AND ts >= ?", [tenant, since]).fetchone()
        if found is not None and found[0] is not None:
            return found
    return con.execute(_CLOCK, [tenant]).fetchone() or (None, None)


def cancellations(con: duckdb.DuckDBPyConnection, tenant: str, now: tuple[Any, Any]) -> pa.Table:
    """The sales of the week so far that its returns cancel (:func:`~supplyfit.store.cancellations.cancelled_sql`:
    customer_id, sku, quantity, ts, n), for :func:`live`; ``now``: the :func:`clock`."""
    params = {"tenant": tenant, "now": now[0], "week": now[1]}
    result = con.execute(_CANCELLED, params)
    return (getattr(result, "to_arrow_table", None) or result.fetch_arrow_table)()  # renamed in DuckDB 1.5


def live(
    con: duckdb.DuckDBPyConnection,
    tenant: str,
    level: str = "sku",
    now: tuple[Any, Any] | None = None,
    cancelled: pa.Table | None = None,
) -> pd.DataFrame:
    """The week so far per SKU (``level='sku'``) or category: unique_id (a category as 'category/NAME', as in
    the forecasts), category, units, revenue, expected, forecast_week, elapsed, score, p_tail, week, now.
    Without a ``forecasts`` table, expected and score are null. ``now``: the :func:`clock`, and ``cancelled``:
    the week's :func:`cancellations`, if read already."""
    uid = "coalesce(sold.unique_id, fc.unique_id)"
    if level == "sku":
        key, cat = "sku", f"(SELECT p.category FROM products p WHERE p.tenant = $tenant AND p.sku = {uid})"
    else:
        key, cat = "'category/' || coalesce(category, 'unknown')", f"substr({uid}, 10)"
    now = now or clock(con, tenant)
    params: dict[str, Any] = {"tenant": tenant, "level": level, "now": now[0], "week": now[1]}
    relation = f"_week_cancelled_{secrets.token_hex(4)}"  # this call's own, whoever else reads the week
    con.register(relation, cancellations(con, tenant, now) if cancelled is None else cancelled)
    sql = _SQL.format(key=key, category=cat, cancelled=relation)
    try:
        df = con.execute(sql, params).df()
    except duckdb.CatalogException:  # no forecasts yet: actuals only
        sql = sql.replace(
            "FROM forecasts, frac",
            "FROM (SELECT NULL::VARCHAR AS unique_id, NULL::DOUBLE AS yhat, "
            "NULL::DOUBLE AS yhat_q10, NULL::DOUBLE AS yhat_q90, NULL AS tenant, NULL AS level, "
            "NULL::TIMESTAMP AS ds), frac",
        )
        df = con.execute(sql, params).df()
    finally:
        con.unregister(relation)
    return scored(df)


def scored(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``score`` and ``p_tail`` to a week-so-far frame (units, expected, yhat_q10, yhat_q90, elapsed) and
    drop the band: what :func:`live` does after its query, and what Spark's sensing does after its aggregation.
    ``score`` is the z-score of the units so far under the prorated forecast distribution (see the module
    docstring), null without a forecast."""
    units, expected, q10, q90, f = (
        pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for c in ("units", "expected", "yhat_q10", "yhat_q90", "elapsed")
    )
    spread = np.where(np.isnan(q10) | np.isnan(q90), 0.0, np.maximum(q90 - q10, 0.0) / (2 * Z80))
    with np.errstate(invalid="ignore"):
        sd = np.maximum(spread * np.sqrt(f), np.sqrt(np.maximum(expected, 1.0)))
        df["score"] = np.round((units - expected) / sd, 4)
    df["p_tail"] = 0.5 * special.erfc(np.abs(df["score"].to_numpy()) / math.sqrt(2))
    return df.drop(columns=["yhat_q10", "yhat_q90"])


def elapsed(now: pd.Timestamp) -> tuple[pd.Timestamp, float]:
    """The business week (Monday) of ``now`` and the fraction of it elapsed, as :func:`live`'s SQL computes them."""
    week = now.normalize() - pd.Timedelta(days=now.weekday())
    return week, min(max((now - week).total_seconds() / 604800.0, 1e-4), 1.0)


@dataclass(frozen=True)
class Week:
    """The week so far at both levels (frames of :func:`live`)."""

    skus: pd.DataFrame
    categories: pd.DataFrame


def week(con: duckdb.DuckDBPyConnection, tenant: str, since: Any = None) -> Week:
    """The week so far at both levels, on one reading of the clock (``since``: see :func:`clock`)."""
    now = clock(con, tenant, since)
    cancelled = cancellations(con, tenant, now)
    return Week(live(con, tenant, "sku", now, cancelled), live(con, tenant, "category", now, cancelled))


def answer(w: Week, sku: str | None = None, category: str | None = None) -> bytes:
    """The body of ``GET /live``: {now, week, elapsed, skus: [...], categories: [...]}, the rows kept to one
    SKU and/or category (no categories with ``sku``)."""
    skus, cats = w.skus, w.categories
    if sku is not None:
        skus, cats = skus[skus["unique_id"] == sku], cats.iloc[:0]
    if category is not None:
        skus, cats = skus[skus["category"] == category], cats[cats["category"] == category]
    head = w.skus if len(w.skus) else w.categories
    clock: dict[str, Any] = {"now": None, "week": None, "elapsed": None}
    if len(head):
        clock = {
            "now": head["now"].iloc[0].isoformat(),
            "week": f"{head['week'].iloc[0]:%Y-%m-%d}",
            "elapsed": round(float(head["elapsed"].iloc[0]), 6),
        }
    drop = ["now", "week", "elapsed"]
    rows = skus.drop(columns=drop).rename(columns={"unique_id": "sku"})
    cats = cats.drop(columns=[*drop, "unique_id"])
    return json.dumps(clock)[:-1].encode() + b', "skus": ' + _json(rows) + b', "categories": ' + _json(cats) + b"}"


def _json(df: pd.DataFrame) -> bytes:
    return df.to_json(orient="records", date_format="iso", force_ascii=False).encode()
