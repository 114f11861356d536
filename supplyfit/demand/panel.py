"""Weekly demand panels in the long ``unique_id, ds, y`` shape, and their wide (series × week) form."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..store.cancellations import cancelled_sql, cancelled_totals_sql, net_sql

if TYPE_CHECKING:
    from ..store import Store

FREQ = "W-MON"


def week_start(ts: pd.Series) -> pd.Series:
    """Monday 00:00 of each timestamp's week."""
    ts = pd.to_datetime(ts)
    return (ts - pd.to_timedelta(ts.dt.weekday, unit="D")).dt.normalize()


def wall_times(ts: pd.Series) -> pd.Series:
    """Timestamps as naive local wall time (those with a time zone keep their clock reading): a week runs Monday
    to Sunday, a month from its first day, where the shop is."""
    ts = ts if pd.api.types.is_datetime64_any_dtype(ts) else pd.to_datetime(ts)
    return ts.dt.tz_localize(None) if isinstance(ts.dtype, pd.DatetimeTZDtype) else ts


def returns_mask(lines: pd.DataFrame) -> pd.Series:
    """Which lines are returns: flagged ``is_return`` or, with or without the flag, of negative quantity."""
    negative = lines["quantity"] < 0
    if "is_return" not in lines.columns:
        return negative
    return negative | lines["is_return"].isin([True])  # unflagged (None, NA): by its quantity


def product_lines(lines: pd.DataFrame, returns: bool = False) -> pd.DataFrame:
    """The product lines of ``lines`` (those flagged ``is_product`` false, such as postage and fees, dropped)
    and, unless ``returns``, only sales: no returns (:func:`returns_mask`) and a positive quantity.

    The one filter for "what was sold": panels, indicators, checks and baskets count the same lines."""
    keep = lines["is_product"].astype(bool) if "is_product" in lines.columns else pd.Series(True, lines.index)
    if not returns:
        keep &= ~returns_mask(lines) & (lines["quantity"] > 0)
    return lines[keep]


def demand_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The sales of ``lines`` (:func:`product_lines`) that are demand: less those cancelled by a return of the
    same customer, SKU and quantity within a day (:mod:`supplyfit.store.cancellations`). Without a
    ``customer_id`` column nothing can be matched and every sale counts."""
    sold = product_lines(lines)
    product = product_lines(lines, returns=True)
    if "customer_id" not in lines.columns or not returns_mask(product).any():
        return sold

    def narrow(frame: pd.DataFrame) -> pd.DataFrame:
        customer = frame["customer_id"]
        return pd.DataFrame(
            {
                "customer_id": customer.astype(str).where(customer.notna()).astype("string"),
                "sku": frame["sku"].astype(str),
                "quantity": frame["quantity"].astype(float),
                "ts": pd.to_datetime(frame["ts"]),
                "unit_price": frame["unit_price"].astype(float),
                "is_return": returns_mask(frame),
                "_i": np.arange(len(frame)),
            }
        )

    import duckdb
    import pyarrow as pa

    def arrow(frame: pd.DataFrame) -> pa.Table:
        """As an Arrow table: DuckDB's scans of pandas frames here stalled (no CPU) at a million lines."""
        return pa.Table.from_pandas(narrow(frame), preserve_index=False)

    with duckdb.connect() as con:
        con.register("lines", arrow(product))
        con.register("sold", arrow(sold))
        con.execute(f"CREATE TEMP TABLE cancelled AS {cancelled_sql('lines')}")
        keep = con.execute(net_sql("sold", "cancelled", ["_i"])).fetchnumpy()["_i"]
    return sold.iloc[np.sort(keep)]


def weekly_panel(orders: pd.DataFrame | Store, level: str = "sku", complete_weeks: bool = True) -> pd.DataFrame:
    """Units sold per series and week (Monday), zero-filled from each series' first sale to the panel's end.

    ``orders`` is a DataFrame of order lines (sku, quantity, unit_price, ts, and optionally is_return,
    is_product, category, customer_id) or a Store. Returns, cancelled sales (:func:`demand_lines`) and non-product
    lines are dropped. ``level`` is the column that names a series ('sku', 'category', or any column of
    ``orders``; 'total' for one series).
    Extra columns: ``revenue`` and ``price`` (average unit price, forward-filled) and ``category`` when known.
    The last week is dropped when the data stop before its Sunday (``complete_weeks``).
    """
    if hasattr(orders, "sales") and level == "sku":
        return _store_panel(orders, complete_weeks)
    df = demand_lines(orders.sales() if hasattr(orders, "sales") else orders)
    if df.empty:
        return _empty_panel()
    ts = wall_times(df["ts"])
    key = pd.Series("total", index=df.index) if level == "total" else df[level].astype(str)
    frame = pd.DataFrame(
        {
            "unique_id": key.values,
            "ds": week_start(ts).values,
            "y": df["quantity"].astype(float).values,
            "revenue": (df["quantity"] * df["unit_price"]).astype(float).values,
        }
    )
    weekly = frame.groupby(["unique_id", "ds"], as_index=False)[["y", "revenue"]].sum()
    last = last_complete_week(ts.max(), weekly["ds"].max()) if complete_weeks else weekly["ds"].max()
    full = finish_panel(weekly[weekly["ds"] <= last], last)
    if "category" in df.columns and level != "category":
        full["category"] = full["unique_id"].map(most_common(key, df["category"]))
    return full.sort_values(["unique_id", "ds"], ignore_index=True)


def _empty_panel() -> pd.DataFrame:
    return pd.DataFrame(
        {"unique_id": pd.Series(dtype=str), "ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)}
    )


def _store_panel(store: Store, complete_weeks: bool) -> pd.DataFrame:
    """:func:`weekly_panel` of a Store's SKUs: DuckDB sums the weeks with sales, numpy lays them on the zero-filled
    grid and forward-fills the price. Nothing per order line, or per panel row as a Python object, reaches
    pandas: ids and categories are one shared string per SKU, the sums stream in blocks into arrays sized from
    each SKU's first week (at 200k SKUs the order lines took 7 GB as a frame, the panel's sorted window 2.7 GB)."""
    with _store_cancellations(store) as cancelled:
        return _netted_grid(store, cancelled, complete_weeks)


def panel_and_cancelled(store: Store, complete_weeks: bool = True) -> tuple[pd.DataFrame, tuple[int, float]]:
    """The Store's SKU :func:`weekly_panel` and how many of the tenant's sales it leaves out as cancelled
    (:mod:`supplyfit.store.cancellations`) with their units, from one search for the cancellations: what the
    demand stage reports, so that the netting is never silent."""
    with _store_cancellations(store) as cancelled:
        panel = _netted_grid(store, cancelled, complete_weeks)
        lines, units = store.query(cancelled_totals_sql(_STORE_SOLD, cancelled)).iloc[0]
    return panel, (int(lines), float(units))


def _netted_grid(store: Store, cancelled: str, complete_weeks: bool) -> pd.DataFrame:
    """:func:`_store_grid` of the tenant's sales less those in the table ``cancelled``."""
    keys_table = f"_panel_keys_{secrets.token_hex(4)}"  # this connection's own, whoever else builds a panel
    return _store_grid(store, f"({net_sql(_STORE_SOLD, cancelled, _STORE_COLUMNS)})", keys_table, complete_weeks)


@contextmanager
def _store_cancellations(store: Store) -> Iterator[str]:
    """A temporary table of the tenant's cancellations (:func:`~supplyfit.store.cancellations.cancelled_sql`),
    dropped after."""
    cancelled = f"_panel_cancelled_{secrets.token_hex(4)}"
    store.query(f"CREATE TEMP TABLE {cancelled} AS {cancelled_sql(_STORE_PRODUCT.format(''))}")
    try:
        yield cancelled
    finally:
        store.con.execute(f"DROP TABLE IF EXISTS {cancelled}")


_STORE_PRODUCT = "(SELECT * FROM orders WHERE tenant = $tenant AND is_product{})"
_STORE_SOLD = _STORE_PRODUCT.format(" AND NOT is_return AND quantity > 0")
_STORE_COLUMNS = ("tenant", "sku", "quantity", "unit_price", "ts", "category")


def _store_grid(store: Store, sold: str, keys_table: str, complete_weeks: bool) -> pd.DataFrame:
    """:func:`_store_panel` on the relation ``sold`` of the lines that count."""
    span = store.query(f"SELECT max(ts) AS ts, max(date_trunc('week', ts))::TIMESTAMP AS week FROM {sold}")
    if span.empty or pd.isna(span.week.iloc[0]):
        return _empty_panel()
    last = last_complete_week(span.ts.iloc[0], span.week.iloc[0]) if complete_weeks else span.week.iloc[0]
    end = (last + pd.Timedelta(weeks=1)).to_pydatetime()
    store.query(
        f"""
        CREATE TEMP TABLE {keys_table} AS
        WITH firsts AS (
            SELECT sku, min(date_trunc('week', ts))::TIMESTAMP AS first FROM {sold} WHERE ts < $end GROUP BY sku),
        lines AS (
            SELECT o.sku, coalesce(o.category, p.category) AS category
            FROM {sold} o LEFT JOIN products p ON p.tenant = o.tenant AND p.sku = o.sku),
        counts AS (SELECT sku, category, count(*) AS n FROM lines WHERE category IS NOT NULL GROUP BY ALL),
        cats AS (SELECT sku, first(category ORDER BY n DESC, category) AS category FROM counts GROUP BY sku)
        SELECT (row_number() OVER (ORDER BY f.sku) - 1)::INTEGER AS code, f.sku, f.first, c.category
        FROM firsts f LEFT JOIN cats c USING (sku)""",
        {"end": end},
    )
    try:
        keys = store.query(f"SELECT sku, first, category FROM {keys_table} ORDER BY code")
        first = pd.to_datetime(keys["first"]).astype("datetime64[ns]").to_numpy()
        length = ((np.datetime64(last, "ns") - first) // np.timedelta64(7, "D")).astype(np.int64) + 1
        offset = np.concatenate([[0], np.cumsum(length)])
        y, revenue = np.zeros(offset[-1]), np.zeros(offset[-1])
        result = store.con.execute(
            f"""
            SELECT k.code, (datediff('day', k.first, w.ds) // 7)::BIGINT AS week, w.y, w.revenue
            FROM (SELECT sku, date_trunc('week', ts)::TIMESTAMP AS ds, sum(quantity)::DOUBLE AS y,
                         sum(quantity * unit_price)::DOUBLE AS revenue
                  FROM {sold} WHERE ts < $end GROUP BY ALL) w JOIN {keys_table} k USING (sku)""",
            {"tenant": store.tenant, "end": end},
        )
        # to_arrow_reader since DuckDB 1.4, where fetch_record_batch (the same reader) became deprecated
        reader = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
        for batch in reader(1 << 20):
            at = offset[batch.column(0).to_numpy()] + batch.column(1).to_numpy()
            y[at], revenue[at] = batch.column(2).to_numpy(), batch.column(3).to_numpy()
    finally:
        store.con.execute(f"DROP TABLE IF EXISTS {keys_table}")
    code = np.repeat(np.arange(len(keys)), length)
    step = np.arange(offset[-1]) - offset[:-1][code]
    full = pd.DataFrame(
        {
            "unique_id": keys["sku"].to_numpy(object)[code],
            "ds": first[code] + step * np.timedelta64(7, "D"),
            "y": y,
            "revenue": revenue,
            "price": _filled_price(y, revenue, offset[:-1][code]),
        }
    )
    if keys["category"].notna().any():
        full["category"] = keys["category"].to_numpy(object)[code]
    return full


def _filled_price(y: np.ndarray, revenue: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Average unit price of each week with sales, carried forward over the series' weeks without (``start``:
    each row's series' first row), NaN before its first sale: a grouped forward fill in three array passes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        price = revenue / np.where(y > 0, y, np.nan)
    seen = np.maximum.accumulate(np.where(~np.isnan(price), np.arange(len(price)), -1))
    return np.where(seen >= start, price[np.maximum(seen, 0)], np.nan)


def most_common(key: pd.Series, value: pd.Series) -> pd.Series:
    """Per key, its most frequent non-null value (the smallest among ties, as ``Series.mode`` has it); keys
    with none are left out. One count of (key, value) pairs and a sort: no Python call per key."""
    pairs = pd.DataFrame({"key": key.to_numpy(), "value": value.to_numpy()}).dropna(subset=["value"])
    counts = pairs.groupby(["key", "value"], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["key", "n", "value"], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates("key").set_index("key")["value"]


def last_complete_week(ts_max: pd.Timestamp, last_week: pd.Timestamp) -> pd.Timestamp:
    """The panel's last week: ``last_week`` (a Monday) unless the data stop before its Sunday, then the one before."""
    ts_max, last_week = pd.Timestamp(ts_max), pd.Timestamp(last_week)
    return last_week - pd.Timedelta(weeks=1) if ts_max < last_week + pd.Timedelta(days=6, hours=23) else last_week


def finish_panel(weekly: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    """Weekly sums (unique_id, ds, y, revenue) zero-filled from each series' first week to ``last``, with the
    average unit price forward-filled; per series, so that a distributed engine can run it series by series."""
    full = _zero_fill(weekly, last)
    full["price"] = (full["revenue"] / full["y"].where(full["y"] > 0)).groupby(full["unique_id"]).ffill()
    return full


def _zero_fill(weekly: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    first = weekly.groupby("unique_id")["ds"].min()
    n = ((last - first) // pd.Timedelta(weeks=1) + 1).clip(lower=0)
    ids = np.repeat(first.index.values, n.values)
    offsets = np.concatenate([np.arange(k) for k in n.values]) if len(n) else np.array([], dtype=int)
    ds = np.repeat(first.values, n.values) + pd.to_timedelta(offsets * 7, unit="D").values
    grid = pd.DataFrame({"unique_id": ids, "ds": ds})
    out = grid.merge(weekly, on=["unique_id", "ds"], how="left")
    out[["y", "revenue"]] = out[["y", "revenue"]].fillna(0.0)
    return out


def on_mondays(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timedelta]:
    """A weekly panel dated on one weekday other than Monday (pandas' ``resample("W")`` labels each Monday-Sunday
    week by its Sunday) as the same weeks dated by their Monday, and the shift to add back to the dates given out;
    any other panel as it is, with no shift (mixed weekdays are refused by :meth:`Wide.from_long`)."""
    ds = pd.to_datetime(panel["ds"])
    days = ds.dt.weekday.unique()
    if len(days) != 1 or days[0] == 0:
        return panel, pd.Timedelta(0)
    shift = pd.Timedelta(days=int(days[0]))
    return panel.assign(ds=ds - shift), shift


def string_ids(frame: pd.DataFrame, name: str = "panel") -> tuple[pd.DataFrame, pd.Series | None]:
    """``frame`` with its ``unique_id`` as strings, the key every matrix here uses, and the map from those strings
    back to the ids as given (None when they were strings already): results carry the caller's own ids, so that
    integer ids stay integers and merge with the caller's frames (:func:`given_ids`). Rows without an id are
    refused: a series called "nan" would be a guess."""
    given = frame["unique_id"]
    missing = int(given.isna().sum())
    if missing:
        raise ValueError(f"{name}: {missing} row(s) have no unique_id")
    kind = pd.api.types.infer_dtype(given, skipna=False)
    if kind == "categorical":
        kind = pd.api.types.infer_dtype(given.cat.categories, skipna=False)
    if kind == "string":
        return frame, None
    as_str = given.astype(str)
    first = ~as_str.duplicated().to_numpy()
    back = pd.Series(given.to_numpy()[first], index=as_str.to_numpy()[first])
    return frame.assign(unique_id=as_str), back


def given_ids(ids: pd.Series | np.ndarray, back: pd.Series | None) -> np.ndarray:
    """String ``ids`` as the caller gave them (``back`` from :func:`string_ids`); names that are no series of
    the caller's (an aggregate's "total") stay as they are."""
    ids = np.asarray(ids)
    if back is None:
        return ids
    mapped = pd.Series(ids).map(back)
    return (mapped if mapped.notna().all() else mapped.astype(object).where(mapped.notna(), ids)).to_numpy()


def on_wall_clock(frame: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    """``frame`` with its ``ds`` as naive wall time (:func:`wall_times`: the weeks as the shop's clock reads
    them), and the time zone it had (None when naive), to read cut-offs given with one (:func:`known_weeks_end`)."""
    ds = pd.to_datetime(frame["ds"])
    return frame.assign(ds=wall_times(ds)), getattr(ds.dt, "tz", None)


def known_weeks_end(ts: pd.Timestamp, tz: object, shift: pd.Timedelta) -> pd.Timestamp:
    """A cut-off or as-of time on a panel's Monday grid (its weeks moved back by ``shift``, see :func:`on_mondays`):
    the start of the week it falls in, so that only weeks wholly before it are read (a Wednesday reads up to the
    Sunday before, never the days after it); in the panel's wall time (``tz``: its time zone) when either has
    one."""
    if ts.tzinfo is not None:
        ts = (ts.tz_convert(tz) if tz is not None else ts).tz_localize(None)
    return week_start(pd.Series([ts - shift])).iloc[0]


def zero_gaps(Y: np.ndarray) -> None:
    """In place: the missing weeks (NaN) of each series after its first observed one are zero sales; the weeks
    before it stay NaN (not yet listed)."""
    observed = ~np.isnan(Y)
    first = np.where(observed.any(axis=1), np.argmax(observed, axis=1), Y.shape[1])
    Y[~observed & (np.arange(Y.shape[1])[None, :] >= first[:, None])] = 0.0


@dataclass
class Wide:
    """A panel as a matrix: ``Y[i, t]`` units of series ``ids[i]`` in week ``dates[t]``; NaN before first sale.
    ``promo`` (series x week) and ``holiday`` (week) are calendar days per week known for the history and the
    weeks ahead (:mod:`.calendar`), when a calendar is given; ``closed`` marks the history's close-down weeks."""

    ids: np.ndarray
    dates: pd.DatetimeIndex
    Y: np.ndarray
    revenue: np.ndarray | None = None
    price: np.ndarray | None = None
    promo: np.ndarray | None = None
    holiday: np.ndarray | None = None
    closed: np.ndarray | None = None

    @classmethod
    def from_long(cls, panel: pd.DataFrame) -> Wide:
        ds = pd.to_datetime(panel["ds"])
        if ds.isna().any():
            raise ValueError(f"panel: {int(ds.isna().sum())} row(s) have no date (ds)")
        if ds.empty:
            raise ValueError("panel has no rows")
        dates = pd.date_range(ds.min(), ds.max(), freq=FREQ)
        row, names = pd.factorize(panel["unique_id"].astype(str), sort=True)  # one pass, no copy of the panel
        ids = np.asarray(names, dtype=object)
        col = dates.get_indexer(ds)
        if (col < 0).any():
            off = ds[col < 0].iloc[0]
            raise ValueError(
                "panel dates must fall on one weekday at one time of day, one row per series and week (Mondays, "
                f"as weekly_panel() makes them, or any other day, as pandas' resample('W') does): {off} "
                f"({off:%A}) is off the weekly grid from {ds.min()}"
            )
        key = row.astype(np.int64) * len(dates) + col
        if len(np.unique(key)) < len(key):
            raise ValueError(
                f"panel has {len(key) - len(np.unique(key))} duplicate (unique_id, ds) row(s): one row per series "
                "and week (sum them first: panel.groupby(['unique_id', 'ds'], as_index=False)['y'].sum())"
            )
        y = panel["y"].to_numpy(float)
        if np.isinf(y).any():
            bad = panel["unique_id"].to_numpy()[np.isinf(y)]
            raise ValueError(
                f"panel: {len(bad)} row(s) have an infinite y (series {', '.join(map(str, bad[:3]))}"
                f"{', ...' if len(bad) > 3 else ''}): units sold are finite numbers"
            )
        Y = np.full((len(ids), len(dates)), np.nan)
        Y[row, col] = y
        zero_gaps(Y)

        def matrix(column: str) -> np.ndarray | None:
            if column not in panel.columns:
                return None
            M = np.full(Y.shape, np.nan)
            M[row, col] = panel[column].to_numpy(float)
            return M

        price = matrix("price")  # carried forward over weeks without a row, as weekly_panel() fills them
        price = None if price is None else pd.DataFrame(price).ffill(axis=1).to_numpy()
        return cls(ids, dates, Y, matrix("revenue"), price)

    def cut(self, cutoff: pd.Timestamp) -> Wide:
        """The part strictly before ``cutoff``, with series that have no history dropped."""
        t = int(self.dates.searchsorted(pd.Timestamp(cutoff)))
        keep = ~np.all(np.isnan(self.Y[:, :t]), axis=1)
        sub = lambda M: None if M is None else M[keep, :t]
        return Wide(self.ids[keep], self.dates[:t], self.Y[keep, :t], sub(self.revenue), sub(self.price))
