"""Indicators: numbers that add up to the order lines they come from."""

import numpy as np
import pandas as pd
import pytest

from supplyfit.monitor import indicators, sentiment_index


@pytest.fixture
def lines() -> pd.DataFrame:
    # two categories over 60 weeks; category b doubles its units in the last 4 weeks; one return
    rows = []
    for w in range(60):
        ts = pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=w, days=1)
        rows.append(
            dict(
                order_id=f"o{w}a",
                sku="A1",
                quantity=10,
                unit_price=2.0,
                ts=ts,
                customer_id=f"c{w % 3}",
                category="a",
                region="north",
            )
        )
        rows.append(
            dict(
                order_id=f"o{w}b",
                sku="B1",
                quantity=20 if w >= 56 else 10,
                unit_price=1.0,
                ts=ts,
                customer_id=f"c{w}",
                category="b",
                region="south",
            )
        )
    rows.append(
        dict(
            order_id="r1",
            sku="A1",
            quantity=-5,
            unit_price=2.0,
            ts=pd.Timestamp("2023-01-03"),
            customer_id="c0",
            category="a",
            region="north",
        )
    )
    df = pd.DataFrame(rows)
    df["is_return"] = df.quantity < 0
    return df


def test_weekly_totals_add_up(lines):
    ind = indicators(lines, freq="W", forecast=False)
    t = ind.totals.set_index("period")
    assert len(t) == 60
    assert t.complete.iloc[:-1].all() and not t.complete.iloc[-1]  # data end on a Tuesday
    assert any("incomplete" in n for n in ind.notes)
    assert t.revenue.sum() == pytest.approx((lines.quantity * lines.unit_price).sum())  # net of the return
    assert t.units.sum() == lines[lines.quantity > 0].quantity.sum()
    first = t.iloc[0]
    assert first.return_rate == pytest.approx(5 / 20) and first.orders == 2
    assert np.isnan(first.revenue_pop) and t.revenue_pop.iloc[1] == pytest.approx(30 / 20 - 1)
    # a year later the same week exists: yoy defined from week 52 on
    assert t.revenue_yoy.iloc[:52].isna().all() and t.revenue_yoy.iloc[56] == pytest.approx(40 / 30 - 1)
    # the last week is partial (its Tuesday only): no growth against whole weeks, in the totals or any breakdown
    assert t.revenue_pop.iloc[-2] == pytest.approx(0.0) and t.revenue_yoy.iloc[-2] == pytest.approx(40 / 30 - 1)
    assert t[[c for c in t.columns if c.endswith(("_pop", "_yoy"))]].iloc[-1].isna().all()
    last = ind.by_dimension[ind.by_dimension.period == t.index[-1]]
    assert len(last) and last.revenue_pop.isna().all() and last.units_yoy.isna().all()


def _with_orders(lines: pd.DataFrame, *rows: tuple) -> pd.DataFrame:
    """``lines`` and more lines of A1 in the first week: (order_id, quantity, ts, customer_id) each."""
    extra = pd.DataFrame(rows, columns=["order_id", "quantity", "ts", "customer_id"]).assign(
        sku="A1", unit_price=2.0, category="a", region="north", ts=lambda d: pd.to_datetime(d.ts)
    )
    return pd.concat([lines, extra.assign(is_return=extra.quantity < 0)], ignore_index=True)


def test_an_order_cancelled_within_a_day_is_neither_a_sale_nor_a_return(lines):
    """A big order cancelled 16 minutes later leaves no trace in units, revenue, orders or the return rate; an
    order returned five days later is a sale and a return, as before."""
    base = indicators(lines, freq="W", forecast=False).totals.iloc[0]
    cancelled = _with_orders(lines, ("big", 5000, "2023-01-04 10:01", "c9"), ("Cbig", -5000, "2023-01-04 10:17", "c9"))
    first = indicators(cancelled, freq="W", forecast=False).totals.iloc[0]
    for metric in ("units", "revenue", "orders", "customers", "returned_units", "return_rate"):
        assert first[metric] == pytest.approx(base[metric]), metric
    returned = _with_orders(lines, ("late", 6, "2023-01-02 10:00", "c9"), ("Clate", -6, "2023-01-07 10:00", "c9"))
    first = indicators(returned, freq="W", forecast=False).totals.iloc[0]
    assert first.units == base.units + 6 and first.returned_units == base.returned_units + 6


def test_structure_tables(lines):
    ind = indicators(lines, freq="M", forecast=False)
    shares = ind.by_dimension[ind.by_dimension.dimension == "category"].groupby("period").share.sum()
    assert np.allclose(shares, 1.0)
    contrib = ind.contribution.groupby("period").contribution.sum()
    growth = ind.totals.set_index("period").revenue_pop.dropna()
    assert np.allclose(contrib.loc[growth.index], growth)  # category contributions add up to total growth
    assert (ind.concentration.top10_share <= 1 + 1e-9).all() and (ind.concentration.hhi > 0).all()
    assert np.allclose(ind.price_bands.groupby("period").share.sum(), 1.0)
    cust = ind.customers.set_index("period")
    assert cust.new_customers.iloc[0] == ind.totals.customers.iloc[0]  # everyone is new in the first month
    assert "no channel column in the orders: no breakdown by channel" in ind.notes


def test_forecast_of_each_metric(lines):
    ind = indicators(lines, freq="W", horizon=4)
    fc = ind.forecast
    assert set(fc.metric) == {"revenue", "units", "orders", "customers"}
    assert (fc.groupby("metric").size() == 4).all()
    assert (fc.yhat_q10 <= fc.yhat + 1e-9).all() and (fc.yhat <= fc.yhat_q90 + 1e-9).all()
    assert fc.period.min() > lines.ts.max() - pd.Timedelta(days=7)


def test_sentiment_index_bounds():
    scores = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-02"]),
            "category": ["x", "x", "x", "y"],
            "p_positive": [0.9, 0.8, 0.1, 0.2],
        }
    )
    idx = sentiment_index(scores, "M").set_index(["period", "category"])["index"]
    assert idx[(pd.Timestamp("2024-01-01"), "x")] == 200 and idx[(pd.Timestamp("2024-02-01"), "all")] == 0


def test_bad_freq_and_empty(lines):
    with pytest.raises(ValueError, match="freq"):
        indicators(lines, freq="D")
    with pytest.raises(ValueError, match="no product order lines"):
        indicators(lines.iloc[:0], freq="W")


def test_demo_store_has_indicator_tables(demo_store):
    from supplyfit.store import Store

    with Store(demo_store, read_only=True) as st:
        weekly = st.table("ind_totals", where="freq = 'W'")
        sales = st.sales()
        assert weekly.revenue.sum() == pytest.approx((sales.quantity * sales.unit_price).sum())
        assert len(st.table("hotspots")) == 20


def test_revenue_forecast_is_forecast_units_times_expected_prices(demo_store):
    """Not a smoothed constant: each week's revenue is the total's forecast units x the average recent price of
    the SKUs' forecast mix, its band the total units' band scaled alike."""
    from supplyfit.store import Store

    with Store(demo_store, read_only=True) as st:
        rev = indicators(st, freq="W").forecast.query("metric == 'revenue'").reset_index(drop=True)
        fc = st.table("forecasts")
        prices = st.query("""
            SELECT sku, sum(quantity * unit_price) / sum(quantity) AS price FROM orders
            WHERE tenant = $tenant AND is_product AND NOT is_return AND quantity > 0
              AND ts > (SELECT max(ts) FROM orders WHERE tenant = $tenant) - INTERVAL 91 DAY GROUP BY sku""")
    first = rev.period.iloc[0]
    units = fc[(fc.level == "sku") & (fc.ds == first)].merge(prices, left_on="unique_id", right_on="sku")
    total = fc[(fc.level == "total") & (fc.ds == first)].iloc[0]
    mix_price = (units.yhat * units.price).sum() / units.yhat.sum()
    assert rev.yhat.iloc[0] == pytest.approx(total.yhat * mix_price, rel=0.02)
    assert rev.yhat_q90.iloc[0] / rev.yhat.iloc[0] == pytest.approx(total.yhat_q90 / total.yhat)
    assert rev.yhat.nunique() > 1
    with Store(demo_store, read_only=True) as st:  # what the monitor stage stored for the report and the API
        stored = st.table("ind_forecast", where="freq = 'W' AND metric = 'revenue'").sort_values("period")
    assert stored.yhat.round(6).tolist() == rev.yhat.round(6).tolist()


def test_a_store_gives_the_indicators_of_its_lines_run_by_run_of_periods(lines, tmp_path, monkeypatch):
    """From a store the indicators aggregate its orders in DuckDB, a few periods at a time (here 25 lines, so
    many runs): the same tables as from its lines as a frame, up to the order of floating-point sums."""
    import importlib

    from supplyfit.store import Store
    from supplyfit.store.ingest import load_frame

    module = importlib.import_module("supplyfit.monitor.indicators")
    with Store(tmp_path / "s.duckdb") as st:
        cancelled = ("big", 500, "2023-01-04 10:01", "c9"), ("Cbig", -500, "2023-01-04 10:17", "c9")
        load_frame(st, _with_orders(lines, *cancelled), "orders", "lines", tmp_path)
        load_frame(st.scoped("other"), lines.assign(quantity=lines.quantity * 3), "orders", "other", tmp_path)
        for freq in ("W", "M"):
            want = indicators(st.sales(), freq=freq, forecast=False).tables()
            monkeypatch.setattr(module, "BATCH_LINES", 25)
            got = indicators(st, freq=freq, forecast=False).tables()
            monkeypatch.undo()
            assert got.keys() == want.keys()
            for name in want:
                pd.testing.assert_frame_equal(got[name], want[name], rtol=1e-12)
    assert len(want["totals"]) == 14 and want["customers"].new_customers.sum() == 60  # months; c0..c59
