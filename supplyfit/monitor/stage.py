"""The monitor stage of the pipeline: indicator tables (weekly and monthly) and hotspots, written to the store."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..demand import weekly_panel
from ..demand.calendar import store_calendar
from ..demand.panel import FREQ, Wide, zero_gaps
from ..store import Store
from .hotspots import COLUMNS, hotspots, rank
from .indicators import indicators, scored_reviews

BATCH = 1_000_000  # panel rows read at a time into the matrix


def stored_panel(store: Store) -> tuple[Wide, pd.Series | None] | None:
    """The demand stage's panel as a matrix of units (:class:`Wide`, the same one ``Wide.from_long`` builds) and
    each series' category, read in batches of rows; None when the stage has not run for the tenant.

    The long panel (SKUs x weeks rows) never becomes a frame: at 200k SKUs its text ids alone took 1.2 GB, the
    matrix takes 8 bytes a cell."""
    if not store.has_table("demand_panel"):
        return None
    span = store.query("SELECT min(ds) AS lo, max(ds) AS hi FROM demand_panel WHERE tenant = $tenant")
    if pd.isna(span.lo.iloc[0]):
        return None
    ids = np.sort(
        store.query("SELECT DISTINCT unique_id FROM demand_panel WHERE tenant = $tenant").unique_id.astype(str)
    )
    dates = pd.date_range(pd.Timestamp(span.lo.iloc[0]), pd.Timestamp(span.hi.iloc[0]), freq=FREQ)
    Y, index = np.full((len(ids), len(dates)), np.nan), pd.Index(ids)
    rows = store.con.execute(
        "SELECT unique_id, ds, y FROM demand_panel WHERE tenant = $tenant", {"tenant": store.tenant}
    ).to_arrow_reader(BATCH)
    for batch in rows:
        part = batch.to_pandas()
        col = dates.get_indexer(pd.to_datetime(part.ds))
        if (col < 0).any():
            raise ValueError("panel dates must be Mondays (freq W-MON); use weekly_panel()")
        Y[index.get_indexer(part.unique_id.astype(str)), col] = part.y.to_numpy(float)
    zero_gaps(Y)
    categories = None
    if "category" in store.query("SELECT * FROM demand_panel LIMIT 0").columns:
        cats = store.query(
            "SELECT unique_id, first(category ORDER BY ds) AS category FROM demand_panel WHERE tenant = $tenant "
            "GROUP BY unique_id"
        )
        categories = cats.set_index(cats.unique_id.astype(str)).category.reindex(ids)
    return Wide(ids, dates, Y), categories


def _hotspots(store: Store, k: int) -> pd.DataFrame | None:
    """Hotspots of the demand stage's panel and SKU forecasts (the forecast rise is blended into the ranking) when
    it ran for this tenant, else of a panel built from the orders (with a forecast fitted on it), with the
    tenant's calendar (its promotions ahead are features of the ranker); None before the first complete week."""
    stored, calendar = stored_panel(store), store_calendar(store)
    if stored is not None:
        forecasts = (
            store.query(
                "SELECT unique_id, ds, yhat, yhat_q10, yhat_q90 FROM forecasts WHERE tenant = $tenant AND level = 'sku'"
            )
            if store.has_result("forecasts")
            else None
        )
        return rank(*stored, k=k, calendar=calendar, forecasts=forecasts)
    panel = weekly_panel(store)
    return hotspots(panel, k=k, calendar=calendar) if len(panel) else None


def run(store: Store, k: int = 20) -> str:
    """Write ``ind_<name>`` tables (both frequencies, told apart by ``freq``), ``ind_notes`` and ``hotspots``
    (empty, with a note, before the first complete week). Hotspots come first: their matrix is freed before
    DuckDB's aggregates fill its cache of the orders."""
    hs = _hotspots(store, k)
    reviews = scored_reviews(store)
    per_freq = [indicators(store, freq=f, reviews=reviews) for f in ("W", "M")]
    tables = [ind.tables() for ind in per_freq]
    for name in tables[0]:
        store.write_result(f"ind_{name}", pd.concat([t[name] for t in tables], ignore_index=True))
    notes = {n for ind in per_freq for n in ind.notes}
    if hs is None:
        notes.add("no complete week of sales yet: no hotspots")
        hs = pd.DataFrame(columns=COLUMNS)
    store.write_result("ind_notes", pd.DataFrame({"note": sorted(notes)}, dtype=str))
    store.write_result("hotspots", hs.assign(rank=range(1, len(hs) + 1)))
    top = f"top: {hs.unique_id.iloc[0]}" if len(hs) else "no complete week of sales yet"
    return (
        f"{len(per_freq[0].totals)} weeks of indicators, {len(per_freq[1].totals)} months; {len(hs)} hotspots ({top})"
    )
