"""Synthetic order data at any size, for benchmarks, tests and trying the platform without data of one's own.

104 weeks from 2009-01-05; per SKU a log-normal base rate, an intermittency level (share of weeks with a sale), a
yearly season with a Christmas peak, a trend and negative-binomial noise; each week's units are split over 1-3
order lines. Written as Parquet in chunks of series, so memory stays flat while generating.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

WEEKS = 104
START = pd.Timestamp("2009-01-05")
CATEGORIES = np.array(["home", "kitchen", "toys", "gifts", "garden", "stationery", "bags", "christmas"])


def generate(n_series: int, out: Path, seed: int = 0, chunk: int = 20_000) -> int:
    """Write order lines for ``n_series`` SKUs under ``out/`` (part-*.parquet); returns the number of lines."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weeks = np.arange(WEEKS)
    season = 1 + 0.4 * np.sin(2 * np.pi * (weeks - 13) / 52) + 1.5 * np.isin(weeks % 52, np.arange(44, 51))
    total = 0
    for part, lo in enumerate(range(0, n_series, chunk)):
        m = min(chunk, n_series - lo)
        base = rng.lognormal(0.5, 1.0, m)
        active = rng.beta(2, 3, m)  # share of weeks with a sale
        launch = np.where(rng.random(m) < 0.2, rng.integers(0, WEEKS - 8, m), 0)
        trend = 1 + rng.normal(0, 0.004, m)[:, None] * weeks
        mu = base[:, None] * season[None, :] ** rng.uniform(0, 1, m)[:, None] * np.clip(trend, 0.1, None)
        sells = (rng.random((m, WEEKS)) < active[:, None]) & (weeks[None, :] >= launch[:, None])
        units = np.where(sells, rng.negative_binomial(2, 2 / (2 + mu)) + 1, 0)
        s, w = np.nonzero(units)
        q = units[s, w]
        lines = rng.integers(1, 4, len(q))
        s, w, q = (
            np.repeat(s, lines),
            np.repeat(w, lines),
            np.maximum(np.repeat(q, lines) // np.repeat(lines, lines), 1),
        )
        sku = lo + s
        ts = (
            START
            + pd.to_timedelta(w * 7 + rng.integers(0, 7, len(w)), unit="D")
            + pd.to_timedelta(rng.integers(8 * 3600, 18 * 3600, len(w)), unit="s")
        )
        price = np.round(np.exp(rng.normal(1, 0.8, n_series))[sku], 2)
        frame = pd.DataFrame(
            {
                "order_id": [f"O{part}-{i}" for i in range(len(q))],
                "sku": [f"S{x:07d}" for x in sku],
                "quantity": q.astype(float),
                "unit_price": price,
                "ts": ts,
                "category": CATEGORIES[sku % len(CATEGORIES)],
            }
        )
        frame.to_parquet(out / f"part-{part:05d}.parquet", index=False, coerce_timestamps="us")
        total += len(frame)
    return total


def synthetic_panel(n_series: int, seed: int) -> pd.DataFrame:
    """The weekly panel of ``generate``'s orders, built in a temporary folder."""
    from .engines import build_panel

    with tempfile.TemporaryDirectory() as tmp:
        generate(n_series, Path(tmp) / "orders", seed=seed)
        return build_panel(str(Path(tmp) / "orders"), engine="local")


def promoted_panel(
    n_series: int = 200, weeks: int = 80, seed: int = 0, per_week: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A weekly panel (unique_id, ds, y) in which each week ``per_week`` random items start a promotion of 1-2
    weeks that sells 2-5x their usual level, and the promotions as calendar events (name, start, end, scope 'sku',
    target, kind 'promotion'; names 'deal WEEK ID'): what a calendar-aware ranker must learn from, where the truth
    is known (no real promotion data was available)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=weeks, freq="W-MON")
    ids = np.array([f"S{i:03d}" for i in range(n_series)])
    lift, events = np.ones((n_series, weeks)), []
    for w in range(weeks):
        for i in rng.choice(n_series, per_week, replace=False):
            d = int(rng.integers(1, 3))
            lift[i, w : w + d] *= rng.uniform(2, 5)
            end = dates[w] + pd.Timedelta(days=7 * d - 1)
            events.append((f"deal {w} {ids[i]}", dates[w], end, "sku", ids[i], "promotion"))
    level = rng.lognormal(2.5, 1.0, n_series)[:, None]
    Y = rng.poisson(level * lift * rng.lognormal(0, 0.3, (n_series, weeks))).astype(float)
    panel = pd.DataFrame({"unique_id": np.repeat(ids, weeks), "ds": np.tile(dates, n_series), "y": Y.ravel()})
    return panel, pd.DataFrame(events, columns=["name", "start", "end", "scope", "target", "kind"])


def write_orders(out: Path, skus: int, weeks: int | None = None, customers: int | None = None, seed: int = 0) -> int:
    """``generate``'s orders for ``skus`` SKUs as one Parquet file ``out`` (what a user would load): the last
    ``weeks`` weeks only (all 104 if None), and with ``customers`` the lines grouped into orders of about 2.5 lines
    of random customers. Streams part by part unless a subset or customers are asked for. Returns the lines."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(skus, Path(tmp) / "orders", seed=seed)
        parts = sorted((Path(tmp) / "orders").glob("part-*.parquet"))
        if weeks is None and customers is None:
            schema = pq.read_schema(parts[0])
            with pq.ParquetWriter(out, schema) as writer:
                for part in parts:
                    writer.write_table(pq.read_table(part, schema=schema))
            return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    if weeks is not None:
        frame = frame[frame["ts"] >= frame["ts"].max().normalize() - pd.Timedelta(weeks=weeks)]
    if customers is not None:
        rng = np.random.default_rng(seed)
        frame = frame.sort_values("ts", kind="stable", ignore_index=True)
        order = np.cumsum(rng.random(len(frame)) < 0.4)
        frame["order_id"] = [f"G{o}" for o in order]
        frame["customer_id"] = pd.Series(rng.integers(0, customers, order[-1] + 1)).map("C{}".format)[order].to_numpy()
    frame.to_parquet(out, index=False)
    return len(frame)


def build_store(
    db: Path,
    skus: int,
    weeks: int | None = None,
    customers: int | None = None,
    seed: int = 0,
    cache: Path | None = None,
) -> int:
    """A store of :func:`write_orders`'s file (same arguments). Returns the lines stored. With ``cache`` (a
    folder) the store is built there once and copied (with its secret) to ``db``."""
    from ..store import Store, ingest_orders

    if cache is not None:
        pristine = cache / f"generated-{skus}-{weeks}-{customers}-{seed}.duckdb"
        if not pristine.exists():
            build_store(pristine, skus, weeks, customers, seed)
        for suffix in ("", ".secret"):
            shutil.copy(f"{pristine}{suffix}", f"{db}{suffix}")
        with Store(db) as store:
            return int(store.query("SELECT count(*) AS n FROM orders WHERE tenant = $tenant").n[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.parquet"
        write_orders(path, skus, weeks, customers, seed)
        with Store(db) as store:
            return ingest_orders(store, path).stored
