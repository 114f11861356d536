"""LaunchForecaster on synthetic launches whose true demand is known: the output's shape, analogs, pre-orders."""

import copy

import numpy as np
import pandas as pd
import pytest

from supplyfit.demand import LaunchForecaster
from supplyfit.demand.analogs import Items, TextSpace, ranges
from supplyfit.demand.launch import AUTO, METHODS, TooFewLaunches

H = 8
# product types: (English name, Chinese name, mean units in the first 8 weeks, price)
TYPES = [
    ("ceramic mug", "陶瓷马克杯", 400.0, 3.0),
    ("scented candle", "香薰蜡烛", 120.0, 6.0),
    ("canvas tote bag", "帆布手提包", 900.0, 2.0),
    ("greeting card", "节日贺卡", 30.0, 12.0),
]
COLOURS = [("red", "红色"), ("blue", "蓝色"), ("green", "绿色"), ("pink", "粉色"), ("black", "黑色")]
SHAPE = np.array([0.2, 0.17, 0.15, 0.13, 0.11, 0.09, 0.08, 0.07])  # share of the 8-week total per week


def _launches(n: int, seed: int, start: str = "2023-01-02", weeks: int = 60) -> pd.DataFrame:
    """n launches: unique_id, description (half in Chinese), price, type, launch week, true 8-week total."""
    rng = np.random.default_rng(seed)
    t, c = rng.integers(len(TYPES), size=n), rng.integers(len(COLOURS), size=n)
    chinese = rng.random(n) < 0.5
    desc = [
        f"{COLOURS[ci][1]}{TYPES[ti][1]}" if zh else f"{COLOURS[ci][0]} {TYPES[ti][0]}"
        for ti, ci, zh in zip(t, c, chinese)
    ]
    total = np.array([TYPES[ti][2] for ti in t]) * rng.lognormal(0, 0.3, n)
    price = np.array([TYPES[ti][3] for ti in t]) * rng.uniform(0.8, 1.25, n)
    launch = pd.Timestamp(start) + pd.to_timedelta(7 * rng.integers(weeks, size=n), unit="D")
    ids = [f"s{seed}-{i}" for i in range(n)]
    return pd.DataFrame(
        {"unique_id": ids, "description": desc, "price": price, "type": t, "launch": launch, "total": total}
    )


def _history(launches: pd.DataFrame, end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Weekly units (Poisson around total x SHAPE, then a tail at the last week's rate) from launch to ``end``."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in launches.itertuples():
        ds = pd.date_range(r.launch, end, freq="W-MON")
        lam = np.r_[r.total * SHAPE, np.full(max(len(ds) - H, 0), r.total * SHAPE[-1])][: len(ds)]
        y = rng.poisson(lam).astype(float)
        y[0] = max(y[0], 1.0)  # the launch week has a sale
        rows.append(pd.DataFrame({"unique_id": r.unique_id, "ds": ds, "y": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def fitted():
    past = _launches(320, seed=1)
    history = _history(past, pd.Timestamp("2024-04-01"), seed=2)
    lf = LaunchForecaster(h=H).fit(history, past[["unique_id", "description", "price"]])
    new = _launches(40, seed=3, start="2024-04-08", weeks=1)
    return lf, history, past, new


def test_output_schema_shape_and_ordered_quantiles(fitted):
    lf, _, _, new = fitted
    fc = lf.predict(new[["unique_id", "description", "price"]])
    assert list(fc.columns) == ["unique_id", "week", "yhat", "yhat_q10", "yhat_q50", "yhat_q90"]
    assert len(fc) == len(new) * H
    assert fc.groupby("unique_id")["week"].apply(list).eq([list(range(1, H + 1))] * len(new)).all()
    assert list(fc["unique_id"].unique()) == list(new["unique_id"])
    assert (fc["yhat_q10"] >= 0).all()
    assert (fc["yhat_q10"] <= fc["yhat_q50"]).all() and (fc["yhat_q50"] <= fc["yhat_q90"]).all()
    assert np.isfinite(fc[["yhat", "yhat_q10", "yhat_q50", "yhat_q90"]].to_numpy()).all()
    assert lf.chosen_ in AUTO and set(lf.validation_["method"]) <= set(AUTO)
    assert lf.validation_["start"].nunique() == 3  # chosen over three launch windows, not one


def test_forecasts_follow_the_true_type_level_in_both_languages(fitted):
    """Each new item's 8-week forecast is within x2 of its type's true mean, in English and in Chinese."""
    lf, _, _, new = fitted
    total = lf.predict(new).groupby("unique_id")["yhat"].sum().reindex(new["unique_id"]).to_numpy()
    level = np.array([TYPES[t][2] for t in new["type"]])
    ratio = total / level
    assert ((ratio > 0.5) & (ratio < 2)).all(), ratio
    chinese = new["description"].str.contains("[\u4e00-\u9fff]")
    assert chinese.any() and (~chinese).any()


def test_analogs_listed_with_their_first_weeks_sales(fitted):
    lf, history, past, new = fitted
    fc = lf.predict(new)
    listed = lf.analogs_
    assert list(listed.columns) == ["unique_id", "analog_id", "description", "similarity", "first_h_units"]
    assert listed.groupby("unique_id").size().reindex(new["unique_id"]).eq(5).all()
    assert set(listed["unique_id"]) == set(fc["unique_id"])
    first = history.groupby("unique_id")["ds"].transform("min")
    truth = history[history["ds"] < first + pd.Timedelta(weeks=H)].groupby("unique_id")["y"].sum()
    assert np.array_equal(listed["first_h_units"].to_numpy(), truth.reindex(listed["analog_id"]).to_numpy())
    # best first, and the analogs of a Chinese mug are mugs (the same type)
    assert (listed.groupby("unique_id")["similarity"].apply(lambda s: s.is_monotonic_decreasing)).all()
    type_of = past.set_index("unique_id")["type"]
    mug = new[(new["type"] == 0) & new["description"].str.contains("杯")].iloc[0]
    assert set(type_of[listed.loc[listed["unique_id"] == mug["unique_id"], "analog_id"]]) == {0}
    assert lf.analogs(new).equals(listed)


def test_ranges_count_the_same_week_items_of_a_family():
    """Three colours of one mug and a candle launched in one week, a mug alone the next: each mug of the week has
    2 of its family beside it; the candle (unrelated) and the lone mug have none."""
    desc = pd.Series(["red ceramic mug", "blue ceramic mug", "green ceramic mug", "scented candle", "pink ceramic mug"])
    launch = pd.to_datetime(["2024-01-01"] * 4 + ["2024-01-08"])
    q = Items(pd.DataFrame({"launch": launch}), TextSpace().fit(desc).transform(desc))
    np.testing.assert_allclose(np.expm1(ranges(q)), [2, 2, 2, 0, 0])


def test_ranges_of_many_drafts_are_counted_a_few_rows_at_a_time(monkeypatch):
    """20,000 drafts of one week took 8 GB as one similarity matrix; in slices of rows the counts are the same."""
    rng = np.random.default_rng(0)
    desc = pd.Series([f"{c} {t} {m}" for c, t, m in rng.choice(["red", "blue", "oak", "tin"], (300, 3))])
    q = Items(
        pd.DataFrame({"launch": pd.Timestamp("2024-01-01")}, index=desc.index), TextSpace().fit(desc).transform(desc)
    )
    whole = ranges(q)
    monkeypatch.setattr("supplyfit.demand.analogs.RANGE_CELLS", 1000)  # 3 rows at a time
    np.testing.assert_array_equal(ranges(q), whole)
    assert whole.max() > 0


def test_a_draft_launched_in_a_range_is_forecast_bigger_than_alone():
    """Past launches where a week's range of 5 colours sells 6x a lone launch of the same type: a draft mug
    sent with 4 siblings of the same launch week is forecast well above the same draft sent alone, and the same as
    alone when sent with unrelated drafts."""
    rng = np.random.default_rng(11)
    rows = []
    for w in range(90):
        t = int(rng.integers(len(TYPES)))
        colours = range(len(COLOURS)) if w % 2 else [int(rng.integers(len(COLOURS)))]
        for c in colours:
            total = TYPES[t][2] * (6.0 if w % 2 else 1.0) * rng.lognormal(0, 0.3)
            rows.append((f"r{w}-{c}", f"{COLOURS[c][0]} {TYPES[t][0]}", TYPES[t][3], t, w, total))
    past = pd.DataFrame(rows, columns=["unique_id", "description", "price", "type", "week", "total"])
    past["launch"] = pd.Timestamp("2023-01-02") + pd.to_timedelta(7 * past["week"], unit="D")
    lf = LaunchForecaster(h=H).fit(_history(past, pd.Timestamp("2024-12-30"), 12), past)
    mugs = pd.DataFrame(
        {"unique_id": [f"m{c}" for c in range(5)], "description": [f"{c} ceramic mug" for c, _ in COLOURS]}
    ).assign(price=3.0, launch=pd.Timestamp("2025-01-06"))
    together = lf.predict(mugs).groupby("unique_id")["yhat"].sum()
    alone = pd.concat([lf.predict(mugs.iloc[[i]]) for i in range(5)]).groupby("unique_id")["yhat"].sum()
    assert lf.chosen_ == "model"
    assert (together / alone > 2).all(), (together / alone).round(2).tolist()
    # unrelated drafts sent with it (other types) do not count as its range
    others = pd.DataFrame(
        {"unique_id": [f"o{t}" for t in range(1, 4)], "description": [TYPES[t][0] for t in range(1, 4)]}
    ).assign(price=3.0, launch=pd.Timestamp("2025-01-06"))
    mixed = lf.predict(pd.concat([mugs.iloc[[0]], others])).groupby("unique_id")["yhat"].sum()
    assert mixed["m0"] == pytest.approx(alone["m0"], rel=1e-9)


def test_explicit_methods_still_run(fitted):
    """'linear' and 'blend' are no longer among what auto chooses, but can be asked for."""
    _, history, past, new = fitted
    assert set(AUTO) < set(METHODS)
    lf = LaunchForecaster(h=H, method="blend").fit(history, past[["unique_id", "description", "price"]])
    assert lf.chosen_ == "blend" and set(lf.models_) == {"model", "linear"}
    assert np.isfinite(lf.predict(new)["yhat"]).all()


def test_zero_preorders_leave_the_prior_and_few_barely_move_it_many_dominate(fitted):
    lf, _, _, new = fitted
    base = new[["unique_id", "description", "price"]].head(1)
    plain = lf.predict(base)
    pd.testing.assert_frame_equal(lf.predict(base.assign(preorders=0, preorder_weeks=2)), plain)
    moved = {}
    e = 4  # pre-launch weeks
    for n in (2, 2000):
        post = lf.posterior(base.assign(preorders=n, preorder_weeks=e)).iloc[0]
        implied = H * n / (lf.preorder_rate * e)
        moved[n] = (post["mu"] - post["mu0"]) / (np.log1p(implied) - post["mu0"])  # share of the way
    assert 0 < moved[2] < 0.35  # a few barely move it
    assert moved[2000] > 0.7  # many dominate (weight sigma0^2 / (sigma0^2 + 0.2^2) with sigma0 ~0.35 here)


def test_preorders_are_calibrated_on_synthetic_launches_with_known_totals(fitted):
    """New launches with pre-orders drawn from their true totals (Poisson, conversion noise as assumed): with
    many pre-orders the median error falls to the conversion noise's, with a few it stays about the prior's, and
    the posterior's 80% interval of the total holds 60-100% of the true totals."""
    lf, _, _, _ = fitted
    new = _launches(200, seed=7, start="2024-04-08", weeks=1)
    rng = np.random.default_rng(8)
    conversion = rng.lognormal(0, lf.preorder_noise, len(new))
    truth = np.log1p(new["total"].to_numpy())
    errors = {}
    for rate in (0.002, 1.0):  # pre-launch weeks collect 0.2% (a few votes) or 100% of a launch week's demand
        model = copy.copy(lf)
        model.preorder_rate = rate
        n = rng.poisson(rate * 4 * new["total"].to_numpy() / H * conversion)
        post = model.posterior(new.assign(preorders=n, preorder_weeks=4))
        mu, sigma, mu0 = post["mu"].to_numpy(), post["sigma"].to_numpy(), post["mu0"].to_numpy()
        errors[rate] = (np.median(np.abs(mu - truth)), np.median(np.abs(mu0 - truth)))
        inside = np.abs(truth - mu) <= 1.2816 * sigma
        assert 0.6 <= inside.mean() <= 1.0, (rate, inside.mean())
    few, many = errors[0.002], errors[1.0]
    # many pre-orders bring the error down to the conversion noise's own (median |N(0, noise)| = 0.6745 noise; the
    # prior's error, 0.20 here, is what the description and price give)
    assert many[0] < min(0.8 * many[1], 1.2 * 0.6745 * lf.preorder_noise)
    assert few[0] < 1.15 * few[1]


def test_deterministic(fitted):
    lf, history, past, new = fitted
    again = LaunchForecaster(h=H).fit(history, past[["unique_id", "description", "price"]])
    pd.testing.assert_frame_equal(again.predict(new), lf.predict(new))
    pd.testing.assert_frame_equal(again.analogs_, lf.analogs_)


def test_ids_weeks_and_missing_units_as_the_caller_has_them(fitted):
    """Integer ids come back as integers (analogs' too); weeks dated by their Sunday (pandas' resample("W")) are
    the weeks their Mondays start; a row without units is a week without a sale, as a missing row is."""
    lf, history, past, new = fitted
    items = past[["unique_id", "description", "price"]]
    code = {u: i + 10_000 for i, u in enumerate(sorted(set(items.unique_id) | set(new.unique_id)))}
    key = lambda f: f.assign(unique_id=f.unique_id.map(code))
    ints = LaunchForecaster(h=H).fit(key(history), key(items))
    out = ints.predict(key(new))
    assert out.unique_id.dtype == np.int64 and ints.analogs_.analog_id.dtype == np.int64
    base = lf.predict(new)
    pd.testing.assert_frame_equal(out.drop(columns="unique_id"), base.drop(columns="unique_id"))
    sunday = history.assign(ds=history.ds + pd.Timedelta(days=6))
    pd.testing.assert_frame_equal(LaunchForecaster(h=H).fit(sunday, items).predict(new), base)
    blank = history.assign(y=history.y.where(history.y > 0))  # zero weeks as NaN units
    pd.testing.assert_frame_equal(LaunchForecaster(h=H).fit(blank, items).predict(new), base)


def test_quantiles_are_never_negative_however_wide_the_spread(fitted):
    lf = fitted[0]
    qs = lf._weekly(np.array([0.0, 0.5, 3.0]), np.array([2.0, 3.0, 2.5]))
    assert (qs >= 0).all() and (qs[0] <= qs[1]).all() and (qs[1] <= qs[2]).all()


def test_bad_input_raises_a_clear_value_error(fitted):
    lf, history, past, new = fitted
    items = past[["unique_id", "description", "price"]]
    with pytest.raises(ValueError, match="history lacks column"):
        LaunchForecaster().fit(history.drop(columns="y"), items)
    with pytest.raises(ValueError, match="items lacks column.*description"):
        LaunchForecaster().fit(history, items.drop(columns="description"))
    with pytest.warns(UserWarning, match=r"items: 1 item\(s\) without a positive price left out"):
        LaunchForecaster().fit(history, items.assign(price=items.price.where(items.index != items.index[0], 0.0)))
    with pytest.raises(TooFewLaunches, match="has 0 launches"), pytest.warns(UserWarning, match="left out"):
        LaunchForecaster().fit(history, items.assign(price=-1.0))
    with pytest.raises(TooFewLaunches, match="no unique_id of the history is among the items'"):
        LaunchForecaster().fit(history, items.assign(unique_id=items.unique_id.astype(str) + ".0"))
    with pytest.raises(ValueError, match="infinite y"):
        LaunchForecaster().fit(history.assign(y=np.inf), items)
    with pytest.raises(TooFewLaunches, match="has 0 launches"):
        LaunchForecaster().fit(history.iloc[:0], items)
    with pytest.raises(ValueError, match="new_items lacks column.*price"):
        lf.predict(new[["unique_id", "description"]])
    with pytest.raises(ValueError, match="new_items: price must be a positive number"):
        lf.predict(new.assign(price=-2.0))
    with pytest.raises(ValueError, match="preorders must be >= 0"):
        lf.predict(new.assign(preorders=-1))
    with pytest.raises(ValueError, match="preorders and preorder_weeks must be finite"):
        lf.predict(new.assign(preorders=np.inf))
    with pytest.raises(ValueError, match="before predict"):
        LaunchForecaster().predict(new)
    with pytest.raises(ValueError, match="new_items has no rows"):
        lf.predict(new.iloc[:0])


@pytest.mark.parametrize(("spiked", "bound"), [(1, 0.25), (10, 0.4)])
def test_a_single_huge_order_barely_moves_the_forecasts(fitted, spiked, bound):
    """74,215 extra units in the launch week of a new mug's best analog (what one cancelled order did to item
    23166): medians on the log scale keep each mug's forecast within 25% of what it was. Ten such orders, in the
    best analog of every new mug at once, within 40%: the median total of the launches sharing a word (a feature)
    moves when ten of them jump to the top."""
    lf, history, past, new = fitted
    mugs = new[new["type"] == 0]
    before = lf.predict(mugs).groupby("unique_id")["yhat"].sum()
    hit = set(lf.analogs_.groupby("unique_id")["analog_id"].first().iloc[:spiked])
    first = history.groupby("unique_id")["ds"].transform("min") == history["ds"]
    spiked_history = history.assign(y=history["y"] + 74_215.0 * (first & history["unique_id"].isin(hit)))
    again = LaunchForecaster(h=H).fit(spiked_history, past[["unique_id", "description", "price"]])
    after = again.predict(mugs).groupby("unique_id")["yhat"].sum()
    assert (again.analogs_["first_h_units"] > 74_215).any()  # the spiked analogs are still listed
    assert ((after / before - 1).abs() < bound).all(), (after / before).round(2).tolist()


def test_runs_on_the_bundled_sample_orders():
    """Real descriptions and prices (the UCI sample shipped with the package): the launches after 2010-09-06
    forecast from the weeks before, analogs listed with their first 8 weeks' units."""
    from supplyfit.demand import weekly_panel
    from supplyfit.pipeline import sample_path

    lines = pd.read_parquet(sample_path("sample_orders.parquet"))
    lines = lines[~lines["Invoice"].astype(str).str.startswith("C")]
    orders = pd.DataFrame(
        {"sku": lines["StockCode"].astype(str), "quantity": lines["Quantity"].astype(float)}
        | {"unit_price": lines["Price"], "ts": lines["InvoiceDate"]}
    )
    panel = weekly_panel(orders)[["unique_id", "ds", "y"]]
    items = (
        lines.groupby(lines["StockCode"].astype(str))
        .agg(description=("Description", "first"), price=("Price", "median"))
        .rename_axis("unique_id")
        .reset_index()
    )
    cut = pd.Timestamp("2010-09-06")
    launched = panel.groupby("unique_id")["ds"].min()
    new = items[items["unique_id"].isin(launched[launched >= cut].index)]
    lf = LaunchForecaster(h=H).fit(panel[panel["ds"] < cut], items)
    fc = lf.predict(new)
    assert len(fc) == len(new) * H and len(new) >= 10
    assert (fc.groupby("unique_id")["yhat"].sum() > 0).all()
    listed = lf.analogs_
    assert listed.groupby("unique_id").size().eq(5).all() and listed["description"].str.len().gt(0).all()
    early = panel[panel["ds"] < panel.groupby("unique_id")["ds"].transform("min") + pd.Timedelta(weeks=H)]
    truth = early.groupby("unique_id")["y"].sum()
    assert np.array_equal(listed["first_h_units"].to_numpy(), truth.reindex(listed["analog_id"]).to_numpy())


def test_a_history_barely_longer_than_h_falls_back_to_the_analogs_with_a_wide_spread():
    """A history of 10 weeks, its items all first sold in its first two weeks (what a history barely longer than h
    holds: 80% from the first week) and the shop closed in its fifth week: one validation window at most, so auto
    does not choose on it (analogs, no offset, sigma 1); the closed week does not make a week of the forecast
    vanish (weekly yhat within x2 of the true shape); forecasts positive and finite, q10 < q50 < q90. Shorter than
    h weeks: no launch to learn from, TooFewLaunches."""
    past = _launches(300, seed=21, start="2024-01-01", weeks=1)
    past.loc[240:, "launch"] += pd.Timedelta(weeks=1)
    history = _history(past, pd.Timestamp("2024-03-04"), seed=22)
    history.loc[history["ds"] == pd.Timestamp("2024-01-29"), "y"] = 0.0  # the shop closed
    items = past[["unique_id", "description", "price"]]
    lf = LaunchForecaster(h=H).fit(history, items)
    assert lf.chosen_ == "analogs" and lf.validation_.empty
    assert (lf.offset_, lf.sigma_) == (0.0, 1.0)
    new = _launches(40, seed=23, start="2024-03-11", weeks=1)
    fc = lf.predict(new)
    q = fc[["yhat", "yhat_q10", "yhat_q50", "yhat_q90"]].to_numpy()
    assert np.isfinite(q).all() and (fc["yhat_q10"] < fc["yhat_q50"]).all() and (fc["yhat_q50"] < fc["yhat_q90"]).all()
    total = fc.groupby("unique_id")["yhat"].sum().reindex(new["unique_id"]).to_numpy()
    ratio = total / np.array([TYPES[t][2] for t in new["type"]])
    assert ((ratio > 0.5) & (ratio < 2)).all(), ratio
    shape = fc.groupby("week")["yhat"].sum().to_numpy() / total.sum()
    assert ((shape / SHAPE > 0.5) & (shape / SHAPE < 2)).all(), (shape / SHAPE).round(2)
    with pytest.raises(TooFewLaunches):
        LaunchForecaster(h=H).fit(history[history["ds"] < pd.Timestamp("2024-02-19")], items)
