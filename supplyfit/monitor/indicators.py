"""Consumption indicators: scale, growth and structure of what consumers buy, per week or month.

Everything is computed from order lines (the store's ``sales()`` or a DataFrame of the same columns) so the
numbers in the report, the API and a user's notebook are the same numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from ..demand.panel import FREQ, wall_times, week_start
from ..store.cancellations import both_sides_sql, kept_sql, net_sql

if TYPE_CHECKING:
    from ..store import Store

SEASON = {"W": 52, "M": 12}  # periods in a year
UNIT = {"W": "week", "M": "month"}  # DuckDB date_trunc unit of each frequency
PERIOD = {"W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1)}
METRICS = ["revenue", "units", "orders", "customers"]
DIMENSIONS = ("category", "region", "channel")
IDS = ("order_id", "sku", "customer_id")  # counted and grouped, never shown
LINE_COLUMNS = (*IDS, *DIMENSIONS, "quantity", "unit_price", "revenue", "ts", "period", "is_return")
PRICE_BANDS = (0, 1, 2, 5, 10, 20, np.inf)
BATCH_LINES = 2_000_000  # lines aggregated at a time (whole periods) by the metrics with distinct counts


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
        names = [
            "totals",
            "by_dimension",
            "contribution",
            "concentration",
            "price_bands",
            "customers",
            "sentiment",
            "forecast",
        ]
        return {n: getattr(self, n).assign(freq=self.freq) for n in names}


def period_start(ts: pd.Series, freq: str) -> pd.Series:
    """Start of each timestamp's period: Monday of the week ('W') or first day of the month ('M')."""
    if freq == "W":
        return week_start(ts)
    return pd.to_datetime(ts).dt.to_period("M").dt.to_timestamp()


def complete(periods: pd.Series, freq: str, last: pd.Timestamp) -> pd.Series:
    """Whether each period (given by its start) ends on or before the day of the last data, ``last``."""
    return periods + PERIOD[freq] - pd.Timedelta(days=1) <= last.normalize()


AGGREGATE = """
    coalesce(sum(revenue), 0) AS revenue,
    coalesce(sum(quantity) FILTER (WHERE NOT is_return), 0) AS units,
    count(DISTINCT order_id) FILTER (WHERE NOT is_return) AS orders,
    count(DISTINCT customer_id) FILTER (WHERE NOT is_return) AS customers,
    coalesce(abs(sum(quantity) FILTER (WHERE is_return)), 0) AS returned_units,
    sum(revenue) FILTER (WHERE NOT is_return) / nullif(orders, 0) AS avg_basket,
    returned_units / nullif(units, 0) AS return_rate"""  # revenue is net of returns; the rest counts sales


def _batches(con: duckdb.DuckDBPyConnection) -> list[pd.Timestamp]:
    """Starts of consecutive runs of periods of about :data:`BATCH_LINES` lines (a run holds at least one period)."""
    counts = con.execute("SELECT period, count(*) AS n FROM lines GROUP BY period ORDER BY period").df()
    run = (counts.n.cumsum() - counts.n) // BATCH_LINES
    return [pd.Timestamp(p) for p in counts.period[run.ne(run.shift())]]


def _in_batches(con: duckdb.DuckDBPyConnection, sql: str, period: str, starts: list[pd.Timestamp]) -> pd.DataFrame:
    """``sql`` (with a ``{batch}`` condition in its WHERE) run once per run of periods (:func:`_batches`), the
    condition bounding the expression ``period``; results concatenated in period order.

    Every metric here is per period, so each run's result is the whole result for its periods, and a distinct
    count's hash table holds one run's orders instead of every order (1.5 GB at 200k SKUs)."""
    bounds = [f"TIMESTAMP '{t}'" for t in starts[1:]]
    conditions = [
        " AND ".join(([f"{period} >= {lo}"] if lo else []) + ([f"{period} < {hi}"] if hi else [])) or "true"
        for lo, hi in zip([None, *bounds], [*bounds, None], strict=True)
    ]
    return pd.concat([_fetch(con, sql.format(batch=c)) for c in conditions], ignore_index=True)


def _aggregate(
    con: duckdb.DuckDBPyConnection, keys: dict[str, str], starts: list[pd.Timestamp], where: str = "true"
) -> pd.DataFrame:
    """:data:`AGGREGATE`'s metrics of the lines per group of ``keys`` (output name: SQL expression; one of them
    ``period``), ordered by the keys; computed run by run of periods (``starts``, :func:`_batches`)."""
    select = ", ".join(f"{expr} AS {name}" for name, expr in keys.items())
    sql = f"SELECT {select}, {AGGREGATE} FROM lines WHERE {where} AND {{batch}} GROUP BY ALL"
    return _in_batches(con, sql, keys["period"], starts).sort_values(list(keys), ignore_index=True)


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A query's result with its ``period`` in nanoseconds, the unit the pandas side and the store declare."""
    out = con.execute(sql).df()
    if "period" in out.columns:
        out["period"] = out["period"].astype("datetime64[ns]")
    return out


def _growth(frame: pd.DataFrame, keys: list[str], season: int, freq: str, last: pd.Timestamp) -> pd.DataFrame:
    """Adds ``<metric>_pop`` (vs previous period) and ``<metric>_yoy`` (vs the same period a year before); none
    for a period the data end within (``last``): its days so far against a whole period read as a collapse (9
    days of a December at -63% against November, where the same days were up a third)."""
    frame = frame.sort_values(keys + ["period"])
    partial = ~complete(frame["period"], freq, last).to_numpy()
    step = pd.DateOffset(weeks=season) if freq == "W" else pd.DateOffset(months=season)
    for offset, suffix in ((PERIOD[freq], "pop"), (step, "yoy")):
        base = frame[keys + ["period"] + METRICS].copy()
        base["period"] = base["period"] + offset
        merged = frame[keys + ["period"]].merge(base, on=keys + ["period"], how="left")
        for m in METRICS:
            before = merged[m].to_numpy(float)
            ratio = np.divide(frame[m].to_numpy(float), before, out=np.full(len(before), np.nan), where=before > 0)
            frame[f"{m}_{suffix}"] = np.where(partial, np.nan, ratio - 1.0)
    return frame.reset_index(drop=True)


def _connect(source: Store | pd.DataFrame, freq: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose ``lines`` are the product lines (returns kept): order_id, sku and customer_id
    (:data:`IDS`), the :data:`DIMENSIONS` as text (NULL when the orders lack them), quantity, unit_price, revenue,
    ts, ``period`` (its start, per ``freq``) and ``is_return`` (negative quantity or flagged). An order cancelled
    within a day (:mod:`supplyfit.store.cancellations`) is left out with the return that cancelled it: neither
    a sale nor a return. Every indicator is then one SQL aggregate over them, on all cores, without pandas'
    per-group copies."""
    if isinstance(source, pd.DataFrame):
        return _frame_lines(source, freq)
    return _store_lines(source, freq)


def _store_lines(store: Store, freq: str) -> duckdb.DuckDBPyConnection:
    """``lines`` as a view over the store's orders (on a connection of its own, so the view stays private): each
    aggregate scans the stored columns it needs, and no order line is copied into Python (at 200k SKUs the
    copy took 8 GB)."""
    con = store.con.cursor()
    tenant = store.tenant.replace("'", "''")
    con.execute(f"""CREATE TEMP VIEW recorded AS SELECT o.order_id, o.sku, o.customer_id,
        coalesce(o.category, p.category)::VARCHAR AS category, o.region::VARCHAR AS region,
        o.channel::VARCHAR AS channel, o.quantity::DOUBLE AS quantity, o.unit_price::DOUBLE AS unit_price,
        o.quantity * o.unit_price AS revenue, o.ts::TIMESTAMP AS ts,
        date_trunc('{UNIT[freq]}', o.ts::TIMESTAMP) AS period, (o.quantity < 0 OR o.is_return) AS is_return
        FROM orders o LEFT JOIN products p ON p.tenant = o.tenant AND p.sku = o.sku
        WHERE o.tenant = '{tenant}' AND o.is_product""")
    con.execute(f"CREATE TEMP TABLE cancelled AS {both_sides_sql('recorded')}")
    # the few lines of cancelled keys that stay, found once: each aggregate then scans the orders once
    con.execute(f"CREATE TEMP TABLE kept AS {kept_sql('recorded', 'cancelled', LINE_COLUMNS)}")
    con.execute(f"CREATE TEMP VIEW lines AS {net_sql('recorded', 'cancelled', LINE_COLUMNS, kept='kept')}")
    return con


def _frame_lines(df: pd.DataFrame, freq: str) -> duckdb.DuckDBPyConnection:
    """``lines`` of an order-lines frame, copied once into an in-memory DuckDB table; identifiers are only counted
    and grouped, so integer codes serve: distinct counts over integers, not millions of strings copied and hashed
    per query. Non-product lines (``is_product`` false) are dropped; returns are also those flagged ``is_return``."""
    ts = wall_times(df["ts"])  # as period_start counts it
    cols = set(df.columns)
    keep = [c for c in (*DIMENSIONS, "quantity", "unit_price", "is_return", "is_product") if c in cols]
    src = pd.DataFrame({**{c: pd.factorize(df[c])[0] for c in IDS if c in cols}, **{c: df[c] for c in keep}, "ts": ts})
    ids = [f"nullif({c}, -1) AS {c}" if c in cols else f"NULL::BIGINT AS {c}" for c in IDS]
    dims = [f"{c}::VARCHAR AS {c}" if c in cols else f"NULL::VARCHAR AS {c}" for c in DIMENSIONS]
    flagged = " OR coalesce(is_return::BOOLEAN, false)" if "is_return" in cols else ""
    product = "coalesce(is_product::BOOLEAN, true)" if "is_product" in cols else "true"
    con = duckdb.connect()
    con.register("src", src)
    con.execute(f"""CREATE TABLE recorded AS SELECT {", ".join(ids + dims)},
        quantity::DOUBLE AS quantity, unit_price::DOUBLE AS unit_price, quantity * unit_price AS revenue,
        ts::TIMESTAMP AS ts, date_trunc('{UNIT[freq]}', ts::TIMESTAMP) AS period, (quantity < 0{flagged}) AS is_return
        FROM src WHERE {product}""")
    con.unregister("src")
    con.execute(f"CREATE TEMP TABLE cancelled AS {both_sides_sql('recorded')}")
    con.execute(f"CREATE TABLE lines AS {net_sql('recorded', 'cancelled', LINE_COLUMNS)}")
    con.execute("DROP TABLE recorded")
    return con


def indicators(
    source: Store | pd.DataFrame,
    freq: str = "W",
    horizon: int | None = None,
    reviews: pd.DataFrame | None = None,
    forecast: bool = True,
    store: Store | None = None,
) -> Indicators:
    """Indicators of consumption from order lines, per period (``freq`` 'W' or 'M').

    ``source``: a Store or order lines (sku, quantity, unit_price, ts, order_id; optional customer_id,
    category, region, channel, is_return). ``reviews`` with ts, category and p_positive (the voice module's
    scores) give the sentiment index; from a Store they are read from ``review_scores``. ``forecast`` adds the
    next ``horizon`` periods of revenue, units, orders and customers from :mod:`supplyfit.demand`; revenue from the
    stored SKU forecasts x expected prices of ``store`` (``source`` itself when it is a Store) when it has them.
    """
    if freq not in SEASON:
        raise ValueError(f"freq must be 'W' or 'M', not {freq!r}")
    con = _connect(source, freq)
    try:
        if store is None and not isinstance(source, pd.DataFrame):
            store = source
        return _indicators(con, source, freq, horizon, reviews, forecast, store)
    finally:
        con.close()


def _indicators(
    con: duckdb.DuckDBPyConnection,
    source: Store | pd.DataFrame,
    freq: str,
    horizon: int | None,
    reviews: pd.DataFrame | None,
    forecast: bool,
    priced: Store | None = None,
) -> Indicators:
    season = SEASON[freq]
    notes: list[str] = []
    ((n, last),) = con.execute("SELECT count(*), max(ts) FROM lines").fetchall()
    if not n:
        raise ValueError("no product order lines to compute indicators from")
    last = pd.Timestamp(last)
    starts = _batches(con)
    per_period = _aggregate(con, {"period": "period"}, starts)
    totals = _growth(per_period, [], season, freq, last)
    totals["complete"] = complete(totals.period, freq, last)
    if not totals.complete.iloc[-1]:
        notes.append(
            f"the last {UNIT[freq]} (from {totals.period.iloc[-1]:%Y-%m-%d}) is incomplete: data end {last:%Y-%m-%d}"
        )
    dims = []
    for d in DIMENSIONS:  # a dimension without data still gives its (empty) columns: tables keep one shape
        known = con.execute(f"SELECT count({d}) > 0 FROM lines").fetchall()[0][0]
        if not known:
            notes.append(f"no {d} column in the orders: no breakdown by {d}")
        part = _growth(
            _aggregate(con, {"value": f"coalesce({d}, 'unknown')", "period": "period"}, starts, str(known)),
            ["value"],
            season,
            freq,
            last,
        )
        part["share"] = part.revenue / part.groupby("period").revenue.transform("sum")
        dims.append(part.assign(dimension=d))
    by_dim = pd.concat([p for p in dims if len(p)] or dims[:1], ignore_index=True)
    ind = Indicators(
        freq,
        totals,
        by_dim,
        _contribution(con),
        _concentration(con, starts),
        _price_bands(con),
        _new_returning(con),
        _sentiment(source, reviews, freq, notes),
        notes=notes,
    )
    if forecast:
        weekly = per_period if freq == "W" else _aggregate(con, {"period": "date_trunc('week', ts)"}, starts)
        units = None if priced is None else _priced_units(priced)
        ind.forecast = _forecast(weekly, last, freq, horizon or (8 if freq == "W" else 3), units)
    return ind


def _priced_units(store: Store) -> pd.DataFrame | None:
    """The stored weekly revenue the demand stage's units imply: per week, the total's forecast units x the
    average expected price of the SKUs' forecast mix (the sum over SKUs of forecast units x the SKU's expected
    price, its average over its last 13 weeks of sales, else over all its sales, over their units), with the 80%
    band of the total's units scaled alike. The total's units, not the SKUs' sum: past 65 weeks of history the
    default forecasts the total better than that sum (:meth:`~supplyfit.demand.Forecaster.predict_hierarchy`).
    None without stored forecasts."""
    if not store.has_result("forecasts"):
        return None
    return store.query("""
        WITH last AS (SELECT max(ts) AS t FROM orders WHERE tenant = $tenant),
        price AS (
            SELECT sku, coalesce(sum(quantity * unit_price) FILTER (WHERE ts > (SELECT t FROM last) - INTERVAL 91 DAY)
                                 / nullif(sum(quantity) FILTER (WHERE ts > (SELECT t FROM last) - INTERVAL 91 DAY), 0),
                                 sum(quantity * unit_price) / nullif(sum(quantity), 0)) AS price
            FROM orders WHERE tenant = $tenant AND is_product AND NOT is_return AND quantity > 0 GROUP BY sku),
        sku AS (
            SELECT f.ds, sum(f.yhat * p.price) AS revenue, sum(f.yhat) AS units
            FROM forecasts f JOIN price p ON p.sku = f.unique_id
            WHERE f.tenant = $tenant AND f.level = 'sku' GROUP BY f.ds),
        total AS (SELECT ds, yhat, yhat_q10, yhat_q90 FROM forecasts WHERE tenant = $tenant AND level = 'total')
        SELECT sku.ds AS period, coalesce(sku.revenue * total.yhat / nullif(sku.units, 0), 0) AS yhat,
               coalesce(sku.revenue * total.yhat_q10 / nullif(sku.units, 0), 0) AS yhat_q10,
               coalesce(sku.revenue * total.yhat_q90 / nullif(sku.units, 0), 0) AS yhat_q90
        FROM sku JOIN total USING (ds) ORDER BY 1""")


def _contribution(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each category's revenue change and its share of the total's change (percentage points of growth)."""
    sums = _fetch(
        con, "SELECT period, coalesce(category, 'unknown') AS category, sum(revenue) AS revenue FROM lines GROUP BY ALL"
    )
    cat = sums.pivot_table(index="period", columns="category", values="revenue", aggfunc="sum").fillna(0.0)
    change = cat.diff()
    total_before = cat.sum(axis=1).shift()
    contrib = change.div(total_before.where(total_before > 0), axis=0)
    out = pd.DataFrame({"revenue_change": change.stack(), "contribution": contrib.stack()}).reset_index()
    return out.dropna(subset=["contribution"])


def _concentration(con: duckdb.DuckDBPyConnection, starts: list[pd.Timestamp]) -> pd.DataFrame:
    """Per period: the top 10 SKUs' share of revenue, the Herfindahl index of SKU shares (0-10,000), SKUs sold;
    run by run of periods (``starts``): the (period, SKU) sums of one run at a time."""
    return _in_batches(
        con,
        """
        WITH sku AS (SELECT period, greatest(sum(revenue), 0) AS revenue FROM lines WHERE sku IS NOT NULL
                     AND {batch} GROUP BY period, sku),
        share AS (SELECT period, revenue / sum(revenue) OVER (PARTITION BY period) AS share,
                         row_number() OVER (PARTITION BY period ORDER BY revenue DESC) AS rank FROM sku)
        SELECT period, coalesce(sum(share) FILTER (WHERE rank <= 10), 0) AS top10_share,
               coalesce(sum(share * share), 0) * 10000 AS hhi, count(*) AS skus
        FROM share GROUP BY period ORDER BY period""",
        "period",
        starts,
    )


def _price_bands(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Revenue, units and revenue share of each unit-price band (:data:`PRICE_BANDS`, lower bound included) per
    period; every band in every period, empty ones at zero. (``sold`` is read twice: NOT MATERIALIZED keeps
    DuckDB from copying every sale line for its readers; likewise in :func:`_new_returning`.)"""
    labels = [f"{lo:g}–{hi:g}" if np.isfinite(hi) else f"{lo:g}+" for lo, hi in itertools.pairwise(PRICE_BANDS)]
    band = " ".join(f"WHEN unit_price < {hi:g} THEN {i}" for i, hi in enumerate(PRICE_BANDS[1:-1]))
    out = _fetch(
        con,
        f"""
        WITH sold AS NOT MATERIALIZED (SELECT period, unit_price, revenue, quantity FROM lines WHERE NOT is_return),
        sums AS (SELECT period, CASE {band} ELSE {len(labels) - 1} END AS band, sum(revenue) AS revenue,
                        sum(quantity) AS units FROM sold WHERE unit_price >= 0 GROUP BY ALL)
        SELECT p.period, b.band, coalesce(s.revenue, 0) AS revenue, coalesce(s.units, 0) AS units
        FROM (SELECT DISTINCT period FROM sold) p CROSS JOIN range({len(labels)}) b(band)
        LEFT JOIN sums s ON s.period = p.period AND s.band = b.band ORDER BY p.period, b.band""",
    )
    out["share"] = out.revenue / out.groupby("period").revenue.transform("sum")
    out["band"] = np.array(labels)[out["band"].to_numpy(int)]
    return out


def _new_returning(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per period, customers buying for the first time and those who bought before, and the revenue of each (each
    customer's first period from one aggregate per customer, not a window over every line)."""
    return _fetch(
        con,
        """
        WITH sold AS NOT MATERIALIZED (
            SELECT period, customer_id, revenue FROM lines WHERE NOT is_return AND customer_id IS NOT NULL),
        first AS (SELECT customer_id, min(period) AS first FROM sold GROUP BY customer_id),
        s AS (SELECT sold.*, sold.period = first.first AS new FROM sold JOIN first USING (customer_id))
        SELECT period, count(DISTINCT customer_id) FILTER (WHERE new) AS new_customers,
               count(DISTINCT customer_id) FILTER (WHERE NOT new) AS returning_customers,
               coalesce(sum(revenue) FILTER (WHERE new), 0) AS new_revenue,
               coalesce(sum(revenue) FILTER (WHERE NOT new), 0) AS returning_revenue
        FROM s GROUP BY period ORDER BY period""",
    )


def sentiment_index(scores: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Consumer-sentiment index per period and category (and 'all'): 100 + 100 × (positive share − negative
    share), i.e. 0 (all negative) … 100 (balanced) … 200 (all positive), read like a confidence index."""
    s = scores.dropna(subset=["ts"]).assign(
        period=lambda d: period_start(d.ts, freq), pos=lambda d: d.p_positive >= 0.5
    )
    both = pd.concat([s, s.assign(category="all")])
    g = both.groupby(["period", "category"])
    out = pd.DataFrame({"reviews": g.size(), "positive_share": g.pos.mean()}).reset_index()
    out["index"] = 100.0 + 100.0 * (2 * out.positive_share - 1.0)
    return out


def scored_reviews(store: Store) -> pd.DataFrame | None:
    """The voice stage's review scores with each review's date (category, p_positive, ts); None before it ran."""
    if not store.has_table("review_scores"):
        return None
    return store.query(
        "SELECT s.category, s.p_positive, r.ts FROM review_scores s JOIN reviews r "
        "ON r.tenant = s.tenant AND r.review_id = s.review_id WHERE s.tenant = $tenant"
    )


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


def _forecast(
    weekly: pd.DataFrame, last: pd.Timestamp, freq: str, horizon: int, priced: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Next periods of the total metrics, from weekly forecasts of :mod:`supplyfit.demand` (summed into months
    for 'M'; monthly bands are the sums of the weekly quantiles, so they are wide on purpose, and distinct
    customers are not forecast per month because weekly counts do not add up to monthly ones). ``weekly``: the
    metrics per week, ``last``: the time of the last line. Revenue comes from ``priced`` (the stored SKU
    forecasts x expected prices, :func:`_priced_units`) for the weeks it covers, so it has the units' season and
    mix; a revenue series of its own (smoothing) only serves the weeks beyond them."""
    from ..demand import Forecaster

    full = pd.date_range(weekly.period.min(), weekly.period.max(), freq=FREQ)
    weekly = weekly.set_index("period").reindex(full, fill_value=0).rename_axis("period").reset_index()
    weekly = weekly[complete(weekly.period, "W", last)]  # a partial last week would read as a collapse
    if len(weekly) < 8:
        return pd.DataFrame(columns=["metric", "period", "yhat", "yhat_q10", "yhat_q90"])
    long = weekly.melt(id_vars="period", value_vars=METRICS, var_name="unique_id", value_name="y")
    steps = horizon if freq == "W" else (horizon + 1) * 5 + 1
    fc = Forecaster(h=steps, model="ses").fit(long.rename(columns={"period": "ds"})).predict()
    fc = fc.rename(columns={"unique_id": "metric", "ds": "period"})[
        ["metric", "period", "yhat", "yhat_q10", "yhat_q90"]
    ]
    if priced is not None and len(priced):
        cols = ["yhat", "yhat_q10", "yhat_q90"]
        own = fc.metric == "revenue"
        by_week = pd.DataFrame(priced).assign(period=lambda d: pd.to_datetime(d.period)).set_index("period")
        hit = own & fc.period.isin(by_week.index)
        fc.loc[hit, cols] = by_week.loc[fc.period[hit], cols].to_numpy()
    if freq == "M":
        fc["period"] = period_start(fc.period, "M")
        fc = fc[fc.metric != "customers"].groupby(["metric", "period"], as_index=False).sum()
        fc = fc[fc.period.isin(sorted(fc.period.unique())[1 : horizon + 1])]  # first month is partly history
    return fc.reset_index(drop=True)
