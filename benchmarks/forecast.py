"""Forecast accuracy and speed: supplyfit's default model next to statsforecast and mlforecast baselines.

    python benchmarks/forecast.py [--cutoff 2010-10-11] [--h 8]

UCI Online Retail II 2009–2010, weekly units per SKU, series with a sale in the 26 weeks before the cut-off.
Each model is fitted on the weeks before the cut-off and scored on the next h (M5 WRMSSE, revenue weights of
the last 8 weeks). Wall time is fit + predict on the same panel, same process, 2 cores.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import load_uci_panel

from supplyfit.demand import Forecaster
from supplyfit.demand.backtest import score
from supplyfit.demand.panel import Wide

warnings.filterwarnings("ignore")


def statsforecast_models(season: int):
    from statsforecast import models as sm

    return {
        "SeasonalNaive(52)": sm.SeasonalNaive(season_length=season),
        "WindowAverage(8)": sm.WindowAverage(window_size=8),
        "AutoETS": sm.AutoETS(season_length=1),
        "CrostonOptimized": sm.CrostonOptimized(),
        "TSB(0.1,0.1)": sm.TSB(alpha_d=0.1, alpha_p=0.1),
        "IMAPA": sm.IMAPA(),
    }


def run_statsforecast(model, train: pd.DataFrame, h: int) -> tuple[pd.DataFrame, float]:
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    t0 = time.perf_counter()
    fc = StatsForecast(models=[model], freq="W-MON", n_jobs=1, fallback_model=Naive()).forecast(
        df=train[["unique_id", "ds", "y"]], h=h
    )
    elapsed = time.perf_counter() - t0
    col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
    return fc.rename(columns={col: "yhat"}), elapsed


def run_mlforecast(train: pd.DataFrame, h: int) -> tuple[pd.DataFrame, float]:
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    weeks = train.groupby("unique_id").size().max()
    lags = [1, 2, 3, 4, 8, 13] + ([52] if weeks > 60 else [])
    t0 = time.perf_counter()
    mlf = MLForecast(
        models={
            "lgbm": lgb.LGBMRegressor(objective="tweedie", n_estimators=300, learning_rate=0.05, verbose=-1, n_jobs=2)
        },
        freq="W-MON",
        lags=lags,
        date_features=["week"],
        lag_transforms={1: [RollingMean(4), RollingMean(8), RollingMean(13)]},
    )
    mlf.fit(train[["unique_id", "ds", "y"]], dropna=False)
    fc = mlf.predict(h)
    return fc.rename(columns={"lgbm": "yhat"}), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cutoff", default="2010-10-11")
    ap.add_argument("--h", type=int, default=8)
    args = ap.parse_args()
    panel = load_uci_panel()
    cutoff, h = pd.Timestamp(args.cutoff), args.h
    train = panel[panel.ds < cutoff]
    active = train[(train.ds >= cutoff - pd.Timedelta(weeks=26)) & (train.y > 0)].unique_id.unique()
    train = train[train.unique_id.isin(active)]
    full = Wide.from_long(panel)
    idx = pd.Index(full.ids).get_indexer(np.sort(active))
    t = int(full.dates.searchsorted(cutoff))
    hist = Wide(full.ids[idx], full.dates[:t], full.Y[idx, :t], full.revenue[idx, :t])
    actual = np.nan_to_num(full.Y[idx, t : t + h])
    print(
        f"panel: {len(active):,} active SKUs, {train.ds.nunique()} weeks of history, cut-off {cutoff:%Y-%m-%d}, h={h}"
    )

    def evaluate(fc: pd.DataFrame) -> dict:
        fc = fc.sort_values(["unique_id", "ds"]).set_index("unique_id").loc[hist.ids].reset_index()
        fc["yhat"] = fc["yhat"].fillna(0).clip(lower=0)
        for q in ("yhat_q10", "yhat_q50", "yhat_q90"):
            if q not in fc:
                fc[q] = fc["yhat"]
        return score(hist, actual, fc)

    rows = []
    for name, model in statsforecast_models(52).items():
        fc, secs = run_statsforecast(model, train, h)
        rows.append({"model": f"statsforecast {name}", "seconds": secs, **evaluate(fc)})
    fc, secs = run_mlforecast(train, h)
    rows.append({"model": "mlforecast LightGBM (tweedie)", "seconds": secs, **evaluate(fc)})
    t0 = time.perf_counter()
    ours = Forecaster(h=h).fit(train)
    fc = ours.predict()
    rows.append({"model": "supplyfit Forecaster() default", "seconds": time.perf_counter() - t0, **evaluate(fc)})
    res = pd.DataFrame(rows)
    cols = ["model", "wrmsse", "mase", "bias", "pinball_q50", "coverage_80", "seconds"]
    print(res[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    best = res.iloc[:-1].sort_values("wrmsse").iloc[0]
    mine = res.iloc[-1]
    ets = res[res.model.str.contains("AutoETS")].iloc[0]
    print(
        f"\nbest baseline: {best.model} WRMSSE {best.wrmsse:.4f}; ours {mine.wrmsse:.4f} "
        f"({(1 - mine.wrmsse / best.wrmsse) * 100:+.1f}% lower; target >= 10%)"
    )
    print(
        f"time ours / AutoETS: {mine.seconds / ets.seconds:.2f}x (target <= 1); "
        f"80% interval coverage {mine.coverage_80:.3f} (target 0.78-0.82)"
    )


if __name__ == "__main__":
    main()
