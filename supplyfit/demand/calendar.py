"""The shop's own calendar, read off its weekly total: close-downs (Christmas breaks, stocktakes, Spring Festival)
found in the history and expected again a year later.

A week is (partly) closed when the shop's total falls below ``CLOSED`` of the median of the weeks around it; its
open share is that ratio. Forecasters learn from the history with closed weeks taken out (a closed week says
nothing about demand, and the weeks after it would start from a level it dragged down) and scale the forecast of a
week by the open share of the same week a year before. A shop that never closes gets shares of 1 everywhere: the
forecasts are unchanged. Found on the UCI retail shop, whose weekly total fell to 2k and 0 in the 2009 break and
again in the 2010 break, while forecasts without it stayed at 27.7k a week through both.
"""

from __future__ import annotations

import numpy as np

CLOSED = 0.5  # a week below half the weeks around it is a close-down, not a slow week
AROUND = 6  # weeks on either side that make the reference level
SEASON = 52


def open_share(total: np.ndarray) -> np.ndarray:
    """Per week of ``total`` (the shop's units per week), its open share: 1 for a normal week, the ratio to the
    median of the ``AROUND`` weeks on either side for a week below ``CLOSED`` of it."""
    total = np.nan_to_num(np.asarray(total, float))
    n = len(total)
    share = np.ones(n)
    for t in range(n):
        around = np.r_[total[max(t - AROUND, 0) : t], total[t + 1 : t + 1 + AROUND]]
        ref = np.median(around) if len(around) else 0.0
        if ref > 0 and total[t] < CLOSED * ref:
            share[t] = total[t] / ref
    return share


def ahead(share: np.ndarray, h: int) -> np.ndarray:
    """The open share of the ``h`` weeks after the history: that of the same weeks a year before (1 where the
    history does not reach back a year)."""
    n = len(share)
    idx = n - SEASON + np.arange(h)
    return np.where(idx >= 0, share[np.clip(idx, 0, None)], 1.0) if n else np.ones(h)


def seasonal_factor(total: np.ndarray, share: np.ndarray, forecast: np.ndarray, window: int = 8) -> np.ndarray:
    """Per forecast week, how much the shop's forecast total should move to follow last year's shape: the total
    of the same week a year before over last year's level at the same point (the ``window`` open weeks before it),
    divided by the forecast total over this year's level (the ``window`` open weeks before the forecast). 1 where
    the history is shorter than a year and ``window`` weeks, or a ratio is undefined.

    The models' own year-ago features need origins whose target weeks have a year before them to learn from; with
    one year and a bit of history they have almost none, and forecasts made in December carried the Christmas level
    into January (bias +85% on the retail data). A shop's total has a season long before each SKU does."""
    n, h = len(total), len(forecast)
    out = np.ones(h)
    ago = n - SEASON
    open_total = np.where(share == 1, total, np.nan)
    before = open_total[max(ago - window, 0) : max(ago, 0)]
    now = open_total[n - window :]
    if ago < 0 or np.sum(~np.isnan(before)) < window // 2 or np.sum(~np.isnan(now)) < window // 2:
        return out
    with np.errstate(all="ignore"):
        last_year = total[ago : ago + h] / np.nanmean(before)
        this_year = forecast[: len(last_year)] / np.nanmean(now)
        ratio = last_year / this_year
    ok = np.isfinite(ratio) & (ratio > 0) & (share[ago : ago + h] == 1)
    out[: len(ratio)][ok] = ratio[ok]
    return out
