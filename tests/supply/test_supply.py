"""Plans respect MOQ and capacity exactly; simulations balance inventory every week and never go negative."""

import numpy as np
import pandas as pd
import pytest

from supplyfit.scale.synthetic import build_store
from supplyfit.store import Store
from supplyfit.supply import MissingForecasts, Replay, plan, simulate
from supplyfit.supply.policies import apply_moq_capacity


def _panel(n_items=6, weeks=30, seed=0):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-02", periods=weeks, freq="W-MON")
    rows = []
    for i in range(n_items):
        y = rng.poisson(5 + 3 * i, weeks).astype(float)
        rows.append(pd.DataFrame({"unique_id": f"p{i}", "ds": ds, "y": y, "price": 2.0 + i, "category": "c"}))
    return pd.concat(rows, ignore_index=True)


def test_moq_and_capacity_exact():
    want = pd.Series({"a": 3.0, "b": 40.0, "c": 0.0, "d": 25.0})
    out = apply_moq_capacity(want, moq=10, capacity=None, priority=want)
    assert out.to_dict() == {"a": 10.0, "b": 40.0, "c": 0.0, "d": 25.0}
    out = apply_moq_capacity(want, moq=10, capacity=60, priority=pd.Series({"a": 1, "b": 5, "c": 0, "d": 3}))
    assert out.sum() <= 60 and out["b"] == 40 and ((out == 0) | (out >= 10)).all()


@pytest.mark.parametrize("policy", ["season-buy", "naive-reorder", "test-and-reorder"])
def test_simulation_balances_and_never_negative(policy):
    p = _panel()
    start = p.ds.unique()[22]
    hist, act = p[p.ds < start], p[p.ds >= start]
    new = pd.DataFrame({"unique_id": "new1", "ds": act.ds.unique()[2:], "y": 4.0, "price": 3.0, "category": "c"})
    res = simulate(
        hist, pd.concat([act, new]), policy, lead_time=1, service_level=0.9, moq=5, capacity=200, model="ses"
    )
    tr = res.trace
    assert np.allclose(tr.start + tr.arrivals - tr.served, tr.end)
    assert (tr.end >= 0).all() and (tr.served <= tr.demand).all()
    assert np.allclose(tr.served + tr.lost, tr.demand)
    per_week = res.orders.groupby("ds").qty.sum()
    assert (per_week <= 200 + 1e-9).all() and (res.orders.qty >= 5).all()
    m = res.metrics
    made = res.orders.qty.sum()
    assert m["leftover_units"] == pytest.approx(made - tr.served.sum())  # units made = served + left over
    assert 0 <= m["fill_rate"] <= 1 and m["production_runs"] == len(res.orders)
    assert tr[tr.unique_id == "new1"].served.sum() > 0  # the launch got a first batch
    assert res.orders.ds.max() <= act.ds.max()  # nothing is made to arrive after the season


def test_test_and_reorder_beats_season_buy_when_demand_shifts():
    """Half the items flop and half become hits after the plan starts: reading demand weekly must leave
    fewer leftovers on the flops and lose fewer sales on the hits than one season buy."""
    rng = np.random.default_rng(3)
    ds = pd.date_range("2023-01-02", periods=40, freq="W-MON")
    rows = []
    for i in range(10):
        after = 1.0 if i % 2 else 25.0
        lam = np.r_[np.full(28, 10.0), np.full(12, after)]
        rows.append(pd.DataFrame({"unique_id": f"p{i}", "ds": ds, "y": rng.poisson(lam).astype(float)}))
    p = pd.concat(rows, ignore_index=True)
    hist, act = p[p.ds < ds[28]], p[p.ds >= ds[28]]
    season = simulate(hist, act, "season-buy", model="ses").metrics
    tar = simulate(hist, act, "test-and-reorder", model="ses").metrics
    assert tar["leftover_units"] < season["leftover_units"]
    assert tar["fill_rate"] > season["fill_rate"]


def test_plan_contract_with_inventory_moq_capacity():
    p = _panel()
    asof = p.ds.max() + pd.Timedelta(weeks=1)
    inv = pd.DataFrame({"unique_id": ["p0", "p5"], "on_hand": [1000.0, 3.0]})
    out = plan(p, asof, lead_time=1, service_level=0.9, moq=12, capacity=60, inventory=inv, model="ses")
    assert list(out.columns) == ["unique_id", "ds", "qty"]
    assert "p0" not in set(out.unique_id)  # covered by stock on hand
    assert out.qty.sum() <= 60 and (out.qty >= 12).all()
    assert (out.ds == asof + pd.Timedelta(weeks=1)).all()


# ---- the stage: stored forecasts, a catalogue larger than any internal limit, a tenant without forecasts ----------


def test_plan_from_stored_forecasts_matches_a_fitted_plan():
    """The same SES forecasts, once fitted inside plan() and once read back from the table the demand stage
    writes: the stored intervals carry the spread, so the base-stock orders agree to a few percent."""
    from supplyfit.demand import Forecaster

    p = _panel(n_items=30, weeks=40)
    asof = p.ds.max() + pd.Timedelta(weeks=1)
    stored = Forecaster(h=8, model="ses").fit(p).predict_hierarchy()
    fitted = plan(p, asof, service_level=0.9, model="ses").set_index("unique_id").qty
    read = plan(p, asof, service_level=0.9, forecasts=stored).set_index("unique_id").qty
    assert set(read.index) == set(fitted.index)
    assert abs(read.sum() / fitted.sum() - 1) < 0.05
    assert (read - fitted).abs().max() <= 0.1 * fitted.max()
    with pytest.raises(MissingForecasts, match="run `supplyfit forecast` first"):
        plan(p, asof + pd.Timedelta(weeks=1), forecasts=stored)  # forecasts older than the plan
    with pytest.raises(MissingForecasts, match="forecast --h 12"):
        plan(p, asof, lead_time=11, forecasts=stored)  # they cover 8 weeks, the plan needs 12


@pytest.fixture(scope="module")
def large_store(tmp_path_factory):
    """12,000 SKUs over 20 weeks: more than LightGBM's query limit and the recommender's dense items."""
    db = tmp_path_factory.mktemp("supply") / "s.duckdb"
    build_store(db, 12_000, weeks=20, customers=3_000, cache=tmp_path_factory.getbasetemp())
    return db


def test_supply_stage_on_a_large_catalogue_reads_the_stored_forecasts(large_store):
    from supplyfit.demand import stage as demand
    from supplyfit.supply import stage as supply

    with Store(large_store) as st:
        demand.run(st, model="ses")
        summary = supply.run(st)
        orders, comparison = st.table("production_plan"), st.table("policy_comparison")
        panel, forecasts = st.table("demand_panel"), st.table("forecasts")
    asof = panel.ds.max() + pd.Timedelta(weeks=1)
    expected = plan(panel, asof, forecasts=forecasts)
    assert panel.unique_id.nunique() > 10_000
    assert orders.sort_values("unique_id", ignore_index=True).equals(
        expected.sort_values("unique_id", ignore_index=True)
    )
    assert len(comparison) == 9 and comparison.fill_rate.between(0, 1).all()
    assert "9 policy settings replayed" in summary
    # the stage reads the panel compactly (categorical ids, blocks of SKUs): the same replay as the plain table's
    start = asof - pd.Timedelta(weeks=8)
    replayed = supply.compare(Replay(panel[panel.ds < start], panel[panel.ds >= start], model="ses"))
    pd.testing.assert_frame_equal(comparison, replayed, check_dtype=False, check_exact=True)


def test_plan_for_a_tenant_without_forecasts_says_what_to_run(large_store):
    from supplyfit.supply import stage as supply

    expected = r"no demand_panel for tenant 'newcomer': run `supplyfit forecast` first"
    # the default tenant has run forecast, this one has not: the tables exist, its rows do not
    with Store(large_store, tenant="newcomer") as st, pytest.raises(MissingForecasts, match=expected):
        supply.run(st)


def test_replay_shares_forecasts_between_policies_and_equals_simulate():
    p = _panel()
    start = p.ds.unique()[22]
    hist, act = p[p.ds < start], p[p.ds >= start]
    replay = Replay(hist, act, model="ses")
    shared = [replay.simulate("test-and-reorder", service_level=sl).metrics for sl in (0.8, 0.9)]
    assert len(replay.outlooks) == 7  # one fit per re-forecast week, not per service level
    assert shared[1] == simulate(hist, act, "test-and-reorder", service_level=0.9, model="ses").metrics


def test_capacity_shared_by_priority_exactly():
    want = pd.Series({"a": 30.0, "b": 25.0, "c": 12.0, "d": 0.0})
    prio = pd.Series({"a": 3.0, "b": 2.0, "c": 1.0, "d": 9.0})
    assert apply_moq_capacity(want, 10, 70, prio).to_dict() == {"a": 30.0, "b": 25.0, "c": 12.0, "d": 0.0}
    assert apply_moq_capacity(want, 10, 66.5, prio).to_dict() == {"a": 30.0, "b": 25.0, "c": 11.0, "d": 0.0}
    assert apply_moq_capacity(want, 10, 62, prio).to_dict() == {"a": 30.0, "b": 25.0, "c": 0.0, "d": 0.0}


# ---- new items: first batches from launch forecasts ------------------------------------------------------------------


def _launch_panel(seed=0, weeks=40):
    """Past launches of two kinds (bags sell ~30 a week, cards ~2), launched over the weeks, with descriptions."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-02", periods=weeks, freq="W-MON")
    rows = []
    for i in range(60):
        bag = i % 2 == 0
        start = 4 + i % (weeks - 12)
        y = rng.poisson(30.0 if bag else 2.0, weeks - start).astype(float)
        y[0] = max(y[0], 1.0)
        rows.append(
            pd.DataFrame(
                {
                    "unique_id": f"p{i}",
                    "ds": ds[start:],
                    "y": y,
                    "price": 2.0 if bag else 10.0,
                    "category": "bags" if bag else "stationery & gift wrap",
                    "description": f"jumbo bag {['red', 'blue', 'pink'][i % 3]}" if bag else f"greeting card {i}",
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_first_batches_quantile_moq_and_capacity_exact():
    from supplyfit.supply.policies import first_batches

    weeks = [1, 2, 3]
    fc = pd.DataFrame(
        {
            "unique_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "week": weeks * 3,
            "yhat": [5.0] * 3 + [0.0] * 3 + [8.0] * 3,
            "yhat_q10": [1.0] * 3 + [0.0] * 3 + [2.0] * 3,
            "yhat_q50": [4.0] * 3 + [0.0] * 3 + [8.0] * 3,
            "yhat_q90": [10.0] * 3 + [0.0] * 3 + [15.0] * 3,
        }
    )
    out = first_batches(fc, moq=25, service_level=0.9, weeks_cover=2).set_index("unique_id")
    assert list(out.columns) == ["demand", "first_batch"]
    assert out["demand"].round(9).to_dict() == {"a": 20.0, "b": 0.0, "c": 30.0}  # weekly 90% quantiles summed
    assert out["first_batch"].to_dict() == {"a": 25.0, "b": 0.0, "c": 30.0}  # MOQ; nothing for no demand
    median = first_batches(fc, service_level=0.5, weeks_cover=5).set_index("unique_id")["demand"]
    assert median.round(9).to_dict() == {"a": 20.0, "b": 0.0, "c": 40.0}  # beyond the forecast: its last week
    shared = first_batches(fc, capacity=40, service_level=0.9, weeks_cover=2).set_index("unique_id")["first_batch"]
    assert shared.to_dict() == {"a": 10.0, "b": 0.0, "c": 30.0}  # the largest first, the rest what is left
    with pytest.raises(ValueError, match="service_level"):
        first_batches(fc, service_level=1.0)
    with pytest.raises(ValueError, match="weeks_cover"):
        first_batches(fc, weeks_cover=0)


def test_plan_sizes_new_items_from_their_launch_forecast():
    from supplyfit.supply.policies import cover_quantile, launch_forecast

    p = _launch_panel()
    asof = p.ds.max() + pd.Timedelta(weeks=1)
    drafts = pd.DataFrame(
        {
            "unique_id": ["new-bag", "new-card"],
            "ds": p.ds.max(),
            "y": 0.0,
            "price": [2.0, 10.0],
            "category": ["bags", "stationery & gift wrap"],
            "description": ["jumbo bag green", "greeting card gold"],
        }
    )
    out = plan(pd.concat([p, drafts], ignore_index=True), asof, service_level=0.9, model="ses")
    got = out.set_index("unique_id")["qty"]
    hist = pd.concat([p, drafts], ignore_index=True)
    expected = cover_quantile(launch_forecast(hist, drafts), 2, 0.9).round()
    assert got["new-bag"] == expected["new-bag"] and got.get("new-card", 0.0) == expected["new-card"]
    assert expected["new-bag"] > 5 * max(expected["new-card"], 1)  # a bag's first batch is a bag's, not a card's


def test_simulation_launches_get_their_launch_forecast_as_first_batch():
    from supplyfit.supply.policies import cover_quantile

    p = _launch_panel()
    start = p.ds.unique()[-6]
    hist, act = p[p.ds < start], p[p.ds >= start]
    new = pd.DataFrame(
        {
            "unique_id": "new-bag",
            "ds": act.ds.unique()[2:],
            "y": 25.0,
            "price": 2.0,
            "category": "bags",
            "description": "jumbo bag green",
        }
    )
    replay = Replay(hist, pd.concat([act, new], ignore_index=True), model="ses")
    assert replay.launch_fc is not None and set(replay.launch_fc.unique_id) == {"new-bag"}
    res = replay.simulate("test-and-reorder", lead_time=1, review_period=1, service_level=0.9)
    first = res.orders[res.orders.unique_id == "new-bag"].sort_values("ds").iloc[0]
    assert first.ds == act.ds.unique()[2]
    assert first.qty == round(cover_quantile(replay.launch_fc, 2, 0.9)["new-bag"])


def test_launch_forecast_reads_descriptions_from_items_and_checks_drafts():
    from supplyfit.supply.policies import launch_forecast

    p = _launch_panel()
    products = p.drop_duplicates("unique_id")[["unique_id", "description", "category"]]
    drafts = pd.DataFrame(
        {"unique_id": ["d1", "d2"], "description": ["jumbo bag green", "greeting card"], "price": 2.0}
    )
    from_panel = launch_forecast(p, drafts)
    from_items = launch_forecast(p.drop(columns=["description", "category"]), drafts, items=products)
    pd.testing.assert_frame_equal(from_items, from_panel)
    unpriced = launch_forecast(p, drafts.drop(columns="price"))  # the history's median price: (2 + 10) / 2
    pd.testing.assert_frame_equal(unpriced, launch_forecast(p, drafts.assign(price=6.0)))
    with pytest.raises(ValueError, match="price must be a positive number"):
        launch_forecast(p, drafts.assign(price=-1.0))
    assert launch_forecast(p[p.unique_id.isin(["p0", "p1"])], drafts) is None  # too few launches to learn from


# ---- the compact paths give the numbers of the plain ones ------------------------------------------------------------


def _young_and_gappy_panel(weeks=30):
    """Series that start late, skip weeks, and a shop-wide close-down in week 20 (a learned calendar week)."""
    p = _panel(n_items=9, weeks=weeks, seed=4)
    p = p[~((p.unique_id == "p3") & (p.ds < p.ds.unique()[12]))]  # launched in week 12
    p = p[~((p.unique_id == "p5") & p.ds.isin(p.ds.unique()[[15, 16]]))]  # no rows in weeks 15-16
    return p.assign(y=np.where(p.ds == p.ds.unique()[20], 0.0, p.y))


@pytest.mark.parametrize("model", ["ses", "tsb", "naive"])
@pytest.mark.parametrize("steps", [2, 8, 12])  # 12: too few weeks to calibrate (30 < 3 x 12)
def test_local_outlook_in_blocks_equals_the_forecasters(model, steps):
    from supplyfit.supply.policies import Outlook
    from supplyfit.supply.refit import local_outlook, units_matrix

    p = _young_and_gappy_panel()
    ids, _, units = units_matrix([p[p.ds < p.ds.unique()[25]], p[p.ds >= p.ds.unique()[25]]])
    whole = Outlook.fit(p, steps, model)
    rows, mean, var = local_outlook(units, steps, model, block=4)  # 3 blocks, the shop's total over all
    assert list(ids[rows]) == list(whole.ids)
    assert np.array_equal(mean, whole.mean) and np.array_equal(var, whole.var)


def test_replay_refits_see_the_weeks_before_and_launches_once_they_sell():
    from supplyfit.supply.policies import Outlook

    p = _young_and_gappy_panel()
    start = p.ds.unique()[22]
    new = pd.DataFrame({"unique_id": "new1", "ds": p.ds.unique()[25:], "y": 4.0, "price": 3.0, "category": "c"})
    hist, act = p[p.ds < start], pd.concat([p[p.ds >= start], new], ignore_index=True)
    replay = Replay(hist, act, model="ses")
    for t in (0, 2, 5):
        seen = pd.concat([hist, act[act.ds < replay.weeks[t]]], ignore_index=True)
        got, expected = replay.outlook(t, 2), Outlook.fit(seen, 2, "ses")
        assert list(got.ids) == list(expected.ids) and ("new1" in got.ids) == (t == 5)
        assert np.array_equal(got.mean, expected.mean) and np.array_equal(got.var, expected.var)


def test_read_compact_gives_the_tables_rows_in_blocks(tmp_path):
    from supplyfit.supply.stored import read_compact

    p = _young_and_gappy_panel().assign(revenue=1.0)
    p["category"] = pd.Series(np.where(p.unique_id < "p4", "b", "a"), index=p.index).where(p.unique_id != "p2")
    with Store(tmp_path / "s.duckdb") as st:
        st.write_result("demand_panel", p)
        got = read_compact(st, "demand_panel", ("y", "price"), ("category",), block=2)
        cut = read_compact(st, "demand_panel", ("y",), where="ds >= $start", params={"start": p.ds.unique()[25]})
    assert got.unique_id.dtype == "category" and list(got.category.cat.categories) == ["a", "b"]
    expected = p.sort_values(["unique_id", "ds"], ignore_index=True)[["unique_id", "ds", "y", "price", "category"]]
    pd.testing.assert_frame_equal(got.astype({"unique_id": object, "category": object}), expected)
    assert len(cut) == (p.ds >= p.ds.unique()[25]).sum() and cut.ds.min() == p.ds.unique()[25]


def test_launch_model_learns_from_the_sales_rows_as_from_the_whole_history():
    from supplyfit.demand import LaunchForecaster
    from supplyfit.supply.policies import LAUNCHES, _item_attributes, launch_forecast, launch_rows

    p = _launch_panel()
    p = p.assign(y=np.where(p.ds == p.ds.max(), 0.0, p.y))  # a last week without a sale: the history still spans it
    drafts = pd.DataFrame(
        {"unique_id": ["d1", "d2"], "description": ["jumbo bag green", "greeting card"], "price": 2.0}
    )
    rows = launch_rows(p)
    assert len(rows) < len(p) and rows.ds.max() == p.ds.max() and (rows.y > 0).sum() == (p.y > 0).sum()
    whole = LaunchForecaster(h=8, max_launches=LAUNCHES).fit(p[["unique_id", "ds", "y"]], _item_attributes(p))
    pd.testing.assert_frame_equal(launch_forecast(p, drafts), whole.predict(drafts), check_exact=True)


def test_drafts_with_bad_values_are_refused_row_by_row_and_nothing_is_guessed():
    from supplyfit.supply import map_drafts

    ok = map_drafts(pd.DataFrame({"id": [" D1", "D2"], "name": ["a", "b"], "price": ["2.5", ""], "votes": ["", "3"]}))
    assert ok["unique_id"].tolist() == ["D1", "D2"] and ok["price"].iloc[0] == 2.5 and np.isnan(ok["price"].iloc[1])
    assert np.isnan(ok["preorders"].iloc[0]) and ok["preorders"].iloc[1] == 3  # empty = not given, not 0
    bad = pd.DataFrame(
        {
            "id": ["D1", "D2", "D3", "D3", "", "D6", "D7"],
            "name": ["a"] * 7,
            "price": ["abc", "0", "-2.5", "2,10", "1", "1", "1"],
            "preorder_weeks": ["", "", "", "", "", "1.5", "0"],
        }
    )
    with pytest.raises(ValueError) as e:
        map_drafts(bad)
    assert str(e.value) == (
        "8 bad draft value(s): row 1 (D1): price 'abc' is not a number above 0; row 2 (D2): price '0' is not a number "
        "above 0; row 3 (D3): id given more than once (rows 3, 4); row 3 (D3): price '-2.5' is not a number above 0; "
        "row 4 (D3): price '2,10' is not a number above 0; and 3 more"
    )
    with pytest.raises(ValueError) as e:
        map_drafts(bad.iloc[4:])  # the rest: a missing id, weeks that are not whole, weeks under 1
    assert str(e.value) == (
        "3 bad draft value(s): row 1: no id; row 2 (D6): preorder_weeks '1.5' is not a whole number of weeks from 1 "
        "to 26; row 3 (D7): preorder_weeks '0' is not a whole number of weeks from 1 to 26"
    )


@pytest.mark.parametrize(
    "column, value",
    [
        ("price", "inf"),
        ("price", "1e309"),
        ("price", "nan"),
        ("price", pd.Timestamp("2024-01-02")),  # a date cell of Excel or Parquet is no price
        ("price", True),
        ("preorders", float("inf")),
        ("preorder_weeks", 1e9),
    ],
)
def test_drafts_refuse_infinite_dates_yes_no_and_out_of_range_cells(column, value):
    from supplyfit.supply import map_drafts

    frame = pd.DataFrame({"id": ["D1", "D2"], "name": ["a", "b"], column: pd.Series([value, 2.0], dtype=object)})
    with pytest.raises(ValueError, match=f"^1 bad draft value\\(s\\): row 1 \\(D1\\): {column} '"):
        map_drafts(frame)


def test_drafts_files_as_people_save_them(tmp_path):
    """Excel's float ids and blank rows, a GBK file with semicolons, a header alone."""
    from supplyfit.supply import map_drafts, read_drafts

    got = map_drafts(pd.DataFrame({"id": [4.0, np.nan, 7.0], "name": ["a", np.nan, "b"], "price": [1.5, np.nan, 2]}))
    assert got["unique_id"].tolist() == ["4", "7"] and got["price"].tolist() == [1.5, 2.0]  # the empty row left out
    path = tmp_path / "drafts.csv"
    path.write_bytes("款号;商品名称;价格\nA1;保温杯;39\n\n;;\nA2;水杯;abc\n".encode("gbk"))
    with pytest.raises(ValueError, match=r"^1 bad draft value\(s\): row 4 \(A2\): price 'abc' is not"):
        read_drafts(path)  # rows numbered as the file's lines after the header, blank ones too
    path.write_bytes("款号;商品名称;价格\nA1;保温杯;39\n\n;;\n".encode("gbk"))
    assert read_drafts(path)[["unique_id", "description", "price"]].values.tolist() == [["A1", "保温杯", 39.0]]
    path.write_text("id,description,price\n")
    with pytest.raises(ValueError, match="has no drafts"):
        read_drafts(path)


def test_a_draft_priced_outside_every_past_launch_gets_a_note():
    from supplyfit.supply.launch import price_notes

    drafts = pd.DataFrame({"unique_id": ["cheap", "usual", "dear"], "price": [0.1, 5.0, 999.0]})
    notes = price_notes(drafts, np.array([0.5, 2.0, 40.0]))
    assert sorted(notes) == ["cheap", "dear"]
    assert notes["dear"].startswith("price 999.00 is above every past launch's (0.50-40.00)")
    assert "below" in notes["cheap"]
