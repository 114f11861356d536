"""Forecast and indicators on a generated store with more SKUs than any fixed limit inside them (12,000 SKUs,
16 weeks of the synthetic generator's orders), and the GBM's sampling of series on large panels."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from supplyfit.demand import stage
from supplyfit.demand.models import GlobalGBM
from supplyfit.demand.panel import Wide
from supplyfit.monitor import indicators
from supplyfit.scale.synthetic import CATEGORIES, build_store
from supplyfit.store import Store

SKUS = 12_000


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("scale") / "s.duckdb"
    build_store(db, SKUS, weeks=16)
    return db


def test_forecast_stage_on_12k_skus(store):
    with Store(store) as st:
        stage.run(st, h=4)
        panel, fc, bt = st.table("demand_panel"), st.table("forecasts"), st.table("backtest")
    skus = panel.drop_duplicates("unique_id").set_index("unique_id")
    assert len(skus) > 11_000
    expected = CATEGORIES[skus.index.str[1:].astype(int) % len(CATEGORIES)]  # the generator's category of each SKU
    assert (skus["category"].to_numpy() == expected).all()
    sku = fc[fc.level == "sku"]
    assert len(sku) == 4 * len(skus) and set(sku.unique_id) == set(skus.index)
    assert sku[["yhat", "yhat_q10", "yhat_q90"]].notna().all().all() and (sku.yhat >= 0).all()
    assert set(fc[fc.level == "category"].unique_id) == {f"category/{c}" for c in CATEGORIES}
    total = fc[fc.level == "total"].set_index("ds").yhat
    assert np.allclose(total, sku.groupby("ds").yhat.sum().loc[total.index])
    assert list(bt.level) == ["sku", "category", "total"]


def test_indicators_on_12k_skus(store):
    with Store(store, read_only=True) as st:
        ind = indicators(st, freq="W")
        sales = st.sales()
    sold = sales[(sales.quantity > 0) & ~sales.is_return.astype(bool)]
    week = sold.ts.dt.to_period("W-SUN").dt.start_time
    assert ind.totals.units.sum() == sold.quantity.sum()
    assert list(ind.totals.orders) == list(sold.groupby(week).order_id.nunique())
    assert list(ind.concentration.skus) == list(sales.groupby(week).sku.nunique())
    assert (ind.concentration.top10_share < 1).all() and np.allclose(ind.price_bands.groupby("period").share.sum(), 1.0)
    assert set(ind.forecast.metric) == {"revenue", "units", "orders", "customers"}


def _wide(n: int, weeks: int, seed: int = 0) -> Wide:
    rng = np.random.default_rng(seed)
    Y = rng.poisson(rng.gamma(2.0, 2.0, (n, 1)), (n, weeks)).astype(float)
    return Wide(np.array([f"s{i}" for i in range(n)]), pd.date_range("2024-01-01", periods=weeks, freq="W-MON"), Y)


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # no prices in this panel
def test_gbm_keeps_every_row_below_max_rows_and_samples_series_above():
    wide = _wide(500, 30)  # 21 origins x up to 8 horizons = 147 (origin, horizon) pairs per series
    full = GlobalGBM().fit(wide, h=8)
    assert full.rows_ == 73_500
    sampled = GlobalGBM(max_rows=10_000).fit(wide, h=8)
    assert 8_000 < sampled.rows_ < 12_000
    fc = sampled.forecast(8)
    assert fc.shape == (500, 8) and np.isfinite(fc).all() and (fc >= 0).all()


def test_backtest_sample_keeps_whole_series_of_the_same_skus_whatever_the_row_order(store):
    with Store(store, read_only=True) as st:
        panel = st.table("demand_panel") if st.has_table("demand_panel") else stage.history(st)
    assert stage.backtest_sample(panel, n=len(panel)) is panel
    picked = stage.backtest_sample(panel, n=5_000)
    shuffled = stage.backtest_sample(panel.sample(frac=1.0, random_state=1), n=5_000)
    assert picked.unique_id.nunique() == 5_000 and set(picked.unique_id) == set(shuffled.unique_id)
    weeks = panel.groupby("unique_id").size()
    assert (picked.groupby("unique_id").size() == weeks.loc[picked.unique_id.unique()]).all()
