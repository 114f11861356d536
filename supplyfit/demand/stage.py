"""The demand stage of the pipeline: forecasts for every level, and a backtest, written to the store."""

from __future__ import annotations

import pandas as pd

from ..pipeline import MissingInput
from ..store import Store
from .backtest import backtest, default_cutoffs
from .calendar import Calendar
from .core import Forecaster
from .panel import product_lines, weekly_panel


def history(store: Store) -> pd.DataFrame:
    """The tenant's weekly panel; :class:`MissingInput` when it is empty, saying what is missing: product sales,
    or a complete week of them (the week in progress is left out, it would read as a collapse)."""
    panel = weekly_panel(store)
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
    return panel


def calendar(store: Store) -> Calendar | bool:
    """The tenant's known calendar: its events, its country's public holidays and, in China, the shopping
    festivals; True (close-downs learned from the history only) when none is set."""
    events, country = store.events(), store.country
    if events.empty and country is None:
        return True
    return Calendar(events=events, country=country, festivals=country == "CN")


def run(store: Store, h: int = 8, model: str = "auto") -> str:
    """Write ``demand_panel``, ``forecasts`` (sku/category/total, reconciled) and ``backtest`` (when the history
    allows a cut-off) tables."""
    panel = history(store)
    fc = Forecaster(h=h, model=model, calendar=calendar(store)).fit(panel)
    store.write_result("demand_panel", panel)
    store.write_result("forecasts", fc.predict_hierarchy())
    cutoffs = default_cutoffs(panel, h, n=2)
    if cutoffs:
        store.write_result(
            "backtest", backtest(panel, cutoffs, h=h, model=model, active_weeks=26, calendar=fc.calendar)
        )
    weeks = panel["ds"].nunique()
    start = pd.Timestamp(fc.wide_.dates[-1]) + pd.Timedelta(weeks=1)
    tested = (
        f"backtest at {len(cutoffs)} cut-off(s)"
        if cutoffs
        else f"no backtest ({weeks} complete week(s); a cut-off needs more than {3 * h})"
    )
    return f"{panel['unique_id'].nunique():,} SKUs forecast {h} weeks from {start:%Y-%m-%d}; {tested}"
