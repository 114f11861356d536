"""Forecasting with two years of history, where the default switches to the GBM alone with year-ago features.

    python benchmarks/forecast_long.py [--series 3000] [--seed 7]

The shared retail file holds one year, so this path cannot be scored on it. This script checks it on the
seeded synthetic orders of `benchmarks/scale.py` (104 weeks, yearly season with a Christmas peak,
intermittency, trend). It runs a rolling-origin backtest at three cut-offs (30, 20 and 9 weeks before the
end, h = 8) and compares the default with SES, seasonal naive, window average and statsforecast's IMAPA and
AutoETS, all through `supplyfit.demand.backtest`.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

from supplyfit.demand import backtest
from supplyfit.scale.synthetic import synthetic_panel

warnings.filterwarnings("ignore")
MODELS = ["auto", "ses", "seasonal_naive", "window_average", "imapa", "ets"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    panel = synthetic_panel(args.series, args.seed)
    dates = sorted(panel.ds.unique())
    cutoffs = [dates[-30], dates[-20], dates[-9]]
    print(
        f"{panel.unique_id.nunique():,} series, {len(dates)} weeks; cut-offs "
        f"{', '.join(f'{pd.Timestamp(c):%Y-%m-%d}' for c in cutoffs)}"
    )
    rows = []
    for model in MODELS:
        t0 = time.perf_counter()
        r = backtest(panel, cutoffs, h=8, model=model, active_weeks=26)
        sku = r[r.level == "sku"]
        rows.append(
            {
                "model": model,
                **{f"wrmsse@{pd.Timestamp(c):%m-%d}": w for c, w in zip(cutoffs, sku.wrmsse)},
                "mean_wrmsse": sku.wrmsse.mean(),
                "coverage_80": sku.coverage_80.mean(),
                "seconds": time.perf_counter() - t0,
            }
        )
        print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
