"""The Forecaster: fit on a long panel, predict means and quantiles per series, reconcile a hierarchy."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import special, stats

from . import models as m
from .calendar import REFERENCE, SEASON, Calendar, ahead, open_share, season
from .panel import FREQ, Wide, given_ids, on_mondays, string_ids

QUANTILES = (0.1, 0.5, 0.9)
# the year-ago season a short history follows (Auto): only from this many series that sold a year before, and
# within this range (0.54-1.19 on the UCI shop at its 7 cut-offs; beyond it, a data error more likely than a season)
SEASON_SERIES, SEASON_RANGE = 20, (0.2, 5.0)
# ... and without any series that made more than this share of the units of the year-ago weeks it is read from:
# one wholesale order is not the shop's season (no UCI series comes near it at any of the 7 cut-offs)
SEASON_SHARE = 0.1
# ... nor from a shop that grew or shrank more than this much since those weeks: last year's shape is then its
# growth (a shop's first weeks, ramping up), not a season (the UCI shop: 0.87-1.17 at every short cut-off)
SEASON_GROWTH = (0.5, 2.0)
CALIBRATION_SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)  # dispersion multipliers tried
CORRELATIONS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)  # error correlations tried
TOTAL_CALIBRATION_WEEKS = 52  # the total's band is calibrated on the stand-in's errors of at most the last year


class Ensemble(m.Model):
    """Weighted mean of member forecasts."""

    def __init__(self, members: list[tuple[m.Model, float]], name: str = "ensemble"):
        self.members, self.name = members, name

    def fit(self, wide: Wide, categories: np.ndarray | None = None, h: int = 8) -> Self:
        for model, _ in self.members:
            _fit(model, wide, categories, h)
        return self

    def forecast(self, h: int) -> np.ndarray:
        total = sum(w for _, w in self.members)
        return np.asarray(sum(w * model.forecast(h) for model, w in self.members) / total)


class StatsForecastModel(m.Model):
    """A statsforecast model (AutoETS, CrostonOptimized, IMAPA, ADIDA, ...) behind the same interface."""

    def __init__(self, name: str):
        self.name = name

    def fit(self, wide: Wide) -> StatsForecastModel:
        self.wide = wide
        return self

    def forecast(self, h: int) -> np.ndarray:
        from statsforecast import StatsForecast
        from statsforecast import models as sm

        factories: dict[str, Callable[[], Any]] = {
            "ets": lambda: sm.AutoETS(season_length=1),
            "croston": sm.CrostonOptimized,
            "imapa": sm.IMAPA,
            "adida": sm.ADIDA,
            "arima": lambda: sm.AutoARIMA(season_length=1),
        }
        long = to_long(self.wide.ids, self.wide.dates, self.wide.Y).dropna(subset=["y"])
        sf = StatsForecast(
            models=[factories[self.name]()], freq=FREQ, n_jobs=1, fallback_model=sm.Naive()
        )  # tiny series
        fc = pd.DataFrame(sf.forecast(df=long, h=h))  # pandas in, pandas out
        col = next(c for c in fc.columns if c not in ("unique_id", "ds"))
        wide_fc = fc.pivot(index="unique_id", columns="ds", values=col).reindex(self.wide.ids)
        return np.clip(np.nan_to_num(wide_fc.to_numpy(float)), 0, None)


class Auto(Ensemble):
    """The default: SES blended with the global GBM (weight ``short_weight``) while the history is shorter than a
    year and a quarter; once it is longer the GBM sees the same weeks a year before, and SES (which has no season)
    would only blur the season, so the GBM forecasts alone.

    A short history is too short for the GBM to learn the season (its training weeks have no year before them),
    so with a calendar (``wide.closed`` given) the blend is scaled by the shop's year-ago season
    (:func:`~.calendar.season`): December and January after a Christmas peak sell what they did a year before,
    relative to the autumn. On 7 cut-offs of 18 months of retail data (benchmarks/forecast_calendar.py) this
    brought mean SKU WRMSSE from 0.852 to 0.794 (at 12-06 from 1.206 to 0.868, at 01-10 from 0.681 to 0.619);
    scaling the long-history GBM alike, or giving it the season as a feature, made 03-07 and 04-04 worse.

    The short-history weight was chosen on 5 cut-offs of 18 months of retail data with under 65 weeks of history
    (mean SKU WRMSSE over all 7 cut-offs at GBM weight 0.65 / 0.5 / 0.35 / 0.2 / 0: 0.874 / 0.864 / 0.856 / 0.850
    / 0.845; with the season, 0.75 / 0.5 / 0.25 / 0: 0.814 / 0.802 / 0.794 / 0.791). Not 0: the GBM is what sees a
    calendar's promotions and holidays, prices and categories, and on two-year synthetic panels it is the best
    model alone. Past ``season_weeks`` the categories' and total's forecasts lean on IMAPA's sums
    (:meth:`aggregate_forecast`)."""

    season_weeks = 65
    short_weight = 0.25
    aggregate_weight = 0.25

    def __init__(self, seed: int = 0):
        super().__init__([], "auto")
        self.seed = seed

    def fit(self, wide: Wide, categories: np.ndarray | None = None, h: int = 8) -> Self:
        gbm = m.GlobalGBM(seed=self.seed)
        w = self.short_weight
        self.short = wide.Y.shape[1] < self.season_weeks
        self.members = [(gbm, w), (m.SES(), 1 - w)] if self.short else [(gbm, 1.0)]
        self.history = wide
        self.reference = None if self.short else make_model("imapa").fit(wide)
        return super().fit(wide, categories, h)

    def forecast(self, h: int) -> np.ndarray:
        mean = super().forecast(h)
        return mean * year_ago_season(self.history, h)[None, :] if self.short else mean

    def aggregate_forecast(self, h: int) -> np.ndarray:
        """Per-SKU forecasts whose sums are the categories' and the total's: :meth:`forecast` while the history
        is short; past ``season_weeks``, ``aggregate_weight`` of it and the rest IMAPA's (statsforecast).

        The long-history GBM is the better SKU forecast, but its errors in the shop's common level add up over
        thousands of SKUs: its sums under-forecast the categories and the total (bias -8% on the 5 real cut-offs
        with 65-69 weeks of history), where a smoothed level's sums track them. Category / total WRMSSE on those
        cut-offs: GBM 0.463 / 0.418, IMAPA 0.445 / 0.388, this mix 0.442 / 0.382; on two 104-week synthetic panels
        GBM 1.090 / 1.684 and 1.012 / 1.372, this mix 1.049 / 1.607 and 0.925 / 1.205 (docs/benchmarks.md).
        Scaling the SKUs to these sums instead made SKU WRMSSE 0.5-1.5% worse (and scaling them down made it
        better while their sums fell further short): the items' accuracy and their sums' pull apart, so each level
        gets its better forecast and the SKUs keep theirs."""
        mean = self.forecast(h)
        if self.reference is None:
            return mean
        w = self.aggregate_weight
        return w * mean + (1 - w) * np.clip(self.reference.forecast(h), 0, None)


def year_ago_season(wide: Wide, h: int) -> np.ndarray:
    """The shop's season over the ``h`` weeks after ``wide``'s history, as it was a year before
    (:func:`~.calendar.season` of its total, over the weeks not marked closed), within ``SEASON_RANGE``. 1 without
    a calendar (``closed`` None), or when fewer than ``SEASON_SERIES`` series sold a year before: the total of a
    few series is their noise, not a shop's season."""
    T = wide.Y.shape[1]
    if wide.closed is None or T <= SEASON:
        return np.ones(h)
    if int((np.nansum(wide.Y[:, : T - SEASON], axis=1) > 0).sum()) < SEASON_SERIES:
        return np.ones(h)
    read = np.nansum(np.clip(wide.Y[:, max(T - SEASON - REFERENCE, 0) : T - SEASON + h + 1], 0, None), axis=1)
    total = np.nansum(wide.Y[read <= SEASON_SHARE * read.sum()], axis=0)
    open_week = ~wide.closed

    def level(lo: int, hi: int) -> float:
        weeks = np.arange(max(lo, 0), hi)
        weeks = weeks[open_week[weeks]]
        return float(total[weeks].mean()) if len(weeks) else np.nan

    now, before = level(T - REFERENCE, T), level(T - SEASON - REFERENCE, T - SEASON)
    if not (before > 0 and SEASON_GROWTH[0] <= now / before <= SEASON_GROWTH[1]):
        return np.ones(h)
    return np.clip(season(total, open_week.astype(float), T, h), *SEASON_RANGE)


def _fit(model: m.Model, wide: Wide, categories: np.ndarray | None, h: int) -> m.Model:
    if isinstance(model, (m.GlobalGBM, Ensemble)):
        return model.fit(wide, categories=categories, h=h)
    return model.fit(wide)


def make_model(name: str, seed: int = 0) -> m.Model:
    """A model by name: 'auto' (the default ensemble), a local model, 'lgbm', or a statsforecast model."""
    if name == "auto":
        return Auto(seed)
    if name == "lgbm":
        return m.GlobalGBM(seed=seed)
    if name in m.LOCAL_MODELS:
        return m.LOCAL_MODELS[name]()
    if name in ("ets", "croston", "imapa", "adida", "arima"):
        return StatsForecastModel(name)
    raise ValueError(
        f"unknown model {name!r}; choose auto, lgbm, {', '.join(m.LOCAL_MODELS)}, ets, croston, imapa, adida, arima"
    )


def category_groups(categories: np.ndarray) -> dict[str, np.ndarray]:
    """Row masks of each category's series, keyed by the aggregate's id ('category/NAME')."""
    return {f"category/{c}": categories == c for c in np.unique(categories)}


def to_long(ids: np.ndarray, dates: pd.DatetimeIndex, M: np.ndarray, value: str = "y") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": np.repeat(ids, len(dates)), "ds": np.tile(dates, len(ids)), value: M.reshape(-1)})


def raw_dispersion(Y: np.ndarray, weeks: int = 26) -> np.ndarray:
    """Negative-binomial over-dispersion per series (var = mu + a mu^2) from recent weeks since its first sale (the
    zeros a rectangular panel puts before an item's launch are no weeks of its demand: they had doubled a new
    item's band); NaN where undefined."""
    sold = np.nan_to_num(Y) > 0
    before = np.arange(Y.shape[1])[None, :] < np.where(sold.any(axis=1), sold.argmax(axis=1), 0)[:, None]
    tail = np.where(before, np.nan, Y)[:, -weeks:]
    with np.errstate(all="ignore"):
        mu = np.nanmean(tail, axis=1)
        var = np.nanvar(tail, axis=1)
        a = (var - mu) / mu**2
    return np.where(np.isfinite(a), np.clip(a, 0.01, 20), np.nan)


def dispersion_prior(a: np.ndarray) -> float:
    """What per-series dispersions are shrunk towards: their median over the panel (1 when none is defined)."""
    return float(np.nanmedian(a)) if np.isfinite(a).any() else 1.0


def dispersion(Y: np.ndarray, weeks: int = 26, prior: float | None = None) -> np.ndarray:
    """:func:`raw_dispersion` shrunk towards ``prior`` (default: :func:`dispersion_prior` of this panel)."""
    a = raw_dispersion(Y, weeks)
    if prior is None:
        prior = dispersion_prior(a)
    n = np.sum(~np.isnan(Y[:, -weeks:]), axis=1)
    w = n / (n + 8.0)
    return np.where(np.isnan(a), prior, w * a + (1 - w) * prior)


def _nb_params(mean: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = 1.0 / np.maximum(a, 1e-6)
    return r, r / (r + np.maximum(mean, 1e-9))


def nb_quantiles(mean: np.ndarray, a: np.ndarray, q: float) -> np.ndarray:
    """Quantile q of a negative binomial with the given mean and over-dispersion (broadcast over arrays)."""
    return stats.nbinom.ppf(q, *_nb_params(mean, a)).astype(float)


def group_sums(M: np.ndarray, groups: dict[str, np.ndarray]) -> np.ndarray:
    """Column sums of each group's rows of ``M`` (result: group x column, in the order of ``groups``)."""
    return np.vstack([M[mask].sum(axis=0) for mask in groups.values()])


def aggregate_sd(var: np.ndarray, groups: dict[str, np.ndarray], rho: float) -> np.ndarray:
    """Standard deviation of each group's sum (rows of ``var``: series; result: group x step) when the
    errors of any two series correlate by ``rho``: (1 - rho) sum(var) + rho (sum(sd))^2. Demand shocks are
    shared (a hot week lifts most SKUs), so rho = 0 makes category and total intervals far too narrow."""
    sd = np.sqrt(var)
    return np.vstack(
        [np.sqrt((1 - rho) * var[mask].sum(axis=0) + rho * sd[mask].sum(axis=0) ** 2) for mask in groups.values()]
    )


def _warn_if_fractional(Y: np.ndarray) -> None:
    """A warning when most sales are fractions (tonnes, litres): the intervals are negative-binomial, of whole
    units, and y / 1000 got bands of 0 to 0 around forecasts of 0.009."""
    sold = Y[np.isfinite(Y) & (Y != 0)]
    if len(sold) and np.mean(sold != np.round(sold)) > 0.5:
        warnings.warn(
            "most of y are fractions: forecasts are fine, but their quantiles count whole units; "
            "give y in a unit that sells whole numbers (grams, not tonnes) for useful intervals",
            stacklevel=3,
        )


def moment_correlation(Y: np.ndarray, closed: np.ndarray | None = None) -> float:
    """The error correlation ``rho`` of :func:`aggregate_sd` that makes the weekly variance of the total of ``Y``
    (series x weeks; ``closed`` weeks left out) what its series' variances add up to, within CORRELATIONS' range:
    the stand-in for the hold-out calibration where there is none (under 3 h weeks or 10 series). 0 was assumed
    there before, and a shop's total band on 16 weeks covered a fifth of the weeks after it (a shared weekly swing,
    simulated)."""
    if closed is not None:
        Y = Y[:, ~closed]  # a close-down is not a swing of demand
    Y = Y[np.isfinite(Y).all(axis=1)]  # series listed through the window: one launched within it is no swing either
    if len(Y) < 2 or Y.shape[1] < 3:
        return 0.0
    var = np.var(Y, axis=1, ddof=1)
    room = np.sqrt(var).sum() ** 2 - var.sum()
    if not room > 0:
        return 0.0
    return float(np.clip((np.var(Y.sum(axis=0), ddof=1) - var.sum()) / room, 0.0, max(CORRELATIONS)))


def _total_ratios(window: tuple[np.ndarray, ...], scale: float, rho: float) -> np.ndarray:
    """|error| / sd of the total of a calibration ``window`` (:meth:`Forecaster._stand_in`), per open week with a
    finite error and a positive sd, under the SKU dispersion multiplier ``scale`` and the error correlation ``rho``."""
    mean, actual, a = window[:3]
    sd = aggregate_sd(mean + a * scale * mean**2, {"total": np.ones(len(mean), bool)}, rho)[0]
    error = np.abs(np.nansum(actual, axis=0) - mean.sum(axis=0))
    ok = (sd > 0) & np.isfinite(error)
    return error[ok] / sd[ok]


def nb_interval_hits(y: np.ndarray, mean: np.ndarray, a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Whether each ``y`` lies in the negative binomial's [quantile lo, quantile hi], from two CDF values
    instead of two quantile searches: y >= Q(lo) iff F(floor y) >= lo, and y <= Q(hi) iff F(ceil y - 1) < hi."""
    r, p = _nb_params(mean, a)
    with np.errstate(invalid="ignore"):
        above = special.betainc(r, np.floor(y) + 1, p) >= lo
        below = np.where(np.ceil(y) >= 1, special.betainc(r, np.maximum(np.ceil(y), 1), p), 0.0) < hi
    return above & below & ~np.isnan(y)


class Forecaster:
    """Weekly demand forecasts with quantiles (scikit-learn style ``fit``/``predict``, Nixtla-style frames).

    >>> fc = Forecaster(h=8).fit(panel)
    >>> fc.predict()   # unique_id, ds, yhat, yhat_q10, yhat_q50, yhat_q90

    ``model='auto'`` is the default (global LightGBM on scale-free targets, see :class:`Auto`); any name accepted by
    :func:`make_model` works. Intervals come from a negative binomial around ``yhat`` whose dispersion is
    estimated per series, shrunk towards the panel's median (``dispersion_prior`` fixes it, e.g. when a panel is
    forecast in shards) and calibrated on the last ``h`` weeks of the training data. With ``calendar`` (the
    default) the shop's close-downs are read off its weekly total, left out of what the models learn from, and
    repeated a year later; a :class:`~.calendar.Calendar` adds known days: its closures do the same, its
    promotions and public holidays are features of the global model (:mod:`.calendar`). With a calendar, the
    default model also follows the shop's year-ago season while the history is too short for the GBM to learn it
    (:class:`Auto`). Category and total bands (:meth:`predict_hierarchy`) are calibrated on the same weeks: one
    error correlation between SKUs (``correlation_``), and the total's own factor on its sd (``total_scale_``).
    """

    def __init__(
        self,
        h: int = 8,
        freq: str = FREQ,
        model: str = "auto",
        quantiles: tuple = QUANTILES,
        calibrate: bool = True,
        seed: int = 0,
        dispersion_prior: float | None = None,
        calendar: bool | Calendar = True,
    ):
        if freq != FREQ:
            raise ValueError(f"only weekly panels (freq={FREQ!r}) are supported")
        self.h, self.freq, self.model_name, self.quantiles = h, freq, model, tuple(quantiles)
        self.calibrate, self.seed, self.dispersion_prior = calibrate, seed, dispersion_prior
        self.calendar = calendar

    def fit(self, panel: pd.DataFrame) -> Forecaster:
        missing = {"unique_id", "ds", "y"} - set(panel.columns)
        if missing:
            raise ValueError(f"panel lacks column(s) {sorted(missing)}; expected long format unique_id, ds, y")
        if self.h < 1:
            raise ValueError(f"h must be at least 1 week (got {self.h})")
        panel, self.ids_back_ = string_ids(panel)  # forecasts carry the panel's own ids (ints stay ints)
        panel, self.shift_ = on_mondays(panel)  # forecasts are dated on the panel's own weekday
        self.wide_ = Wide.from_long(panel)
        _warn_if_fractional(self.wide_.Y)
        self.categories_ = self._categories(panel)
        T, h = len(self.wide_.dates), self.h
        known = self.calendar if isinstance(self.calendar, Calendar) else None
        if known is not None and known.closures is not None:  # the whole shop's, given (a shard's total is not)
            learned = known.closures.reindex(self.wide_.dates).fillna(1.0).to_numpy(float)
        elif self.calendar is not False:
            learned = open_share(np.nansum(self.wide_.Y, axis=0))
        else:
            learned = np.ones(T)
        planned, self.days_ = np.ones(T + h), None
        if known is not None and known.knows_days:
            weeks = pd.date_range(self.wide_.dates[0], periods=T + h, freq=FREQ)
            self.days_ = known.weekly(weeks, self.wide_.ids, self.categories_)
            planned = 1 - self.days_.closed / 7
        self.open_ = np.minimum(learned, planned[:T])
        self.ahead_ = np.minimum(ahead(self.open_, h), planned[T:])
        self.learn_ = self._without_closed_weeks()
        with warnings.catch_warnings():  # all-NaN windows of young series are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            self.model_ = _fit(make_model(self.model_name, self.seed), self.learn_, self.categories_, self.h)
            self.dispersion_ = dispersion(self.learn_.Y, prior=self.dispersion_prior)
            self.scale_, self.correlation_, self.total_scale_ = self._calibrate() if self.calibrate else (1.0, 0.0, 1.0)
            self.mean_ = np.clip(self.model_.forecast(self.h), 0, None) * self.ahead_[None, :]
            own = self.model_.aggregate_forecast(self.h) if isinstance(self.model_, Auto) else None
            self.aggregate_mean_ = self.mean_ if own is None else np.clip(own, 0, None) * self.ahead_[None, :]
        return self

    def _without_closed_weeks(self) -> Wide:
        """The history the models learn from, with its closed weeks (open share < 1) marked: the global model
        does not take them as targets (they are no demand), while its features keep their zeros, as sales did.
        Without a calendar nothing is marked (``closed`` None), and :class:`Auto` adds no season.

        Chosen on 7 cut-offs of 18 months of retail data: leaving the closed weeks out of the features too made
        the weeks after a close-down start from the peak before it (SKU WRMSSE 0.894 against 0.868)."""
        w, days = self.wide_, self.days_
        promo, holiday = (days.promo, days.holiday) if days else (None, None)
        closed = None if self.calendar is False else self.open_ < 1
        return Wide(w.ids, w.dates, w.Y, w.revenue, w.price, promo, holiday, closed)

    def _categories(self, panel: pd.DataFrame) -> np.ndarray | None:
        if "category" not in panel.columns:
            return None
        cat = panel.drop_duplicates("unique_id").set_index("unique_id")["category"]
        return cat.reindex(self.wide_.ids).fillna("other").astype(str).to_numpy()

    def _calibrate(self) -> tuple[float, float, float]:
        """Dispersion multiplier that makes the SKUs' central 80% interval cover 80% of the last h training
        weeks, then the error correlation that does the same for the categories' and total's intervals, then the
        total's own multiplier of that band (:meth:`_total_scale`).

        The errors come from a fast stand-in (SES) refitted without those weeks, so calibration costs
        milliseconds, not a second fit of the full model. Where :class:`Auto` follows last year's season, so does
        the stand-in: at 02-07 on the retail data, January's fall after the autumn had made SES's errors, and so
        the total's and categories' bands, half as wide again as the forecast needed (width / level 1.49 against
        1.07, both covering all 8 weeks)."""
        h, T = self.h, self.wide_.Y.shape[1]
        last = self._stand_in(T - h) if T >= 3 * h else None
        if last is None:
            closed = None if self.learn_.closed is None else self.learn_.closed[-26:]
            return 1.0, moment_correlation(self.learn_.Y[:, -26:], closed), 1.0
        mean, actual, a, keep = last
        scale = min(
            CALIBRATION_SCALES, key=lambda c: abs(np.mean(nb_interval_hits(actual, mean, a * c, 0.1, 0.9)) - 0.8)
        )
        groups = self._groups(keep)
        agg_mean, agg_actual = group_sums(mean, groups), group_sums(np.nan_to_num(actual), groups)
        var = mean + a * scale * mean**2
        z = stats.norm.ppf(0.9)

        def gap(rho: float) -> float:
            half = z * aggregate_sd(var, groups, rho)
            return abs(np.mean(np.abs(agg_actual - agg_mean) <= half) - 0.8)

        rho = min(CORRELATIONS, key=gap)
        return scale, rho, self._total_scale(scale, rho, last)

    def _stand_in(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The calibration stand-in (SES, with the model's season where :class:`Auto` follows one) fitted on the
        weeks before ``start`` and its forecast of the ``h`` weeks from there: (forecast, actuals, dispersion
        column, rows kept), over the series with a week before ``start`` and the open weeks only (closed weeks are
        no demand to calibrate on). None when fewer than 10 series or no open week are left."""
        h, learn = self.h, self.learn_

        def cut(M: np.ndarray | None) -> np.ndarray | None:
            return None if M is None else M[:, :start]

        closed = None if learn.closed is None else learn.closed[:start]
        head = Wide(
            learn.ids, learn.dates[:start], learn.Y[:, :start], cut(learn.revenue), cut(learn.price), closed=closed
        )
        keep = ~np.all(np.isnan(head.Y), axis=1)
        weeks = self.open_[start : start + h] == 1
        if keep.sum() < 10 or not weeks.any():
            return None
        mean = m.SES().fit(head).forecast(h)
        if isinstance(self.model_, Auto) and self.model_.short:  # the stand-in follows the model's season
            mean = mean * year_ago_season(head, h)[None, :]
        actual = learn.Y[keep, start : start + h][:, weeks]
        return mean[keep][:, weeks], actual, dispersion(head.Y)[keep][:, None], keep

    def _total_scale(self, scale: float, rho: float, last: tuple[np.ndarray, ...]) -> float:
        """Multiplier of the total's standard deviation under ``rho`` (``total_scale_``). ``rho`` is fitted to
        every aggregate at once, the total one vote among many, and makes any two categories' errors move almost
        as one: the total's band came out as wide as the sum of the categories' (80% coverage 0.946 on the retail
        data's 7 cut-offs; with this factor 0.875 at three quarters of the width).

        The factor is the median of the total's |error| / sd over the stand-in's h-week windows of the last year
        (``last``, and each h weeks before it whose history has 2 h weeks) over 0.674, a normal's median |z|,
        shrunk in logs towards 1 (``rho`` alone) with the weight n / (n + h) of its n weeks: one window is as
        noisy as ``rho``'s pooled guess, a year of them outweighs it. The median, not an 80% quantile, and a year,
        not the last h weeks: a quantile of the last 8 or 16 weeks is noise (at 12-06 those weeks showed none of
        the Christmas error, and the band covered 4 of 8), and the median is robust to the close-down's windows,
        whose errors are several sd."""
        h, T = self.h, self.wide_.Y.shape[1]
        starts = range(T - 2 * h, max(2 * h, T - TOTAL_CALIBRATION_WEEKS) - 1, -h)
        windows = [last, *(self._stand_in(s) for s in starts)]
        ratios = np.concatenate([_total_ratios(w, scale, rho) for w in windows if w is not None])
        if not ratios.size:
            return 1.0
        raw = max(float(np.median(ratios)), 1e-3) / stats.norm.ppf(0.75)
        return float(raw ** (ratios.size / (ratios.size + h)))

    def _groups(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Row masks of the aggregates (each category, then the total), over ``rows`` of the panel if given."""
        cats = self.categories_ if self.categories_ is not None else np.full(len(self.wide_.ids), "all")
        if rows is not None:
            cats = cats[rows]
        groups = category_groups(cats)
        groups["total"] = np.ones(len(cats), bool)
        return groups

    def _forecast_matrices(self) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        mean = self.mean_
        a = (self.dispersion_ * self.scale_)[:, None]
        return mean, {q: nb_quantiles(mean, a, q) for q in self.quantiles}

    def quantile_of_sum(self, steps: int, q: float) -> pd.Series:
        """Per series, quantile ``q`` of total demand over the first ``steps`` forecast weeks (negative binomial
        with the summed mean and variance); what a base-stock level over lead time + review period needs."""
        mean = self.mean_[:, :steps]
        a = (self.dispersion_ * self.scale_)[:, None]
        mu = mean.sum(axis=1)
        var = (mean + a * mean**2).sum(axis=1)
        a_sum = np.where(mu > 0, np.maximum(var - mu, 1e-9) / np.maximum(mu, 1e-9) ** 2, 1.0)
        return pd.Series(np.where(mu > 0, nb_quantiles(mu, a_sum, q), 0.0), index=self.wide_.ids)

    def _ahead(self) -> pd.DatetimeIndex:
        """The forecast weeks, dated on the fitted panel's weekday."""
        return pd.date_range(self.wide_.dates[-1] + pd.Timedelta(weeks=1), periods=self.h, freq=FREQ) + self.shift_

    def predict(self, h: int | None = None) -> pd.DataFrame:
        """One row per series and step: unique_id, ds, yhat, yhat_q10, yhat_q50, yhat_q90; the first ``h`` weeks of
        the ``h`` fitted (all of them by default; ``predict(h=8)`` as statsforecast's, up to the fitted h)."""
        if not hasattr(self, "mean_"):
            raise ValueError("call fit(panel) before predict")
        if h is not None and not (isinstance(h, int | np.integer) and 1 <= h <= self.h):
            raise ValueError(f"h must be a whole number of weeks from 1 to the {self.h} fitted (Forecaster(h=...))")
        mean, qs = self._forecast_matrices()
        out = to_long(given_ids(self.wide_.ids, self.ids_back_), self._ahead(), mean, "yhat")
        for q, M in qs.items():
            out[f"yhat_q{round(q * 100)}"] = M.reshape(-1)
        if h is not None and h < self.h:
            out = out[np.tile(np.arange(self.h) < h, len(self.wide_.ids))].reset_index(drop=True)
        return out

    def predict_hierarchy(self) -> pd.DataFrame:
        """Forecasts for SKUs, categories and the total. Aggregates are sums over their SKUs of
        ``aggregate_mean_``: the SKUs' own forecasts (bottom-up), except for the default model past a year and a
        quarter of history, whose aggregates lean on IMAPA's sums (:meth:`Auto.aggregate_forecast`); there a
        category's or the total's ``yhat`` is not the sum of its SKUs' (a better forecast of each than that sum).

        Aggregate quantiles use a normal approximation whose variance sums the SKUs' NB variances with the
        error correlation calibrated in ``fit`` (``correlation_``); the total's standard deviation is then
        multiplied by its own calibrated factor (``total_scale_``, 1 without calibration).
        Returns the columns of ``predict`` plus ``level`` ('sku', 'category', 'total').
        """
        mean, a = self.aggregate_mean_, (self.dispersion_ * self.scale_)[:, None]
        groups = self._groups()
        own = np.array([self.total_scale_ if gid == "total" else 1.0 for gid in groups])[:, None]
        sds = aggregate_sd(mean + a * mean**2, groups, self.correlation_) * own
        dates = self._ahead()
        frames = [self.predict().assign(level="sku")]
        for gid, mu, sd in zip(groups, group_sums(mean, groups), sds):
            row = pd.DataFrame({"unique_id": gid, "ds": dates, "yhat": mu})
            for q in self.quantiles:
                row[f"yhat_q{round(q * 100)}"] = np.clip(mu + stats.norm.ppf(q) * sd, 0, None)
            frames.append(row.assign(level="total" if gid == "total" else "category"))
        return pd.concat(frames, ignore_index=True)
