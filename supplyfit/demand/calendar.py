"""Calendars. The shop's own, read off its weekly total: close-downs (Christmas breaks, stocktakes, Spring
Festival) found in the history and expected again a year later. The known one: public holidays of a country (the
``holidays`` package), Chinese shopping festivals (618, Double 11, the shopping before Spring Festival) and the
tenant's own events (``supplyfit ingest events``: promotions, closures, launches), as days per week.

A week is (partly) closed when the shop's total falls below ``CLOSED`` of the median of the weeks around it; its
open share is that ratio. The global model does not learn from closed weeks as targets (a closed week says nothing
about demand), and the forecast of a week is scaled by the open share of the same week a year before. A shop that
never closes gets shares of 1 everywhere: the forecasts are unchanged. Found on the UCI retail shop, whose weekly
total fell to 2k and 0 in the 2009 break and again in the 2010 break, while forecasts without it stayed at 27.7k a
week through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..store import Store

CLOSED = 0.5  # a week below half the weeks around it is a close-down, not a slow week
MIN_LEVEL = 30.0  # units a week around it, at least: one item selling 3 a week has weeks of 0 that close nothing
AROUND = 6  # weeks on either side that make the reference level
SEASON = 52
REFERENCE = 13  # weeks before the origin a year ago that the year-ago season is measured against


def open_share(total: np.ndarray) -> np.ndarray:
    """Per week of ``total`` (the shop's units per week), its open share: 1 for a normal week, the ratio to the
    median of the ``AROUND`` weeks on either side for a week below ``CLOSED`` of it. Under ``MIN_LEVEL`` units a
    week such a fall is the noise of a few sales (Poisson at 30 falls below 15 in one week of 1,000), not a
    close-down."""
    total = np.nan_to_num(np.asarray(total, float))
    n = len(total)
    share = np.ones(n)
    for t in range(n):
        around = np.r_[total[max(t - AROUND, 0) : t], total[t + 1 : t + 1 + AROUND]]
        ref = np.median(around) if len(around) else 0.0
        if ref >= MIN_LEVEL and total[t] < CLOSED * ref:
            share[t] = total[t] / ref
    return share


def ahead(share: np.ndarray, h: int) -> np.ndarray:
    """The open share of the ``h`` weeks after the history: that of the same weeks a year before (1 where the
    history does not reach back a year); past a year ahead, the same year repeats."""
    n = len(share)
    idx = n - SEASON + np.arange(h) % SEASON
    return np.where(idx >= 0, share[np.clip(idx, 0, None)], 1.0) if n else np.ones(h)


def season(total: np.ndarray, share: np.ndarray, origin: int, h: int) -> np.ndarray:
    """The shop's season over the ``h`` weeks from week ``origin``, as it was a year before: per week, the total of
    the same weeks a year before (that week and one on either side) over the total of the ``REFERENCE`` weeks
    before the origin a year before, both over open weeks only (``share`` == 1: a close-down is not the season,
    :func:`ahead` repeats it). 1 where the history does not reach back that far. Only weeks before ``origin`` are
    read (h < 52).

    On the UCI shop it says what a level cannot: that the weeks after the Christmas close-down sell about 60% of
    November's, as they did a year before."""
    total, open_week = np.nan_to_num(np.asarray(total, float)), np.asarray(share) == 1

    def open_mean(lo: int, hi: int) -> float:
        weeks = np.arange(max(lo, 0), min(hi, origin))
        weeks = weeks[open_week[weeks]]
        return float(total[weeks].mean()) if len(weeks) else np.nan

    ref = open_mean(origin - SEASON - REFERENCE, origin - SEASON)
    out = np.ones(h)
    if not ref > 0:
        return out
    for k in range(h):
        t = origin + k - SEASON
        same = open_mean(t - 1, t + 2)
        out[k] = same / ref if np.isfinite(same) else 1.0
    return out


def public_holidays(country: str, years: range) -> pd.DatetimeIndex:
    """The public holidays of ``country`` (ISO code, e.g. GB, CN, US, DE) in ``years``."""
    import holidays

    try:
        days = holidays.country_holidays(country.upper(), years=list(years))
    except NotImplementedError:
        raise ValueError(
            f"no public holidays known for country {country!r} (use an ISO code such as GB or CN)"
        ) from None
    return pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in days))


def festivals(years: range) -> pd.DataFrame:
    """China's shopping festivals as promotion events (scope all): 618 (1-18 June), Double 11 (1-11 November) and
    the two weeks of shopping before Spring Festival (Chinese New Year's Day from the ``holidays`` package)."""
    import holidays

    rows = []
    for y in years:
        rows += [("618", f"{y}-06-01", f"{y}-06-18"), ("Double 11", f"{y}-11-01", f"{y}-11-11")]
        new_year = [d for d, name in holidays.country_holidays("CN", years=y).items() if "Spring Festival" in name]
        if new_year:
            first = pd.Timestamp(min(new_year))
            rows.append(("Spring Festival shopping", first - pd.Timedelta(days=14), first - pd.Timedelta(days=1)))
    frame = pd.DataFrame(rows, columns=["name", "start", "end"])
    return frame.assign(
        start=pd.to_datetime(frame.start), end=pd.to_datetime(frame.end), scope="all", target="", kind="promotion"
    )


def shop_closures(total: pd.Series) -> pd.Series:
    """The open share of each week (index: Mondays) of a shop's weekly ``total``: what a forecaster of one part of the
    shop (a shard or chunk of its series) must be given, since its own part's total is not the shop's."""
    return pd.Series(open_share(total.to_numpy(float)), index=pd.DatetimeIndex(total.index))


@dataclass(frozen=True)
class Calendar:
    """What a forecaster knows of the days ahead and behind: ``events`` (name, start, end, scope, target, kind, as
    stored by ``supplyfit ingest events``), the public holidays of ``country`` and, with ``festivals``, China's
    shopping festivals as promotions; ``closures``, the shop's open share per week (:func:`shop_closures`) when the
    panel forecast is a part of the shop."""

    events: pd.DataFrame | None = None
    country: str | None = None
    festivals: bool = False
    closures: pd.Series | None = None

    @property
    def knows_days(self) -> bool:
        """Whether it has days to count (events, holidays or festivals), as features of the global model."""
        return (self.events is not None and len(self.events) > 0) or bool(self.country) or self.festivals

    def weekly(self, weeks: pd.DatetimeIndex, ids: np.ndarray, categories: np.ndarray | None) -> WeeklyCalendar:
        """Days per week (Monday-starting ``weeks``): promotion days per series, closure days and public
        holidays of the whole shop."""
        days = pd.date_range(weeks[0], weeks[-1] + pd.Timedelta(days=6), freq="D")
        years = range(days[0].year, days[-1].year + 1)
        events = self.all_events(years)
        week_of = np.repeat(np.arange(len(weeks)), 7)[: len(days)]
        promo = np.zeros((len(ids), len(weeks)))
        closed = np.zeros(len(weeks))
        for e in events.itertuples(index=False):
            on = (days >= pd.Timestamp(e.start)) & (days <= pd.Timestamp(e.end))
            per_week = np.bincount(week_of[on], minlength=len(weeks)).astype(float)
            if e.kind == "closure" and e.scope == "all":
                closed += per_week
            elif e.kind == "promotion":
                rows = _rows(e.scope, e.target, ids, categories)
                promo[rows] += per_week
        holiday = np.zeros(len(weeks))
        if self.country:
            hit = days.isin(public_holidays(self.country, years))
            holiday = np.bincount(week_of[hit], minlength=len(weeks)).astype(float)
        return WeeklyCalendar(np.minimum(promo, 7), np.minimum(closed, 7), holiday)

    def all_events(self, years: range) -> pd.DataFrame:
        """The tenant's events and, with ``festivals``, China's shopping festivals of ``years``."""
        columns = ["name", "start", "end", "scope", "target", "kind"]
        events = self.events if self.events is not None else pd.DataFrame(columns=columns)
        return pd.concat([events, festivals(years)], ignore_index=True) if self.festivals else events

    def promotions(
        self, start: pd.Timestamp, end: pd.Timestamp, ids: np.ndarray, categories: np.ndarray | None
    ) -> list[list[str]]:
        """Per series of ``ids``, the names of the promotions that cover it on some day from ``start`` to ``end``."""
        names: list[list[str]] = [[] for _ in ids]
        for e in self.all_events(range(start.year, end.year + 1)).itertuples(index=False):
            if e.kind == "promotion" and pd.Timestamp(e.start) <= end and pd.Timestamp(e.end) >= start:
                for i in np.flatnonzero(_rows(e.scope, e.target, ids, categories)):
                    names[i].append(str(e.name))
        return names


def store_calendar(store: Store) -> Calendar | None:
    """A :class:`~supplyfit.store.Store` tenant's known calendar: its events, its country's public holidays and, in
    China, the shopping festivals; None when it has neither events nor a country."""
    events, country = store.events(), store.country
    if events.empty and country is None:
        return None
    return Calendar(events=events, country=country, festivals=country == "CN")


def _rows(scope: str, target: str, ids: np.ndarray, categories: np.ndarray | None) -> np.ndarray:
    if scope == "all":
        return np.ones(len(ids), bool)
    if scope == "sku":
        return ids == target
    return categories == target if categories is not None else np.zeros(len(ids), bool)


@dataclass(frozen=True)
class WeeklyCalendar:
    """Per week: ``promo`` days per series (series x week), ``closed`` days and public ``holiday`` days."""

    promo: np.ndarray
    closed: np.ndarray
    holiday: np.ndarray
