"""The demand stage of the pipeline: forecasts for every level, and a backtest, written to the store."""

from __future__ import annotations

import pandas as pd

from ..store import Store
from .backtest import backtest
from .core import Forecaster
from .panel import weekly_panel


def run(store: Store, h: int = 8, model: str = "auto") -> str:
    """Write ``demand_panel``, ``forecasts`` (sku/category/total, reconciled) and ``backtest`` tables."""
    panel = weekly_panel(store)
    if panel.empty:
        return "no product sales to forecast"
    fc = Forecaster(h=h, model=model).fit(panel)
    store.write_result("demand_panel", panel)
    store.write_result("forecasts", fc.predict_hierarchy())
    weeks = panel["ds"].drop_duplicates().sort_values()
    cutoffs = [weeks.iloc[-h - 1 - k * h] for k in range(2) if len(weeks) > 3 * h + k * h]
    if cutoffs:
        bt = backtest(panel, cutoffs, h=h, model=model, active_weeks=26)
        store.write_result("backtest", bt)
    skus = panel["unique_id"].nunique()
    start = pd.Timestamp(fc.wide_.dates[-1]) + pd.Timedelta(weeks=1)
    return f"{skus:,} SKUs forecast {h} weeks from {start:%Y-%m-%d}; backtest at {len(cutoffs)} cut-off(s)"
