"""Forecast accuracy: M5-style WRMSSE, MASE, bias, pinball loss and interval coverage.

All functions take aligned arrays: ``history`` (n, T) with NaN before each series' first sale, and
``actual`` / ``forecast`` (n, h).
"""

from __future__ import annotations

import numpy as np


def naive_scale(history: np.ndarray, power: int = 2) -> np.ndarray:
    """Mean |one-step naive error|**power over each series' history from its first sale (NaN if undefined)."""
    d = np.abs(np.diff(history, axis=1)) ** power
    n = np.sum(~np.isnan(d), axis=1)
    with np.errstate(all="ignore"):
        s = np.nansum(d, axis=1) / n
    return np.where((n > 0) & (s > 0), s, np.nan)


def rmsse(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Root mean squared scaled error per series (M5)."""
    return np.sqrt(np.mean((actual - forecast) ** 2, axis=1) / naive_scale(history, 2))


def wrmsse(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray, weights: np.ndarray) -> float:
    """Weighted RMSSE; series with an undefined scale (no variation in history) are left out. Array-likes of one
    series (1-d) or many (2-d); a NaN actual or forecast is refused (a week without a sale is 0, not unknown)."""
    history, actual, forecast = (np.atleast_2d(np.asarray(a, float)) for a in (history, actual, forecast))
    weights = np.atleast_1d(np.asarray(weights, float))
    if np.isnan(actual).any() or np.isnan(forecast).any():
        raise ValueError("actual and forecast must not hold NaN: a week without a sale is 0")
    r = rmsse(history, actual, forecast)
    ok = ~np.isnan(r) & (weights > 0)
    if not ok.any():
        return float("nan")
    w = weights[ok] / weights[ok].sum()
    return float(np.sum(w * r[ok]))


def mase(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute scaled error, averaged over series with a defined scale."""
    m = np.mean(np.abs(actual - forecast), axis=1) / naive_scale(history, 1)
    return float(np.nanmean(m))


def bias(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Total forecast over total actual, minus one (positive = over-forecast)."""
    total = actual.sum()
    return float(forecast.sum() / total - 1) if total else float("nan")


def pinball(actual: np.ndarray, quantile_forecast: np.ndarray, q: float) -> float:
    """Mean quantile (pinball) loss."""
    diff = actual - quantile_forecast
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of actuals inside [lo, hi]."""
    return float(np.mean((actual >= lo) & (actual <= hi)))


def revenue_weights(revenue: np.ndarray | None, history: np.ndarray, weeks: int = 8) -> np.ndarray:
    """M5 weights: revenue of the last ``weeks`` before the cut-off (units if revenue is unknown)."""
    src = revenue if revenue is not None else history
    return np.nansum(src[:, -weeks:], axis=1)
