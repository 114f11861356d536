"""Plans respect MOQ and capacity exactly; simulations balance inventory every week and never go negative."""

import numpy as np
import pandas as pd
import pytest

from supplyfit.supply import plan, simulate
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
    res = simulate(hist, pd.concat([act, new]), policy, lead_time=1, service_level=0.9, moq=5, capacity=200,
                   model="ses")
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
    assert (tr[tr.unique_id == "new1"].served.sum() > 0)  # the launch got a first batch
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
