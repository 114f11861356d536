"""The shop's calendar read off its weekly total: close-downs found, left out of learning, repeated a year later."""

import numpy as np
import pandas as pd

from supplyfit.demand import Forecaster
from supplyfit.demand.calendar import ahead, open_share, seasonal_factor


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


def test_the_same_weeks_a_year_later_are_forecast_closed_and_the_weeks_after_are_not_dragged_down():
    closed = (50, 51)  # the last two weeks of the first year
    panel = _panel(100, closed)  # ends 2 weeks before the close-down comes round again
    fc = Forecaster(h=6).fit(panel)
    total = fc.predict().groupby("ds").yhat.sum().to_numpy()
    assert np.allclose(total[2:4], 0.0) and (fc.open_[list(closed)] == 0).all()
    assert 0.8 * 600 < total[0] < 1.2 * 600 and 0.8 * 600 < total[4] < 1.2 * 600  # 30 series x 20
    plain = Forecaster(h=6, calendar=False).fit(panel).predict().groupby("ds").yhat.sum().to_numpy()
    assert plain[2] > 400  # without the calendar the close-down is forecast as a normal week


def test_a_shop_that_never_closes_gets_the_same_forecasts():
    panel = _panel(40)
    a = Forecaster(h=4).fit(panel).predict()
    b = Forecaster(h=4, calendar=False).fit(panel).predict()
    pd.testing.assert_frame_equal(a, b)


def test_seasonal_factor_follows_last_years_shape():
    share = np.ones(78)
    hist = np.full(78, 100.0)
    hist[26:28] = 50.0  # the first two forecast weeks a year before: half
    f = seasonal_factor(hist, share, np.full(4, 100.0))
    assert f.tolist() == [0.5, 0.5, 1.0, 1.0]
    assert seasonal_factor(hist[:55], share[:55], np.full(4, 100.0)).tolist() == [1.0] * 4  # under a year + 8
