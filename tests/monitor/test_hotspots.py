"""Hotspots: a clear riser is found, the interface holds, the future is never read."""

import importlib

import numpy as np
import pandas as pd
import pytest

from supplyfit.monitor import hotspots
from supplyfit.scale.synthetic import build_store, promoted_panel


def _panel(seed: int = 0, n: int = 60, weeks: int = 70) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-03", periods=weeks, freq="W-MON")
    frames = []
    for i in range(n):
        base = rng.uniform(5, 30)
        y = rng.poisson(base, weeks).astype(float)
        # every 8 weeks a few items ramp up: the history has examples of risers to learn from
        if i % 10 == 0:
            start = (i * 3) % (weeks - 10)
            y[start:] += np.linspace(0, 6 * base, weeks - start)
        frames.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": y, "category": f"c{i % 3}"}))
    return pd.concat(frames, ignore_index=True)


def test_interface_and_a_clear_riser_ranks_high():
    panel = _panel()
    ramp = panel.unique_id == "s07"
    t = panel.ds >= panel.ds.max() - pd.Timedelta(weeks=12)
    panel.loc[ramp & t, "y"] += np.linspace(0, 400, (ramp & t).sum())
    hs = hotspots(panel, k=10)
    assert list(hs.columns[:3]) == ["unique_id", "score", "reason"]
    assert len(hs) == 10 and hs.score.is_monotonic_decreasing
    assert "s07" in set(hs.unique_id.head(3))
    assert hs.reason.str.len().gt(10).all()
    assert "accelerating" in hs.set_index("unique_id").reason["s07"]


def test_asof_ignores_the_future():
    panel = _panel(1)
    asof = panel.ds.min() + pd.Timedelta(weeks=40)
    before = hotspots(panel, asof, k=5)
    changed = panel.copy()
    changed.loc[changed.ds >= asof, "y"] *= 7
    assert before.equals(hotspots(changed, asof, k=5))


def test_ids_time_zones_and_weekdays_as_the_caller_has_them():
    """Integer ids come back as integers, with their categories and the same list; a panel and an as-of with a
    time zone rank as their wall time does; an as-of inside a week (a Wednesday) never reads that week: it ranks
    as its Monday does; one weeks after the panel's end says so."""
    raw = _panel(3, n=40, weeks=30)
    code = pd.factorize(raw.unique_id, sort=True)[0] + 100  # three digits: string and integer orders agree
    panel = raw.assign(unique_id=code.astype(str))
    asof = panel.ds.max() - pd.Timedelta(weeks=4)
    base = hotspots(panel, asof, k=8)
    ints = hotspots(panel.assign(unique_id=code), asof, k=8)
    assert ints.unique_id.dtype == np.int64 and ints.category.str.startswith("c").all()
    pd.testing.assert_frame_equal(ints.assign(unique_id=ints.unique_id.astype(str)), base)
    zone = "Asia/Shanghai"
    zoned = hotspots(panel.assign(ds=panel.ds.dt.tz_localize(zone)), asof.tz_localize(zone), k=8)
    pd.testing.assert_frame_equal(zoned, base)
    pd.testing.assert_frame_equal(hotspots(panel, asof + pd.Timedelta(days=2), k=8), base)
    with pytest.warns(UserWarning, match="5 week.*after the panel's last week"):
        hotspots(panel, panel.ds.max() + pd.Timedelta(weeks=6), k=8)


def test_short_history_and_empty():
    panel = _panel(2, n=5, weeks=6)
    hs = hotspots(panel, k=3)
    assert len(hs) == 3  # ranks by reach with too little history to train the ranker
    with pytest.warns(UserWarning, match="leaves no week of the panel before it"):
        assert hotspots(panel, panel.ds.min(), k=3).empty
    assert len(hotspots(panel[panel.unique_id == "s00"], k=3)) == 1  # k above the number of series
    with pytest.raises(ValueError, match="k must be at least 1"):
        hotspots(panel, k=0)


def test_reach_counts_past_spells_clearly_above_the_last_one():
    from supplyfit.monitor.hotspots import Spells

    Y = np.array(
        [
            [np.nan, 4, 0, 6, 1, 0, 0.0],  # spells (h=2): -, 4, 6, 7, 1, 0  -> last 0
            [5, 5, 5, 5, 5, 5, 5.0],
        ]
    )  # flat: never above its last spell
    sp = Spells(Y, horizon=2, k=1)
    assert np.allclose(sp.sums[0, 1:], [4, 6, 7, 1, 0]) and np.isnan(sp.sums[0, 0])
    # rises (spell at o minus spell at o - 2) at origins 2..5 for the first row: 6-nan, 7-4, 1-6, 0-7 -> the
    # biggest (k=1) per origin over both rows: 0, 3, 0, 0 -> median 0 -> lift 0
    assert sp.lift(7) == 0.0
    assert np.allclose(sp.reach(7), [4 / 5, 0.0])  # 4, 6, 7, 1 above 0 of 5 known spells
    assert np.allclose(sp.gap(7), [(4 + 6 + 7 + 1) / 5, 0.0])


def test_a_lumpy_item_in_a_lull_ranks_first_on_a_short_history():
    """Too little history to train the ranker: the ranking is reach, the chance of a big jump."""
    ds = pd.date_range("2022-01-03", periods=12, freq="W-MON")  # under horizon + 9 weeks
    lumpy = np.array([300, 0, 0, 0, 0, 280, 0, 0, 0, 0, 0, 0.0])
    rows = [pd.DataFrame({"unique_id": "lumpy", "ds": ds, "y": lumpy})]
    rows += [pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.full(12, 10.0 + i)}) for i in range(5)]
    hs = hotspots(pd.concat(rows), k=3, horizon=4)
    assert hs.unique_id.iloc[0] == "lumpy" and hs.reach.iloc[0] > 0.5
    assert "room to jump" in hs.reason.iloc[0]


def test_query_rows_keep_every_graded_row_and_sample_the_rest():
    from supplyfit.monitor.hotspots import query_rows

    grade = np.r_[np.zeros(20, int), [3, 2, 1], np.zeros(7, int)]
    assert query_rows(grade, np.random.default_rng(0), 30).tolist() == list(range(30))
    rows = query_rows(grade, np.random.default_rng(0), 10)
    assert len(rows) == 10 and {20, 21, 22} <= set(rows) and np.all(np.diff(rows) > 0)
    assert rows.tolist() == query_rows(grade, np.random.default_rng(0), 10).tolist()


def test_hotspots_on_more_series_than_a_ranker_query_may_hold(tmp_path, tmp_path_factory):
    """12,000 SKUs of a generated store: every training origin knows more series than LightGBM's 10,000-row query
    limit (which once failed the monitor stage at 45,532 rows) and than the ranker's own MAX_QUERY."""
    from supplyfit.demand.panel import Wide
    from supplyfit.monitor.hotspots import MAX_QUERY
    from supplyfit.store import Store

    db = tmp_path / "s.duckdb"
    build_store(db, 12_000, weeks=20, customers=3_000, cache=tmp_path_factory.getbasetemp())
    with Store(db) as st:
        panel = st.query(
            "SELECT sku AS unique_id, date_trunc('week', ts) AS ds, sum(quantity) AS y FROM orders "
            "WHERE tenant = $tenant GROUP BY ALL"
        )
    wide = Wide.from_long(panel)
    assert (~np.all(np.isnan(wide.Y[:, :8]), axis=1)).sum() > max(10_000, MAX_QUERY)  # the first origin's query
    hs = hotspots(panel, k=20)
    assert len(hs) == 20 and hs.score.is_monotonic_decreasing and hs.unique_id.is_unique


def test_reasons_of_a_history_shorter_than_the_horizon_count_what_there_is():
    ds = pd.date_range("2024-01-01", periods=3, freq="W-MON")
    panel = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 3, "ds": list(ds) * 2, "y": [1, 2, 3, 0, 0, 5]})
    out = hotspots(panel, k=2)
    assert set(out.last_units) == {6.0, 5.0} and "nan" not in " ".join(out.reason)
    assert out.set_index("unique_id").loc["a", "reason"].startswith("6 units in the last 3 weeks")


def test_the_same_panel_gives_the_same_list_in_another_process_and_says_when_last_year_rose(tmp_path):
    """LightGBM runs deterministically: a fresh interpreter ranks exactly as this one, whatever ran here before
    (a forecast fitted first once changed the splits). A series that rose in the same weeks a year ago says so."""
    import subprocess
    import sys

    from supplyfit.demand import Forecaster
    from supplyfit.scale.synthetic import synthetic_panel

    panel = synthetic_panel(600, seed=3)
    asof = sorted(panel.ds.unique())[-30]
    panel.to_parquet(tmp_path / "p.parquet")
    Forecaster(h=4).fit(panel[panel.ds < asof])  # process state a fresh interpreter does not have
    here = hotspots(panel, asof=asof, k=20)
    code = (
        "import sys, pandas as pd; from supplyfit.monitor import hotspots; "
        f"h = hotspots(pd.read_parquet(sys.argv[1]), asof=pd.Timestamp('{pd.Timestamp(asof)}'), k=20); "
        "h.to_parquet(sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", code, tmp_path / "p.parquet", tmp_path / "h.parquet"], check=True)
    there = pd.read_parquet(tmp_path / "h.parquet")
    assert here.unique_id.tolist() == there.unique_id.tolist()
    np.testing.assert_allclose(here.score, there.score)
    assert any("in the same weeks last year (+" in r for r in here.reason)


def test_the_stored_panel_read_in_batches_is_the_matrix_of_the_long_panel(tmp_path, monkeypatch):
    """The monitor stage reads the demand stage's panel straight into the units matrix, a few rows at a time:
    the same matrix, categories and hotspots as from the long frame; no panel stored, no matrix."""
    import importlib

    from supplyfit.demand import Forecaster
    from supplyfit.demand.panel import Wide
    from supplyfit.monitor.hotspots import rank
    from supplyfit.store import Store

    stage = importlib.import_module("supplyfit.monitor.stage")
    panel = _panel(4)
    panel = panel[~((panel.unique_id == "s05") & (panel.ds < panel.ds.min() + pd.Timedelta(weeks=9)))]  # a late one
    monkeypatch.setattr(stage, "BATCH", 1_000)
    with Store(tmp_path / "s.duckdb") as st:
        assert stage.stored_panel(st) is None
        full = panel.assign(revenue=0.0, price=1.0)  # the demand stage's columns
        st.write_result("demand_panel", full)
        st.scoped("other").write_result("demand_panel", full.assign(unique_id="z" + full.unique_id, y=0.0))
        wide, categories = stage.stored_panel(st)
    want = Wide.from_long(panel)
    assert list(wide.ids) == list(want.ids) and wide.dates.equals(want.dates)
    np.testing.assert_array_equal(wide.Y, want.Y)
    assert categories.tolist() == [f"c{int(i[1:]) % 3}" for i in want.ids]
    pd.testing.assert_frame_equal(rank(wide, categories, k=10), hotspots(panel, k=10, forecasts=False))
    fc = Forecaster(h=8).fit(panel).predict()  # what hotspots() fits by default
    pd.testing.assert_frame_equal(rank(wide, categories, k=10, forecasts=fc), hotspots(panel, k=10))


class _Stub:
    """A ranker that scores by 4-week momentum times ``sign``."""

    def __init__(self, sign: float):
        self.sign = sign

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.sign * (X.s4 - X.s4_prev).to_numpy()


def _leader(monkeypatch, panel: pd.DataFrame, ranker: _Stub | None, k: int = 5) -> str | None:
    """:func:`leading_baseline` at the panel's end, with ``ranker`` in place of the fitted one."""
    hot = importlib.import_module("supplyfit.monitor.hotspots")  # the package's name is the function
    from supplyfit.demand.panel import Wide

    wide = Wide.from_long(panel)
    monkeypatch.setattr(hot, "_fit_ranker", lambda *a, **kw: ranker)
    t = wide.Y.shape[1]
    return hot.leading_baseline(wide, t, 8, k, np.full(len(wide.ids), ""), hot.Spells(wide.Y, 8, k), 40, 0)


def test_momentum_leads_only_when_it_caught_more_of_the_recent_risers(monkeypatch):
    panel = _panel(weeks=56)  # every tenth item ramps up for good: momentum finds them; no year-ago weeks yet
    leads = {sign: _leader(monkeypatch, panel, None if sign is None else _Stub(sign)) for sign in (-1.0, 1.0, None)}
    assert leads == {-1.0: "momentum", 1.0: None, None: None}  # beaten / level (no switch on a tie) / no ranker


def test_the_same_weeks_a_year_earlier_lead_when_a_season_repeats(monkeypatch):
    """Every tenth item sells 8 weeks of a season each year: at the latest known origins the season was starting,
    which its rise a year earlier foretold and momentum (what the stub ranker follows) did not."""
    rng = np.random.default_rng(1)
    ds = pd.date_range("2022-01-03", periods=80, freq="W-MON")
    frames = []
    for i in range(60):
        y = rng.poisson(10, len(ds)).astype(float)
        if i % 10 == 0:
            y[20:28] += 80
            y[72:80] += 80
        frames.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": y}))
    panel = pd.concat(frames, ignore_index=True)
    assert _leader(monkeypatch, panel, _Stub(1.0)) == "year-ago rise"
    assert _leader(monkeypatch, _panel(weeks=56), _Stub(1.0)) is None  # no year behind: never a year-ago lead


def test_when_momentum_led_the_list_is_the_rank_average_of_both(monkeypatch):
    hot = importlib.import_module("supplyfit.monitor.hotspots")  # the package's name is the function

    panel = _panel()
    ramp = panel.unique_id == "s07"
    panel.loc[ramp & (panel.ds >= panel.ds.max() - pd.Timedelta(weeks=12)), "y"] += np.linspace(0, 400, 13)
    monkeypatch.setattr(hot, "leading_baseline", lambda *a, **kw: None)
    ranker = hotspots(panel, k=10, forecasts=False)
    monkeypatch.setattr(hot, "leading_baseline", lambda *a, **kw: "momentum")
    blend = hotspots(panel, k=10, forecasts=False)
    assert blend.score.is_monotonic_decreasing and blend.score.between(0, 2).all()
    assert blend.unique_id.iloc[0] == "s07" and ranker.score.max() != blend.score.max()


def test_a_panel_dated_on_sundays_gives_the_same_list():
    """pandas' resample("W") dates weeks by their Sunday: the same weeks, the same as-of, the same list."""
    p = _panel(seed=3)
    sunday = p.assign(ds=p.ds + pd.Timedelta(days=6))
    asof = p.ds.max() - pd.Timedelta(weeks=8) + pd.Timedelta(weeks=1)
    mon, sun = hotspots(p, asof, k=10), hotspots(sunday, asof + pd.Timedelta(days=6), k=10)
    pd.testing.assert_frame_equal(mon, sun)


def test_known_promotions_ahead_find_the_items_about_to_rise_and_say_so():
    from supplyfit.demand.calendar import Calendar
    from supplyfit.demand.panel import Wide

    panel, events = promoted_panel(seed=0)
    wide = Wide.from_long(panel)
    Y, dates, calendar = wide.Y, wide.dates, Calendar(events=events)
    hits = {"without": 0, "with": 0}
    for t in (64, 76):
        rise = Y[:, t : t + 8].sum(axis=1) - Y[:, t - 8 : t].sum(axis=1)
        true = set(wide.ids[np.argsort(-rise, kind="stable")[:20]])
        # the ranker alone (no forecast weighed in): what it learned of the promotions is what is tested
        hits["without"] += len(true & set(hotspots(panel, dates[t], k=20, forecasts=False).unique_id))
        listed = hotspots(panel, dates[t], k=20, calendar=calendar, forecasts=False)
        hits["with"] += len(true & set(listed.unique_id))
    # the ranker learns from the past origins what a promotion did (on 16 dates of two seeds: 0.23 -> 0.48)
    assert hits["with"] >= hits["without"] + 6, hits
    # the reasons name the promotions ahead of an item (any day of the coming 8 weeks), and only those
    start = pd.Timestamp(dates[76])
    ahead = events[(events.start <= start + pd.Timedelta(days=55)) & (events.end >= start)]
    for r in listed.itertuples():
        mine = ahead[ahead.target == r.unique_id].name
        assert ("promotion ahead" in r.reason) == (len(mine) > 0)
        assert all(name in r.reason for name in mine)
        assert not any(name in r.reason for name in ahead[ahead.target != r.unique_id].name)


def test_a_calendar_without_promotions_leaves_the_list_as_it_was():
    from supplyfit.demand.calendar import Calendar

    panel = _panel()
    plain = hotspots(panel, k=10)
    pd.testing.assert_frame_equal(hotspots(panel, k=10, calendar=Calendar()), plain)
    pd.testing.assert_frame_equal(hotspots(panel, k=10, calendar=Calendar(country="GB")), plain)  # holidays only


def test_the_monitor_stage_reads_the_tenants_events(tmp_path, tmp_path_factory):
    from supplyfit.monitor import stage
    from supplyfit.store import Store, ingest

    db = tmp_path / "s.duckdb"
    build_store(db, 300, weeks=30, customers=500, cache=tmp_path_factory.getbasetemp())
    with Store(db) as st:
        last = pd.Timestamp(st.query("SELECT max(ts) AS t FROM orders WHERE tenant = $tenant").t.iloc[0])
        sale = (last + pd.Timedelta(days=14)).normalize()
        events = tmp_path / "events.csv"
        events.write_text(f"name,start,end,scope,target,kind\nSummer sale,{sale:%Y-%m-%d},,all,,promotion\n")
        ingest(st, events, "events")
        stage.run(st)
        listed = st.table("hotspots")
    assert len(listed) == 20
    assert listed.reason.str.contains("promotion ahead: Summer sale").all()


def test_the_monitor_stage_blends_in_the_demand_stages_forecasts(tmp_path, tmp_path_factory):
    """Past a year of history the stage ranks with the SKU forecasts the demand stage stored (their rise moves
    the list), and says so; with a year or less the forecasts are left out."""
    from supplyfit.demand import stage as demand
    from supplyfit.demand.calendar import store_calendar
    from supplyfit.demand.panel import Wide
    from supplyfit.monitor import stage
    from supplyfit.monitor.hotspots import rank
    from supplyfit.store import Store

    db = tmp_path / "s.duckdb"
    build_store(db, 300, weeks=60, customers=500, cache=tmp_path_factory.getbasetemp())
    with Store(db) as st:
        demand.run(st, h=8)
        stage.run(st)
        listed = st.table("hotspots").sort_values("rank")
        fc = st.query(
            "SELECT unique_id, ds, yhat, yhat_q10, yhat_q90 FROM forecasts WHERE tenant = $tenant AND level = 'sku'"
        )
        wide, categories = stage.stored_panel(st)
        calendar = store_calendar(st)
    blended = rank(wide, categories, k=20, calendar=calendar, forecasts=fc)
    assert list(listed.unique_id) == list(blended.unique_id)
    assert list(blended.unique_id) != list(rank(wide, categories, k=20, calendar=calendar).unique_id)
    # what the list ranks, the forecast's upper quantile of the coming weeks, is named in the reason
    upside = r"forecast .* units in the next 8 weeks, up to [\d,]+ \(90% chance of no more\)"
    assert listed.reason.str.contains(upside, regex=True).any()
    short = wide.Y[:, : wide.Y.shape[1] - 10]  # the first 50 weeks only: no year behind
    young = rank(Wide(wide.ids, wide.dates[:-10], short), categories, k=20, forecasts=fc)
    pd.testing.assert_frame_equal(young, rank(Wide(wide.ids, wide.dates[:-10], short), categories, k=20))


def test_the_forecast_rise_is_read_at_an_upper_quantile_of_the_coming_weeks():
    """Two items with the same mean forecast: the one with the wider band has the higher upside, by the normal
    approximation of the sum (weeks independent, each week's sd from its 80% band); without bands, the mean."""
    module = importlib.import_module("supplyfit.monitor.hotspots")
    ds = pd.date_range("2023-01-02", periods=4, freq="W-MON")
    fc = pd.DataFrame(
        {
            "unique_id": np.repeat(["narrow", "wide"], 4),
            "ds": np.tile(ds, 2),
            "yhat": 10.0,
            "yhat_q10": np.r_[[9.0] * 4, [2.0] * 4],
            "yhat_q90": np.r_[[11.0] * 4, [18.0] * 4],
        }
    )
    ids = np.array(["wide", "narrow", "unknown"])
    mean = module.expected_units(fc, ids, 4)
    assert mean[:2].tolist() == [40.0, 40.0] and np.isnan(mean[2])
    upside = module.expected_units(fc, ids, 4, q=0.8)
    z80, z90 = 0.8416212335729143, 1.2815515655446004
    assert upside[0] == pytest.approx(40 + z80 * np.sqrt(4) * 16 / (2 * z90))
    assert upside[1] == pytest.approx(40 + z80 * np.sqrt(4) * 2 / (2 * z90))
    # two weeks of four: the sum and its variance scaled up to the horizon
    half = module.expected_units(fc[fc.ds < ds[2]], ids, 4, q=0.8)
    np.testing.assert_allclose(half[:2], upside[:2])
    assert module.expected_units(fc[["unique_id", "ds", "yhat"]], ids, 4, q=0.8)[:2].tolist() == [40.0, 40.0]


def test_past_a_year_and_a_quarter_the_forecast_rise_weighs_more():
    """The forecaster sees each item's same weeks a year before once the history reaches LONG_HISTORY weeks (the
    default Forecaster's own switch to its GBM): its rise then weighs FORECAST_WEIGHT_LONG next to the ranker's rank
    share, FORECAST_WEIGHT a week before."""
    from supplyfit.demand.core import Auto
    from supplyfit.demand.panel import Wide
    from supplyfit.monitor.hotspots import rank

    module = importlib.import_module("supplyfit.monitor.hotspots")
    assert module.FORECAST_WEIGHT_LONG > module.FORECAST_WEIGHT and module.LONG_HISTORY == Auto.season_weeks
    panel = _panel(weeks=module.LONG_HISTORY + 5)
    wide = Wide.from_long(panel[["unique_id", "ds", "y"]])
    categories = panel.drop_duplicates("unique_id").set_index("unique_id")["category"].reindex(wide.ids)
    ahead = pd.date_range(wide.dates[-1] + pd.Timedelta(weeks=1), periods=8, freq="W-MON")
    level = np.nanmean(wide.Y[:, -8:], axis=1)
    fc = pd.DataFrame({"unique_id": np.repeat(wide.ids, 8), "ds": np.tile(ahead, len(wide.ids))})
    fc["yhat"] = np.repeat(np.where(wide.ids == "s05", 10 * level, level), 8)
    long, short = module.FORECAST_WEIGHT_LONG, module.FORECAST_WEIGHT
    for weeks, weight in ((wide.Y.shape[1], long), (module.LONG_HISTORY, long), (module.LONG_HISTORY - 1, short)):
        young = Wide(wide.ids, wide.dates[:weeks], wide.Y[:, :weeks])
        listed = rank(young, categories, k=10, forecasts=fc).set_index("unique_id")
        assert weight < listed.score["s05"] <= weight + 1  # the forecast's first: its whole weight and a rank share
        assert listed.score.max() <= weight + 1


def test_a_listed_item_whose_forecast_falls_says_so():
    """In a falling season the likeliest risers may all be forecast lower than their last weeks (the demo on 9
    December: 16 of 18 listed); the reason says so instead of reading as a rise."""
    module = importlib.import_module("supplyfit.monitor.hotspots")
    row = dict(last_units=5197.0, recent=8, reach=0.0, horizon=8, s26=0.0, s8=5197.0, age=100, s4=2000.0,
               s4_prev=3197.0, ya_level=np.nan, ya_rise=np.nan, promotions="", cat_growth=0.0)  # fmt: skip
    falling = module._reason(pd.Series({**row, "forecast": 3818.0, "upside": 4400.0}))
    assert "but its forecast is lower: 3,818 units in the next 8 weeks, up to 4,400" in falling
    rising = module._reason(pd.Series({**row, "forecast": 5000.0, "upside": 6000.0}))
    assert "forecast 5,000 units in the next 8 weeks, up to 6,000" in rising and "lower" not in rising
