"""A local model (SES, ...) refitted on a units matrix in blocks of series: the numbers of ``Forecaster(h,
model).fit`` on the same panel, with memory bounded by a block instead of the panel's rows.

A replay refits its forecaster once per replayed week. Fitted on the long panel, each refit pivoted every row again
(about 60 bytes a row at its peak: 1.2 GB at 200k SKUs x 100 weeks). A local model reads each series alone; what ties
the series together is a handful of numbers: the shop's weekly total (its close-downs), the median dispersion (the
prior each series' dispersion is shrunk towards) and the calibration's count of 80% intervals that held. Those are
summed over blocks first, then each block is forecast with them. ``tests/supply`` checks the outlook against the
Forecaster's on the same panel, number for number.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..demand.calendar import ahead, open_share
from ..demand.core import CALIBRATION_SCALES, dispersion, dispersion_prior, make_model, nb_interval_hits, raw_dispersion
from ..demand.models import SES
from ..demand.panel import FREQ, Wide

BLOCK = 20_000  # series per block


def units_matrix(parts: list[pd.DataFrame]) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray]:
    """Ids (sorted), weeks and units (series x week) of long panels (unique_id, ds, y), as Wide.from_long makes them
    from the panels' concatenation: NaN before a series' first row, 0 in the weeks it has no row after that."""
    ids = pd.api.types.union_categoricals(
        [pd.Categorical(p["unique_id"]) for p in parts], sort_categories=True
    ).categories
    first, last = min(p["ds"].min() for p in parts), max(p["ds"].max() for p in parts)
    dates = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=FREQ)
    Y = np.full((len(ids), len(dates)), np.nan)
    for p in parts:
        col = dates.get_indexer(pd.to_datetime(p["ds"]))
        if (col < 0).any():
            raise ValueError("panel dates must be Mondays (freq W-MON); use weekly_panel()")
        Y[pd.Categorical(p["unique_id"], categories=ids).codes, col] = p["y"].to_numpy(float)
    weeks = np.arange(len(dates))
    for a in range(0, len(ids), BLOCK):
        block = Y[a : a + BLOCK]  # a view: filled in place
        gap = np.isnan(block)
        start = np.where(gap, len(dates), weeks).min(axis=1)
        block[gap & (weeks[None, :] >= start[:, None])] = 0.0
    return ids.to_numpy(), dates, Y


def _blocks(Y: np.ndarray, block: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row numbers, their units) of each ``block`` of series that have a week in ``Y`` (those Wide.from_long
    keeps), one block at a time."""
    for a in range(0, len(Y), block):
        rows = a + np.flatnonzero(~np.all(np.isnan(Y[a : a + block]), axis=1))
        if len(rows):
            yield rows, Y[rows]


def _scale(Y: np.ndarray, open_: np.ndarray, h: int, block: int) -> float:
    """Forecaster._calibrate's dispersion multiplier: the one whose SKU 80% intervals (SES fitted without the last h
    weeks) held closest to 80% of those weeks, counted over every block."""
    weeks = open_[-h:] == 1
    kept = sum(int((~np.all(np.isnan(B[:, :-h]), axis=1)).sum()) for _, B in _blocks(Y, block))
    if Y.shape[1] < 3 * h or kept < 10 or not weeks.any():
        return 1.0
    prior = dispersion_prior(np.concatenate([raw_dispersion(B[:, :-h]) for _, B in _blocks(Y, block)]))
    hits, count = dict.fromkeys(CALIBRATION_SCALES, 0), 0
    for _, B in _blocks(Y, block):
        head = B[:, :-h]
        keep = ~np.all(np.isnan(head), axis=1)
        mean = SES().fit(_wide(head)).forecast(h)[keep][:, weeks]
        actual = B[keep, -h:][:, weeks]
        a = dispersion(head, prior=prior)[keep][:, None]
        count += actual.size
        for c in CALIBRATION_SCALES:
            hits[c] += int(nb_interval_hits(actual, mean, a * c, 0.1, 0.9).sum())
    return min(CALIBRATION_SCALES, key=lambda c: abs(hits[c] / count - 0.8))


def _wide(Y: np.ndarray) -> Wide:
    """A Wide of units alone: what a local model reads."""
    return Wide(np.arange(len(Y)), pd.RangeIndex(Y.shape[1]), Y)


def local_outlook(Y: np.ndarray, h: int, model: str, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``Y`` (series x week, as :func:`units_matrix`) that have a week, and the negative binomial's mean and
    variance of each of their next ``h`` weeks under the local ``model``: what ``Forecaster(h, model)`` (learned
    calendar, calibrated) fitted on the same panel gives, ``block`` series at a time."""
    with warnings.catch_warnings():  # all-NaN windows of young series are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        open_ = open_share(sum(np.nansum(B, axis=0) for _, B in _blocks(Y, block)))
        prior = dispersion_prior(np.concatenate([raw_dispersion(B) for _, B in _blocks(Y, block)]))
        scale = _scale(Y, open_, h, block)
        rows, mean, a = [], [], []
        for r, B in _blocks(Y, block):
            rows.append(r)
            mean.append(make_model(model).fit(_wide(B)).forecast(h))
            a.append(scale * dispersion(B, prior=prior))
    m = np.clip(np.concatenate(mean), 0, None) * ahead(open_, h)[None, :]
    return np.concatenate(rows), m, m + np.concatenate(a)[:, None] * m**2
