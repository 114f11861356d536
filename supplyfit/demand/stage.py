"""The demand stage of the pipeline: forecasts for every level, and a backtest, written to the store."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline import MissingInput
from ..store import Store
from .backtest import backtest, default_cutoffs
from .calendar import Calendar, store_calendar
from .core import Forecaster
from .panel import panel_and_cancelled, product_lines

BACKTEST_SERIES = 50_000  # SKUs a backtest refits on (:func:`backtest_sample`)


def history(store: Store) -> tuple[pd.DataFrame, tuple[int, float]]:
    """The tenant's weekly panel and the sales it leaves out as cancelled (lines, units); :class:`MissingInput`
    when it is empty, saying what is missing: product sales, or a complete week of them (the week in progress
    is left out, it would read as a collapse)."""
    panel, cancelled = panel_and_cancelled(store)
    if panel.empty:
        sales = product_lines(store.sales())
        if sales.empty:
            raise MissingInput(
                f"no product sales (only returns) for tenant {store.tenant!r}: load orders with sales "
                "(`supplyfit ingest orders FILE`)"
            )
        raise MissingInput(
            f"not enough history: the sales of tenant {store.tenant!r} cover "
            f"{sales.ts.min():%Y-%m-%d} – {sales.ts.max():%Y-%m-%d}, no complete week (Monday to "
            "Sunday); forecasts need at least one, load orders up to a Sunday night or later"
        )
    return panel, cancelled


def backtest_sample(panel: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """The panel's rows of at most ``n`` (default :data:`BACKTEST_SERIES`) SKUs: all of them up to that many,
    else those whose ids hash lowest, the same SKUs in any process. A backtest refits the model at every cut-off;
    beyond 50k SKUs the refits on everything doubled the stage's time and took its memory past 10 GiB at 500k,
    where a sample of 50k estimates the SKU-level metrics (averages over SKUs) well enough; the category and
    total rows are then the sample's sums, as the table's ``series`` column says."""
    n = BACKTEST_SERIES if n is None else n
    ids = panel["unique_id"].astype(str).unique()
    if len(ids) <= n:
        return panel
    chosen = ids[np.argsort(pd.util.hash_array(ids), kind="stable")[:n]]
    return panel[panel["unique_id"].astype(str).isin(chosen)]


def calendar(store: Store) -> Calendar | bool:
    """The tenant's known calendar (:func:`~.calendar.store_calendar`); True (close-downs learned from the
    history only) when none is set."""
    return store_calendar(store) or True


def run(store: Store, h: int = 8, model: str = "auto") -> str:
    """Write ``demand_panel``, ``forecasts`` (sku/category/total, reconciled) and ``backtest`` (when the history
    allows a cut-off) tables."""
    panel, (lines, units) = history(store)
    fc = Forecaster(h=h, model=model, calendar=calendar(store)).fit(panel)
    store.write_result("demand_panel", panel)
    store.write_result("forecasts", fc.predict_hierarchy())
    cutoffs = default_cutoffs(panel, h, n=2)
    tested_on = backtest_sample(panel)
    if cutoffs:
        store.write_result(
            "backtest", backtest(tested_on, cutoffs, h=h, model=model, active_weeks=26, calendar=fc.calendar)
        )
    weeks, skus = panel["ds"].nunique(), panel["unique_id"].nunique()
    start = pd.Timestamp(fc.wide_.dates[-1]) + pd.Timedelta(weeks=1)
    sampled = f" on {BACKTEST_SERIES:,} of the {skus:,} SKUs" if len(tested_on) < len(panel) else ""
    tested = (
        f"backtest at {len(cutoffs)} cut-off(s){sampled}"
        if cutoffs
        else f"no backtest ({weeks} complete week(s); a cut-off needs more than {3 * h})"
    )
    left_out = f"; {lines:,} sales cancelled within a day left out ({units:,.0f} units)" if lines else ""
    return f"{skus:,} SKUs forecast {h} weeks from {start:%Y-%m-%d}; {tested}{left_out}"
