"""Hotspots: the items (or categories) whose demand is about to rise most, with a reason a person can read.

A learned ranker: one LightGBM LambdaRank model, trained on the panel's own past (every origin whose next
``horizon`` weeks are already known before ``asof``; each origin is one query), learns which series end up among
the biggest absolute unit risers from recent levels, acceleration, the gap to the longer-run level, age, the
share of weeks with sales, the category's momentum, the same weeks a year earlier when the history has them, the
promotions of the coming weeks when a calendar knows them, and *reach*: how often the series' own past
``horizon``-week spells sold clearly more than its last one.

Reach matters because being among the top risers is a question of probability, not of expected growth: the
items that make the list are those that can jump by a lot — lumpy, large, now below what they have sold
before — and the share of past spells above "last spell + lift" estimates that chance without assuming a
distribution. It is also the ranking when the history is too short to train the ranker. Relevance grades put
the top 20 of each origin first, so the model spends its capacity on the head of the list, what a buyer acts
on. Design choices were made on validation dates only (see benchmarks/monitor.py and docs/benchmarks.md).
An origin with more series than ``MAX_QUERY`` trains on all its graded rows and a seeded sample of the others.

One guard against a season the ranker's origins have not seen (the restart after the Christmas close-down, when
the history is a year long; a season that came a year ago): when 4-week momentum, the rise a year earlier of
the weeks to come, or year-over-year growth caught more of the top risers than the ranker did on the latest origins
whose outcome is known, the list is the rank average of the ranker and that one (:func:`leading_baseline`).

Then, once the history is over a year long, the demand forecast: the list is ranked by the ranker's rank share plus
``FORECAST_WEIGHT`` times that of each series' forecast rise (an upper quantile, ``UPSIDE``, of the units
:class:`~supplyfit.demand.Forecaster` expects over the coming weeks, less those of the last ones). The ranker learns
from the panel's own recent origins; the forecaster then knows the shop's season a year back and, from
``LONG_HISTORY`` (65) weeks on, the same weeks a year earlier per item, which the ranker's origins cannot: there its
rise weighs ``FORECAST_WEIGHT_LONG``. On the second year of the retail data the blend found 0.19 of the risers where
the ranker found 0.11 (the mean's rise at weight 1: 0.14). With under a year the forecaster knows no season, its rise
is a smoothed momentum, and on 2010's dates it cost the list as much as it brought (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..demand.calendar import SEASON, Calendar
from ..demand.core import Auto
from ..demand.panel import FREQ, Wide, given_ids, known_weeks_end, on_mondays, on_wall_clock, string_ids

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

FEATURES = [
    "s8",
    "s4",
    "s4_prev",
    "s2",
    "s1",
    "s13",
    "s26",
    "slope8",
    "nz8",
    "age",
    "since_sale",
    "cat_growth",
    "cat_s8",
    "market_growth",
    "ya_rise",
    "ya_level",
    "reach",
    "spell_gap",
]
# with a calendar (promotions known ahead: the tenant's events, festivals), per series: promotion days in the coming
# ``horizon`` weeks, and that less the days in the last ``horizon`` weeks (a promotion about to start, or to end)
CALENDAR_FEATURES = ["promo_next", "promo_ahead"]
COLUMNS = ["unique_id", "score", "reason", "last_units", "category", "age", "s4", "s4_prev", "ya_rise", "reach"]
# Rows of one origin's query the ranker trains on; larger queries keep every graded row and a sample of the rest.
# LightGBM's lambdarank refuses queries over 10,000 rows; at 5,000, hotspots at 20k series take 58% of the time,
# precision within noise (4 dates: 0.19 vs 0.20 at 10,000; docs/benchmarks.md).
MAX_QUERY = 5_000
LIFT_SHARE = 0.25  # the lift that counts for reach, as a share of a typical k-th largest rise (validation-chosen)
RECENT = 4  # latest known origins on which the ranker is checked against the baselines (validation-chosen, 1-6 tried)
# The forecast rise is read at this quantile of the coming weeks' units, not at their mean: the truth is a tail (the
# biggest risers), and an item with a wide band is likelier among them than one with the same mean and a narrow band.
# Its rank share weighs this much next to the ranker's, past a year of history. Both chosen together on the second
# year of the retail data (17 as-of dates) and two synthetic panels (22 each): the mean and 0.7-0.95, weights 1-4
# (docs/benchmarks.md).
UPSIDE = 0.9
FORECAST_WEIGHT = 2.0
# From a year and a quarter of history on (``LONG_HISTORY`` weeks before as-of, where the default Forecaster switches to
# its GBM alone) the forecaster sees each item's own same weeks a year before, not only the shop's season, and its
# rise then weighs this much (the rule reads the history's length, whichever model made the forecasts passed in).
# Chosen on the as-of dates with that much history (docs/benchmarks.md, Hotspots "Session 19"): the 6 of the retail
# data's second year, precision@20 at weights 2 / 3 / 4 / 6 / 10 0.21 / 0.24 / 0.28 / 0.29 / 0.30 (6 better at 5 of
# the 6 dates, equal at one; the ranker alone 0.13); two synthetic panels' 15 each, 0.370 / 0.373 / 0.363 / 0.377 /
# 0.370 and 0.330 / 0.327 / 0.323 / 0.317 / 0.310; the promotions panels lose 12 hits in 640 at 6. Under it the
# forecast's rise is the shop's season on smoothed levels, and weights above 2 cost hits (the second year's 12
# shorter dates: 0.150 at 2, 0.142 at 6).
FORECAST_WEIGHT_LONG = 6.0
LONG_HISTORY = Auto.season_weeks


def _window(Y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Per-row sum of weeks [lo, hi) (NaN weeks count as 0); NaN when the window is outside the data."""
    if lo < 0 or hi > Y.shape[1] or hi <= lo:
        return np.full(Y.shape[0], np.nan)
    return np.nansum(Y[:, lo:hi], axis=1)


class Spells:
    """Units of every ``horizon``-week spell of every series (``sums[:, j]``: weeks j to j + horizon - 1; NaN
    for spells that start before the series' first week), computed once and read at many origins."""

    def __init__(self, Y: np.ndarray, horizon: int, k: int):
        observed = ~np.isnan(Y)
        first = np.where(observed.any(axis=1), np.argmax(observed, axis=1), Y.shape[1])
        c = np.zeros((Y.shape[0], Y.shape[1] + 1))
        np.cumsum(np.nan_to_num(Y), axis=1, out=c[:, 1:])  # in place: no padded copy of the matrix
        self.sums = c[:, horizon:] - c[:, :-horizon]
        self.sums[np.arange(self.sums.shape[1])[None, :] < first[:, None]] = np.nan
        self.horizon, self.k = horizon, k

    def rise(self, origin: int) -> np.ndarray:
        """Units of the spell starting at ``origin`` minus those of the spell before it."""
        return self.sums[:, origin] - self.sums[:, origin - self.horizon]

    def lift(self, origin: int, lookback: int = 20) -> float:
        """LIFT_SHARE of the median k-th largest rise over the last ``lookback`` origins known at ``origin``."""
        kth = min(self.k, len(self.sums))
        tops = [
            np.sort(np.nan_to_num(self.rise(o), nan=-np.inf))[-kth]
            for o in range(max(self.horizon, origin - self.horizon - lookback), origin - self.horizon + 1)
        ]
        tops = [x for x in tops if np.isfinite(x)]
        return LIFT_SHARE * float(np.median(tops)) if tops else 0.0

    def _known(self, origin: int) -> np.ndarray:
        return self.sums[:, : max(origin - self.horizon + 1, 0)]

    def reach(self, origin: int) -> np.ndarray:
        """Share of each series' spells known at ``origin`` that sold at least the lift more than the last one."""
        past = self._known(origin)
        if not past.size:
            return np.zeros(len(self.sums))
        known = ~np.isnan(past)
        above = (past > (past[:, -1] + self.lift(origin))[:, None]) & known
        return above.sum(axis=1) / np.maximum(known.sum(axis=1), 1)

    def gap(self, origin: int) -> np.ndarray:
        """Each series' mean spell known at ``origin`` minus its last spell (0 where it has none)."""
        past = self._known(origin)
        if not past.size:
            return np.zeros(len(self.sums))
        return np.nan_to_num(np.nanmean(past, axis=1) - past[:, -1])


def features(
    wide: Wide, origin: int, horizon: int, groups: np.ndarray, spells: Spells, promo: np.ndarray | None = None
) -> pd.DataFrame:
    """Features of every series at ``origin`` (weeks before it are known), one row per series; with ``promo``
    (promotion days per series and week, known ahead: :class:`~supplyfit.demand.calendar.Calendar`) the
    CALENDAR_FEATURES too."""
    Y = wide.Y
    n = Y.shape[0]
    past = Y[:, :origin]
    observed = ~np.isnan(past)
    first = np.where(observed.any(axis=1), np.argmax(observed, axis=1), origin)
    sale = past > 0  # the last week with a sale, -1 for none: from booleans, not a matrix of week numbers
    sold = np.where(sale.any(axis=1), origin - 1 - np.argmax(sale[:, ::-1], axis=1), -1)
    s = {w: _window(Y, origin - w, origin) for w in (1, 2, 4, 8, 13, 26)}
    s4_prev = _window(Y, origin - 8, origin - 4)
    x = np.arange(8) - 3.5
    recent = np.nan_to_num(Y[:, max(origin - 8, 0) : origin])
    slope = recent @ x[-recent.shape[1] :] / (x**2).sum() if recent.shape[1] == 8 else np.zeros(n)
    with np.errstate(all="ignore"):
        nz8 = (recent > 0).mean(axis=1) if recent.size else np.zeros(n)
    frame = pd.DataFrame({"g": groups, "s8": s[8], "s8p": _window(Y, origin - 16, origin - 8)})
    cat = frame.groupby("g")[["s8", "s8p"]].transform("sum")
    market = frame[["s8", "s8p"]].sum()
    ya = origin - 52
    calendar = {}
    if promo is not None:
        coming = promo[:, origin : origin + horizon].sum(axis=1)
        calendar = {
            "promo_next": coming,
            "promo_ahead": coming - promo[:, max(origin - horizon, 0) : origin].sum(axis=1),
        }
    return pd.DataFrame(
        {
            "s8": s[8],
            "s4": s[4],
            "s4_prev": s4_prev,
            "s2": s[2],
            "s1": s[1],
            "s13": s[13],
            "s26": s[26],
            "slope8": slope,
            "nz8": nz8,
            "age": origin - first,
            "since_sale": origin - sold,
            "cat_growth": (cat.s8 - cat.s8p) / (cat.s8p + 1.0),
            "cat_s8": cat.s8,
            "market_growth": np.full(n, (market.s8 - market.s8p) / (market.s8p + 1.0)),
            "ya_rise": _window(Y, ya, ya + horizon) - _window(Y, ya - horizon, ya),
            "ya_level": _window(Y, ya, ya + horizon),
            "reach": spells.reach(origin),
            "spell_gap": spells.gap(origin),
            **calendar,
        }
    )


def _columns(promo: np.ndarray | None) -> list[str]:
    """The ranker's features: FEATURES, and CALENDAR_FEATURES when promotions are known."""
    return FEATURES + CALENDAR_FEATURES if promo is not None else FEATURES


def grades(rise: np.ndarray, cuts: tuple[int, ...] = (20, 60, 200)) -> np.ndarray:
    """Relevance 3 for the top ``cuts[0]`` risers of one origin, 2 for the next, 1 for the next, else 0."""
    order = np.argsort(-rise, kind="stable")
    g = np.zeros(len(rise), dtype=int)
    for level, cut in enumerate(sorted(cuts, reverse=True), start=1):
        g[order[:cut]] = level
    return g


def query_rows(grade: np.ndarray, rng: np.random.Generator, limit: int) -> np.ndarray:
    """The rows of one origin's query to train on: all of them when they fit in ``limit``; else every graded row
    (the risers the ranker must put first) and a random sample of the others, ``limit`` rows in all."""
    if len(grade) <= limit:
        return np.arange(len(grade))
    graded = np.flatnonzero(grade > 0)
    others = rng.choice(np.flatnonzero(grade == 0), max(limit - len(graded), 0), replace=False)
    return np.sort(np.r_[graded, others])


def _fit_ranker(
    wide: Wide,
    t: int,
    horizon: int,
    groups: np.ndarray,
    spells: Spells,
    origins: int,
    seed: int,
    promo: np.ndarray | None = None,
):
    import lightgbm as lgb

    X, y, sizes = [], [], []
    rng = np.random.default_rng(seed)
    for origin in range(max(8, t - horizon - origins + 1), t - horizon + 1):
        known = ~np.all(np.isnan(wide.Y[:, :origin]), axis=1)
        rise = _window(wide.Y, origin, origin + horizon)[known] - _window(wide.Y, origin - horizon, origin)[known]
        grade = grades(rise)
        rows = query_rows(grade, rng, MAX_QUERY)
        X.append(features(wide, origin, horizon, groups, spells, promo)[known].iloc[rows])
        y.append(grade[rows])
        sizes.append(len(rows))
    if not X:
        return None
    model = lgb.LGBMRanker(
        objective="lambdarank",
        label_gain=[0, 1, 3, 7],
        lambdarank_truncation_level=40,
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        deterministic=True,  # the same list from the same input in any process, on any number of cores
        force_row_wise=True,
        verbose=-1,
        n_jobs=2,
    )
    model.fit(pd.concat(X, ignore_index=True)[_columns(promo)], np.concatenate(y), group=sizes)
    return model


def _top(score: np.ndarray, tie: np.ndarray, known: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest scores among ``known`` rows, ties broken by ``tie`` (higher first)."""
    return np.lexsort((-tie, -np.where(known, score, -np.inf)))[:k]


def _ranks(score: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each row's rank among ``known`` rows as a share of all rows, 1 for the highest score (ties: earlier row)."""
    order = np.argsort(-np.where(known, score, -np.inf), kind="stable")
    r = np.empty(len(score))
    r[order] = np.arange(len(score), 0, -1) / len(score)
    return r


def baselines(F: pd.DataFrame) -> dict[str, np.ndarray]:
    """The plain rankings a buyer would use instead, per series, from :func:`features`: 4-week momentum and, once
    the history reaches a year back (NaN before), the rise a year earlier of the weeks to come and year-over-year
    growth (the last 8 weeks less the ``horizon`` weeks a year before the coming ones, ``ya_level - ya_rise``:
    with the default horizon of 8, the same weeks a year earlier)."""
    return {
        "momentum": (F.s4 - F.s4_prev).to_numpy(),
        "year-ago rise": F.ya_rise.to_numpy(),
        "year-over-year": (F.s8 - (F.ya_level - F.ya_rise)).to_numpy(),
    }


def leading_baseline(
    wide: Wide,
    t: int,
    horizon: int,
    k: int,
    groups: np.ndarray,
    spells: Spells,
    origins: int,
    seed: int,
    promo: np.ndarray | None = None,
) -> str | None:
    """The :func:`baselines` ranking that caught more of the ``k`` biggest risers than the ranker on the last
    ``RECENT`` origins whose outcome is known before week ``t`` (the one that caught most, momentum first on a
    tie), or None. The ranker there is the one fitted at ``t - horizon`` (on the origins known by then): one extra
    fit, not one per origin. Around the Christmas close-down the ranker's origins have seen no restart, and
    momentum, which follows it, led there (docs/benchmarks.md); where a season repeats that the ranker's recent
    origins have not seen, the same weeks a year earlier can lead."""
    model = _fit_ranker(wide, t - horizon, horizon, groups, spells, origins, seed, promo)
    if model is None:
        return None
    hits: dict[str, int] = {}
    for o in range(max(t - horizon - RECENT + 1, horizon), t - horizon + 1):
        known = ~np.all(np.isnan(wide.Y[:, :o]), axis=1)
        F = features(wide, o, horizon, groups, spells, promo)
        rise = _window(wide.Y, o, o + horizon) - _window(wide.Y, o - horizon, o)
        true = np.argsort(-np.nan_to_num(rise, nan=-np.inf), kind="stable")[:k]
        gap = F.spell_gap.to_numpy()
        for name, s in {"ranker": model.predict(F[_columns(promo)]), **baselines(F)}.items():
            if np.isfinite(s).any():  # a year-ago ranking before the history reaches a year back scores nothing
                hits[name] = hits.get(name, 0) + len(np.intersect1d(true, _top(_defined(s), gap, known, k)))
    best = max((n for n in hits if n != "ranker"), key=lambda n: hits[n], default=None)
    return best if best is not None and hits[best] > hits.get("ranker", 0) else None


def _defined(score: np.ndarray) -> np.ndarray:
    """``score`` with undefined entries (a series without a year-ago week) last."""
    return np.nan_to_num(score, nan=-np.inf)


def _weeks(n: int) -> str:
    return "1 week" if n == 1 else f"{n} weeks"


def _reason(r: pd.Series) -> str:
    parts = [f"{r.last_units:,.0f} units in the last {_weeks(r.recent)}"]
    if r.reach >= 0.1:
        parts.append(f"{r.reach:.0%} of its past {r.horizon}-week spells sold clearly more: room to jump")
    if r.s26 * 8 / 26 > 1.5 * r.s8 and r.s26 > 0:
        parts.append(f"below its 26-week level ({r.s26 * 8 / 26:,.0f} per 8 weeks): demand returning")
    if r.age < 13:
        parts.append(f"new item ramping up (first sale {_weeks(r.age)} ago)")
    if r.s4 > 1.2 * r.s4_prev and r.s4 - r.s4_prev >= 5:
        parts.append(f"accelerating: last 4 weeks {r.s4:,.0f} vs {r.s4_prev:,.0f} the 4 before")
    before = r.ya_level - r.ya_rise  # the 8 weeks before those, a year ago
    if np.isfinite(r.ya_rise) and r.ya_rise > 0 and (before <= 0 or r.ya_level >= 1.1 * before):
        times = f"{r.ya_level / before:.1f}× " if before > 0 else ""
        parts.append(f"season starting: rose {times}in the same weeks last year (+{r.ya_rise:,.0f} units)")
    if np.isfinite(r.get("forecast", np.nan)):
        upper = f", up to {r.upside:,.0f} ({UPSIDE:.0%} chance of no more)" if r.upside >= r.forecast + 1 else ""
        if max(r.forecast, r.upside) > r.last_units:  # the upside ranked
            parts.append(f"forecast {r.forecast:,.0f} units in the next {_weeks(r.horizon)}{upper}")
        else:  # listed for what rose before in such weeks: a list of likeliest risers in a falling season
            parts.append(f"but its forecast is lower: {r.forecast:,.0f} units in the next {_weeks(r.horizon)}{upper}")
    if r.get("promotions"):
        parts.append(f"promotion ahead: {r.promotions} ({r.promo_next:.0f} days in the next {_weeks(r.horizon)})")
    if r.cat_growth > 0.2:
        parts.append(f"its category is growing ({r.cat_growth:+.0%} over 8 weeks)")
    return "; ".join(parts)


def hotspots(
    panel: pd.DataFrame,
    asof: str | pd.Timestamp | None = None,
    k: int = 20,
    horizon: int = 8,
    origins: int = 40,
    seed: int = 0,
    calendar: Calendar | None = None,
    forecasts: pd.DataFrame | bool = True,
) -> pd.DataFrame:
    """The ``k`` series whose units will rise most over the ``horizon`` weeks from ``asof``.

    ``panel``: long weekly ``unique_id, ds, y`` (+ optional ``category``); only weeks before ``asof`` are used (default:
    after the last week). Returns ``unique_id, score, reason, last_units, category, age, s4, s4_prev, ya_rise,
    reach``, best first; ``score`` (higher = more likely among the biggest unit risers) is the ranker's rank share
    (1 for its first) plus ``FORECAST_WEIGHT`` times the forecast rise's (up to 3; from ``LONG_HISTORY`` weeks of
    history on ``FORECAST_WEIGHT_LONG`` times, up to 7); without a forecast (or with a
    year or less of history) the ranker's score, or, where a plain ranking (:func:`baselines`) led the ranker
    lately, the sum of both rank shares (up to 2). With fewer than ``horizon + 9`` weeks of history, too few to
    train the ranker, ``reach`` stands in for its score (ties broken by ``spell_gap``, how far the last spell is
    below the series' mean spell).

    ``calendar``: the promotions known ahead (the tenant's events, China's festivals); the ranker then learns
    from the past origins what a promotion in the coming weeks did, and a listed item's reason names the
    promotions ahead of it. Without one (or one without a promotion in the panel's weeks) the list is as before.

    ``forecasts``: the demand forecast whose rise is blended in once the history before ``asof`` is over a year long
    (see the module's docstring): True (the default) fits :class:`~supplyfit.demand.Forecaster` on the weeks before
    ``asof`` (with the panel's price, revenue and category columns when it has them, and the calendar's promotions);
    a frame ``unique_id, ds, yhat`` (+ ``yhat_q10, yhat_q90``, whose band sets the upper quantile read; without them
    the mean) of forecasts of the weeks from ``asof`` uses those; False leaves the forecast out. A listed item whose
    forecast exceeds its last weeks says so in its reason."""
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    panel, back = string_ids(panel)  # the list carries the panel's own ids (ints stay ints)
    raw, tz = on_wall_clock(panel)  # weeks as the shop's clock reads them
    panel, shift = on_mondays(raw)
    wide = Wide.from_long(panel[["unique_id", "ds", "y"]])  # units only: revenue and price are not features
    if asof is not None:
        asof = _asof(pd.Timestamp(asof), tz, shift, wide.dates)
    cat = (
        panel.drop_duplicates("unique_id").set_index("unique_id")["category"].reindex(wide.ids)
        if "category" in panel.columns
        else None
    )
    if forecasts is True:
        forecasts = _forecast(raw, wide, asof, horizon, calendar, cat, shift)
    fc = forecasts if isinstance(forecasts, pd.DataFrame) else None
    out = _rank(wide, cat, asof, k, horizon, origins, seed, calendar, shift, fc)
    return out.assign(unique_id=given_ids(out["unique_id"], back)) if len(out) else out


def _asof(asof: pd.Timestamp, tz: object, shift: pd.Timedelta, dates: pd.DatetimeIndex) -> pd.Timestamp:
    """``asof`` on the panel's Monday grid (:func:`~supplyfit.demand.panel.known_weeks_end`), with a warning
    where the list can only be empty (no week before it) or where it is over a week after the panel's last (the
    weeks between are unknown, not zero)."""
    start = known_weeks_end(asof, tz, shift)
    if start <= dates[0]:
        warnings.warn(
            f"asof {asof:%Y-%m-%d} leaves no week of the panel before it (it starts {dates[0] + shift:%Y-%m-%d}): "
            "no hotspots",
            stacklevel=3,
        )
    elif start > dates[-1] + pd.Timedelta(weeks=1):
        weeks = (start - dates[-1]) // pd.Timedelta(weeks=1) - 1
        warnings.warn(
            f"asof {asof:%Y-%m-%d} is {weeks} week(s) after the panel's last week ({dates[-1] + shift:%Y-%m-%d}): "
            "the list is of the weeks after that last week",
            stacklevel=3,
        )
    return start


def _forecast(
    panel: pd.DataFrame,
    wide: Wide,
    asof: pd.Timestamp | None,
    horizon: int,
    calendar: Calendar | None,
    categories: pd.Series | None,
    shift: pd.Timedelta,
) -> pd.DataFrame | None:
    """The default Forecaster's forecasts of the ``horizon`` weeks from ``asof`` (Monday-based, as ``wide``), fitted
    on ``panel``'s weeks before it; with the calendar only when it has promotions in those weeks (as the ranker).
    None when those weeks are a year or less: then no forecast is blended in (:func:`_rank`)."""
    from ..demand import Forecaster

    cut = pd.Timestamp(asof if asof is not None else wide.dates[-1] + pd.Timedelta(weeks=1)) + shift
    t = int(wide.dates.searchsorted(cut - shift))
    if t <= SEASON:
        return None
    before = panel[pd.to_datetime(panel["ds"]) < cut]
    cat = None if categories is None else categories.astype(object).fillna("other").astype(str).to_numpy()
    known: Calendar | bool = True
    if calendar is not None and _promo(calendar, wide, t, horizon, cat, shift) is not None:
        known = calendar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Forecaster(h=horizon, calendar=known).fit(before).predict()


def rank(
    wide: Wide,
    categories: pd.Series | None,
    asof: str | pd.Timestamp | None = None,
    k: int = 20,
    horizon: int = 8,
    origins: int = 40,
    seed: int = 0,
    calendar: Calendar | None = None,
    forecasts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`hotspots` of a panel already in matrix form (``wide.Y``; revenue and price are not read), for a caller
    that builds the matrix without a long frame. ``categories``: each series' category, in ``wide.ids`` order
    (missing ones are 'other'), or None when the panel has none. ``forecasts``: ``unique_id, ds, yhat`` (+
    ``yhat_q10, yhat_q90``) of the weeks from ``asof`` (the demand stage's, say; blended in past a year of history),
    or None to rank without a forecast (none is fitted here)."""
    return _rank(wide, categories, asof, k, horizon, origins, seed, calendar, pd.Timedelta(0), forecasts)


def expected_units(forecasts: pd.DataFrame, ids: np.ndarray, horizon: int, q: float | None = None) -> np.ndarray:
    """Per series of ``ids``: the forecast units of the first ``horizon`` weeks of ``forecasts`` (``unique_id, ds,
    yhat``; scaled up to ``horizon`` weeks when it has fewer), NaN for a series it does not forecast. With ``q``
    and the weekly 80% bands (``yhat_q10, yhat_q90``), the ``q``-quantile of those weeks' sum instead, by a normal
    approximation (weeks independent, each week's sd from its band; within 0.01 of precision@20 of the negative
    binomial quantile of the sum on the benchmark's dates, docs/benchmarks.md)."""
    fc = forecasts.assign(unique_id=forecasts["unique_id"].astype(str))
    first = np.sort(pd.to_datetime(fc["ds"]).unique())[:horizon]
    fc = fc[pd.to_datetime(fc["ds"]).isin(first)]
    scale = horizon / max(len(first), 1)
    units = fc.groupby("unique_id")["yhat"].sum() * scale
    if q is not None and {"yhat_q10", "yhat_q90"} <= set(fc.columns):
        sd = (fc["yhat_q90"] - fc["yhat_q10"]) / (2 * stats.norm.ppf(0.9))  # a week's sd from its 80% band
        var = (sd**2).groupby(fc["unique_id"]).sum() * scale
        units = np.maximum(units + stats.norm.ppf(q) * np.sqrt(var), 0)
    return units.reindex(pd.Index(ids).astype(str)).to_numpy(float)


def _promo(calendar: Calendar | None, wide: Wide, t: int, horizon: int, cat: np.ndarray | None, shift: pd.Timedelta):
    """Promotion days per series and week, from the panel's first week to ``horizon`` weeks after week ``t``
    (weeks starting ``shift`` after the panel's Mondays); None without a promotion in those weeks."""
    if calendar is None or not calendar.knows_days:
        return None
    weeks = pd.date_range(wide.dates[0], periods=max(len(wide.dates), t) + horizon, freq=FREQ) + shift
    promo = calendar.weekly(weeks, wide.ids, cat).promo
    return promo if promo.any() else None  # holidays alone, or promotions outside the panel: nothing to learn


def _rank(
    wide: Wide,
    categories: pd.Series | None,
    asof: str | pd.Timestamp | None,
    k: int,
    horizon: int,
    origins: int,
    seed: int,
    calendar: Calendar | None,
    shift: pd.Timedelta,
    forecasts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`rank`, for weeks that start ``shift`` after the Mondays of ``wide.dates`` (a panel of Sunday weeks)."""
    if asof is None:
        asof = wide.dates[-1] + pd.Timedelta(weeks=1)
    t = int(wide.dates.searchsorted(pd.Timestamp(asof)))
    known = ~np.all(np.isnan(wide.Y[:, :t]), axis=1)
    if t == 0 or not known.any():
        return pd.DataFrame(columns=COLUMNS)
    cat = (
        np.full(len(wide.ids), "")
        if categories is None
        else categories.astype(object).fillna("other").astype(str).to_numpy()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spells = Spells(wide.Y[:, :t], horizon, k)
        promo = _promo(calendar, wide, t, horizon, None if categories is None else cat, shift)
        F = features(wide, t, horizon, cat, spells, promo)
        model = _fit_ranker(wide, t, horizon, cat, spells, origins, seed, promo)
        score = model.predict(F[_columns(promo)]) if model is not None else F.reach.to_numpy()
        lead = leading_baseline(wide, t, horizon, k, cat, spells, origins, seed, promo) if model is not None else None
        if lead is not None:
            score = _ranks(score, known) + _ranks(_defined(baselines(F)[lead]), known)
    recent = min(horizon, t)  # a history shorter than the horizon: its whole length
    last = _window(wide.Y, t - recent, t)
    expected = upside = np.full(len(wide.ids), np.nan)  # the mean (named in reasons) and the quantile ranked
    if forecasts is not None and t > SEASON:  # a year behind: the forecast rise weighs in
        expected = expected_units(forecasts, wide.ids, horizon)
        upside = expected_units(forecasts, wide.ids, horizon, UPSIDE)
    if np.isfinite(upside).any():
        rise = _defined(upside - _window(wide.Y, max(t - horizon, 0), t))
        weight = FORECAST_WEIGHT_LONG if t >= LONG_HISTORY else FORECAST_WEIGHT
        score = _ranks(score, known) + weight * _ranks(rise, known)
    out = F.assign(
        unique_id=wide.ids,
        score=score,
        last_units=last,
        forecast=expected,
        upside=upside,
        category=cat,
        horizon=horizon,
        recent=recent,
    )[known]
    out = out.sort_values(["score", "spell_gap"], ascending=False).head(k)
    if promo is not None and calendar is not None:
        start = pd.Timestamp(wide.dates[0]) + pd.Timedelta(weeks=t) + shift
        names = calendar.promotions(
            start,
            start + pd.Timedelta(weeks=horizon, days=-1),
            out["unique_id"].to_numpy(),
            None if categories is None else out["category"].to_numpy(),
        )
        out["promotions"] = [", ".join(dict.fromkeys(n)) for n in names]
    out["reason"] = out.apply(_reason, axis=1)
    return out[COLUMNS].reset_index(drop=True)
