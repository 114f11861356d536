"""Rolling-origin backtests with M5-style metrics, by level of the hierarchy (SKU, category, total)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import metrics
from .core import Forecaster, category_groups, group_sums
from .panel import Wide, known_weeks_end, on_mondays, on_wall_clock, string_ids


def _aggregate(wide: Wide, groups: dict[str, np.ndarray]) -> Wide:
    def agg(M: np.ndarray) -> np.ndarray:
        rows = []
        for mask in groups.values():
            sub = M[mask]
            rows.append(np.where(np.all(np.isnan(sub), axis=0), np.nan, np.nansum(sub, axis=0)))
        return np.vstack(rows)

    revenue = None if wide.revenue is None else agg(wide.revenue)
    return Wide(np.array(list(groups)), wide.dates, agg(wide.Y), revenue, None)


def score(history: Wide, actual: np.ndarray, fc: pd.DataFrame) -> dict[str, float]:
    """Metrics of one level at one cut-off; ``fc`` rows ordered like ``history.ids`` × steps."""
    h = actual.shape[1]
    yhat = fc["yhat"].to_numpy().reshape(-1, h)
    q10, q50, q90 = (fc[c].to_numpy().reshape(-1, h) for c in ("yhat_q10", "yhat_q50", "yhat_q90"))
    w = metrics.revenue_weights(history.revenue, history.Y)
    return {
        "series": len(history.ids),
        "wrmsse": metrics.wrmsse(history.Y, actual, yhat, w),
        "mase": metrics.mase(history.Y, actual, yhat),
        "bias": metrics.bias(actual, yhat),
        "pinball_q10": metrics.pinball(actual, q10, 0.1),
        "pinball_q50": metrics.pinball(actual, q50, 0.5),
        "pinball_q90": metrics.pinball(actual, q90, 0.9),
        "coverage_80": metrics.coverage(actual, q10, q90),
        "band_width": float(np.mean(q90 - q10) / max(float(np.mean(actual)), 1e-9)),  # 80% band / mean level
    }


def default_cutoffs(panel: pd.DataFrame, h: int, n: int = 3) -> list[pd.Timestamp]:
    """Up to ``n`` cut-offs ``h`` weeks apart ending ``h`` weeks before the panel's end, oldest first; only those
    with at least ``2 h`` weeks of history before them (so [] when the panel has ``3 h`` weeks or fewer)."""
    weeks = pd.to_datetime(panel["ds"]).drop_duplicates().sort_values().reset_index(drop=True)
    return [weeks.iloc[-k * h - 1] for k in range(n, 0, -1) if len(weeks) > (k + 2) * h]


def backtest(
    panel: pd.DataFrame,
    cutoffs: Iterable,
    h: int = 8,
    model: str = "auto",
    active_weeks: int | None = None,
    **forecaster_kw,
) -> pd.DataFrame:
    """Fit at each cut-off on the weeks before it and score the next ``h`` weeks.

    Returns one row per cut-off and level (sku, category if the panel has one, total) with WRMSSE, MASE,
    bias, pinball losses and 80% interval coverage. ``active_weeks`` keeps only series with a sale in
    that many weeks before the cut-off (as the benchmark does).
    """
    panel, _ = string_ids(panel)  # the forecasts' ids are then the panel's (backtest gives out none)
    panel, tz = on_wall_clock(panel)
    panel, shift = on_mondays(panel)
    full = Wide.from_long(panel)
    rows = []
    for given in cutoffs:
        cutoff = known_weeks_end(pd.Timestamp(given), tz, shift)  # on the Monday dates, as the panel
        t = int(full.dates.searchsorted(cutoff))
        if t + h > len(full.dates):
            raise ValueError(
                f"cut-off {cutoff + shift:%Y-%m-%d} leaves fewer than h={h} weeks of actuals (the panel ends "
                f"{full.dates[-1] + shift:%Y-%m-%d})"
            )
        if t == 0:
            raise ValueError(
                f"cut-off {cutoff + shift:%Y-%m-%d} leaves no history before it "
                f"(the panel starts {full.dates[0] + shift:%Y-%m-%d})"
            )
        train = panel[pd.to_datetime(panel["ds"]) < cutoff]
        if active_weeks:
            recent = train[
                (pd.to_datetime(train["ds"]) >= cutoff - pd.Timedelta(weeks=active_weeks)) & (train["y"] > 0)
            ]
            train = train[train["unique_id"].isin(recent["unique_id"].unique())]
            if train.empty:
                raise ValueError(f"no series sold in the {active_weeks} weeks before cut-off {cutoff + shift:%Y-%m-%d}")
        fc = Forecaster(h=h, model=model, **forecaster_kw).fit(train)
        hier = fc.predict_hierarchy()
        ids = fc.wide_.ids
        idx = pd.Index(full.ids).get_indexer(ids)
        hist = Wide(ids, full.dates[:t], full.Y[idx, :t], None if full.revenue is None else full.revenue[idx, :t])
        actual = np.nan_to_num(full.Y[idx, t : t + h])
        levels = {"sku": (hist, actual)}
        cats = fc.categories_
        groups = category_groups(cats) if cats is not None else {}
        for name, grp in (("category", groups), ("total", {"total": np.ones(len(ids), bool)})):
            if grp:
                agg_hist = _aggregate(hist, grp)
                agg_actual = group_sums(actual, grp)
                levels[name] = (agg_hist, agg_actual)
        for level, (hw, act) in levels.items():
            part = hier[hier["level"] == level]
            part = part.set_index("unique_id").loc[hw.ids].reset_index()
            rows.append({"cutoff": cutoff + shift, "level": level, "model": model, **score(hw, act, part)})
    return pd.DataFrame(rows)
