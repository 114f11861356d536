"""The shop's calendar read off its weekly total: close-downs found, left out of learning, repeated a year later."""

import numpy as np
import pandas as pd

from supplyfit.demand import Forecaster
from supplyfit.demand.calendar import ahead, open_share, season


def _panel(weeks: int, closed: tuple[int, ...] = (), series: int = 30, seed: int = 0) -> pd.DataFrame:
    """Poisson series at 20 a week, all zero in the ``closed`` weeks (a close-down of the whole shop)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2020-01-06", periods=weeks, freq="W-MON")
    y = rng.poisson(20, (series, weeks)).astype(float)
    y[:, list(closed)] = 0.0
    return pd.DataFrame(
        {"unique_id": np.repeat([f"S{i}" for i in range(series)], weeks), "ds": np.tile(ds, series), "y": y.reshape(-1)}
    )


def test_open_share_finds_close_downs_and_nothing_else():
    total = np.full(30, 100.0)
    total[[10, 11]] = [40.0, 0.0]
    total[20] = 70.0  # a slow week is not a close-down
    share = open_share(total)
    assert share[10] == 0.4 and share[11] == 0.0 and (np.delete(share, [10, 11]) == 1).all()
    year = np.ones(52)
    year[1] = 0.25
    assert ahead(year, 3).tolist() == [1.0, 0.25, 1.0]  # the forecast weeks take the open share of a year before
    assert ahead(year[:40], 3).tolist() == [1.0, 1.0, 1.0]  # no year of history: open
    assert ahead(year, 55)[[1, 53]].tolist() == [0.25, 0.25]  # more than a year ahead: the same year again


def test_a_few_sales_a_week_have_weeks_of_none_that_close_nothing():
    """One item at 3 a week: its weeks of 0 are below half the weeks around them, and no close-down."""
    total = np.random.default_rng(1).poisson(3, 104).astype(float)
    assert (total == 0).any() and (open_share(total) == 1).all()
    panel = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2021-01-04", periods=104, freq="W-MON"), "y": total})
    fc = Forecaster(h=60).fit(panel).predict()  # more than a year ahead runs too
    assert len(fc) == 60 and (fc.yhat > 0).all()


def test_the_same_weeks_a_year_later_are_forecast_closed_and_the_weeks_after_are_not_dragged_down():
    closed = (50, 51)  # the last two weeks of the first year
    panel = _panel(100, closed)  # ends 2 weeks before the close-down comes round again
    fc = Forecaster(h=6).fit(panel)
    total = fc.predict().groupby("ds").yhat.sum().to_numpy()
    assert np.allclose(total[2:4], 0.0) and (fc.open_[list(closed)] == 0).all()
    assert 0.8 * 600 < total[0] < 1.2 * 600 and 0.8 * 600 < total[4] < 1.2 * 600  # 30 series x 20
    plain = Forecaster(h=6, calendar=False).fit(panel).predict().groupby("ds").yhat.sum().to_numpy()
    assert plain[2] > 400  # without the calendar the close-down is forecast as a normal week


def test_season_is_last_years_same_weeks_over_the_weeks_before_them_open_weeks_only():
    total = np.full(60, 100.0)
    total[8:20] = 50.0  # a slow season a year before weeks 60..71
    total[3], share = 0.0, np.ones(60)
    share[3] = 0.0  # a close-down is not the season: left out of the reference (weeks 0..7)
    assert np.allclose(season(total, share, 60, 3), [200 / 300, 0.5, 0.5])
    assert season(total, share, 52, 3).tolist() == [1.0, 1.0, 1.0]  # no weeks before the origin a year ago


def test_a_short_history_follows_last_years_season_with_the_calendar_only():
    """60 weeks at 20 a week per series, except 12 a week in weeks 8..19: the weeks 60..63 ahead, a year after
    that slow season, are forecast lower than the level; without the calendar they are not."""
    panel = _panel(60)
    weeks = pd.DatetimeIndex(sorted(panel.ds.unique()))
    slow = panel.ds.isin(weeks[8:20])
    panel.loc[slow, "y"] = np.random.default_rng(1).poisson(12, slow.sum())
    total = Forecaster(h=4).fit(panel).predict().groupby("ds").yhat.sum().to_numpy()
    plain = Forecaster(h=4, calendar=False).fit(panel).predict().groupby("ds").yhat.sum().to_numpy()
    assert 0.8 * 600 < plain.min() and plain.max() < 1.2 * 600  # 30 series x 20
    assert np.allclose(total[1:] / plain[1:], 0.6, atol=0.1)
    # five series are too few to tell a shop's season from their noise: no season
    few = panel[panel.unique_id.isin(sorted(panel.unique_id.unique())[:5])]
    total = Forecaster(h=4).fit(few).predict().groupby("ds").yhat.sum().to_numpy()
    plain = Forecaster(h=4, calendar=False).fit(few).predict().groupby("ds").yhat.sum().to_numpy()
    assert np.allclose(total / plain, 1.0, atol=0.1)


def test_one_wholesale_order_a_year_ago_is_not_the_shops_season():
    """60 weeks, 30 series at 20 a week; one series' order of 5,000 units in the weeks the season is measured
    against (or in the same weeks a year before the forecast) would make every other series' forecast a third
    (or 4x); that series is left out of the season."""
    panel = _panel(60)
    weeks = pd.DatetimeIndex(sorted(panel.ds.unique()))
    clean = Forecaster(h=4).fit(panel).predict().groupby("unique_id").yhat.mean()
    for week in (3, 9):
        bulk = panel.copy()
        bulk.loc[(bulk.unique_id == "S0") & (bulk.ds == weeks[week]), "y"] += 5000
        fc = Forecaster(h=4).fit(bulk).predict().groupby("unique_id").yhat.mean()
        ratio = (fc / clean).drop("S0")
        assert ratio.between(0.9, 1.1).all(), (week, ratio.describe())


def test_a_shop_ramping_up_in_its_first_weeks_has_no_season_from_them():
    """A shop that grew from a tenth to all of its level over its first 12 weeks, then held it: a year on, its first
    weeks' growth read as a season made every forecast about twice the level."""
    rng = np.random.default_rng(0)
    weeks, n = 60, 80
    ramp = np.minimum(1.0, 0.1 + 0.9 * np.arange(weeks) / 12)
    y = rng.poisson(10 * ramp[None, :], (n, weeks)).astype(float)
    ds = pd.date_range("2022-01-03", periods=weeks, freq="W-MON")
    panel = pd.DataFrame(
        {"unique_id": np.repeat([f"S{i}" for i in range(n)], weeks), "ds": np.tile(ds, n), "y": y.ravel()}
    )
    per_series = Forecaster(h=8).fit(panel).predict().groupby("ds").yhat.mean()
    assert per_series.between(8.5, 11.5).all(), per_series


def test_no_season_from_a_year_ago_without_open_weeks_to_measure_it():
    """A small range sold in week 0 only (its opening, read as closed) and the rest from week 1: no level to
    measure the year-ago weeks against, no season (it raised ZeroDivisionError)."""
    from types import SimpleNamespace

    from supplyfit.demand.core import year_ago_season

    Y = np.zeros((25, 60))
    Y[:20, 0], Y[20:, 1:] = 1.0, 100.0
    wide = SimpleNamespace(Y=Y, closed=open_share(Y.sum(axis=0)) < 1)
    assert year_ago_season(wide, 8).tolist() == [1.0] * 8


def test_a_shop_that_never_closes_gets_the_same_forecasts():
    panel = _panel(40)
    a = Forecaster(h=4).fit(panel).predict()
    b = Forecaster(h=4, calendar=False).fit(panel).predict()
    pd.testing.assert_frame_equal(a, b)


EVENTS = """活动名称,开始日期,结束日期,范围,对象,类型
Spring sale,2011-03-01,2011-03-07,all,,promotion
Stocktake,2011-01-03,2011-01-04,all,,closure
Garden week,2011-04-04,2011-04-10,category,garden,promotion
Bad one,2011-13-01,,all,,promotion
No target,2011-02-01,2011-02-02,sku,,promotion
Reversed,2011-02-05,2011-02-01,all,,promotion
Odd kind,2011-02-05,,all,,party
Call 13812345678 for the sale,2011-02-10,,all,,promotion
Marker target,2011-02-01,2011-02-02,sku,NA,promotion
Stray target,2011-02-01,2011-02-02,all,garden,promotion
"""


def test_events_load_like_any_file_bad_rows_quarantined_and_a_rerun_counts_duplicates(tmp_path):
    from supplyfit.store import Store, ingest

    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    again = tmp_path / "events-again.csv"
    again.write_text(EVENTS.replace("Odd kind", "Odd kind 2"), encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as st:
        r = ingest(st, path, "events")
        assert (r.rows_read, r.stored, r.quarantined, r.duplicates) == (10, 4, 6, 0)
        assert r.reasons == {
            "unparsable start: 2011-13-01": 1,
            "scope sku without a target": 2,  # NA is no SKU: an order's sku NA is missing too
            "scope all with a target (say category or sku): garden": 1,
            "end before start": 1,
            "kind is not promotion, closure or launch: party": 1,
        }
        r2 = ingest(st, again, "events")
        assert (r2.stored, r2.quarantined, r2.duplicates) == (0, 1, 9)  # bad lines already quarantined: duplicates
        events = st.events()
    # free text is masked as in order descriptions and reviews: no phone number is stored
    assert events.name.tolist() == ["Stocktake", "Call [phone] for the sale", "Spring sale", "Garden week"]
    assert events.set_index("name").loc["Spring sale", "end"] == pd.Timestamp("2011-03-07")


def test_weekly_calendar_counts_days_per_week_and_scope():
    from supplyfit.demand.calendar import Calendar

    events = pd.DataFrame(
        {
            "name": ["sale", "garden week", "stocktake"],
            "start": pd.to_datetime(["2010-12-06", "2010-12-08", "2010-12-27"]),
            "end": pd.to_datetime(["2010-12-07", "2010-12-20", "2010-12-31"]),
            "scope": ["all", "category", "all"],
            "target": ["", "garden", ""],
            "kind": ["promotion", "promotion", "closure"],
        }
    )
    weeks = pd.date_range("2010-12-06", periods=4, freq="W-MON")
    ids, cats = np.array(["A", "B"]), np.array(["garden", "home"])
    days = Calendar(events, country="GB").weekly(weeks, ids, cats)
    assert days.promo.tolist() == [[7, 7, 1, 0], [2, 0, 0, 0]]  # A: sale 2 + garden 5, then 7, then 1
    assert days.closed.tolist() == [0, 0, 0, 5]
    assert days.holiday.tolist() == [0, 0, 2, 3]  # 25-26 Dec (Sat, Sun); 27-28 observed and 1 Jan


def test_known_closures_and_promotions_reach_the_forecast():
    """Promotions that doubled sales in random past weeks: the global model gives the promoted week ahead more;
    a closure event empties its week."""
    from supplyfit.demand.calendar import Calendar

    panel = _panel(80, series=200)
    ds = pd.DatetimeIndex(sorted(panel.ds.unique()))
    # random weeks, none a year before the weeks ahead (the model reads those too) nor in the last weeks
    promoted = ds[np.sort(np.random.default_rng(1).choice(np.r_[4:24, 36:70], 16, replace=False))]
    panel.loc[panel.ds.isin(promoted), "y"] *= 2
    start = ds[-1] + pd.Timedelta(weeks=1)
    starts = [*promoted, start + pd.Timedelta(weeks=1), start + pd.Timedelta(weeks=3)]
    events = pd.DataFrame(
        {
            "name": [f"e{i}" for i in range(len(starts))],
            "start": starts,
            "end": [s + pd.Timedelta(days=6) for s in starts],
            "scope": "all",
            "target": "",
            "kind": ["promotion"] * (len(starts) - 1) + ["closure"],
        }
    )
    fc = Forecaster(h=5, model="lgbm", calendar=Calendar(events)).fit(panel)
    total = fc.predict().groupby("ds").yhat.sum().to_numpy()
    assert total[1] > 1.25 * max(total[0], total[2], total[4])  # the promoted week
    assert total[3] == 0.0  # the whole week closed
