"""Forecasts on 18 months of real data: rolling origin across the 2010-2011 winter and the 2011 spring.

    python benchmarks/forecast_calendar.py [--cutoffs 2010-10-11 2010-11-08 ...] [--models auto imapa ...]
        [--panel panel.parquet]

Both UCI Online Retail II files go through the store (their overlap is stored once: the store's duplicate count
is printed), then the weekly panel of SKUs active in the 26 weeks before each cut-off is backtested with h = 8
for every model, at SKU, category and total level, through ``supplyfit.demand.backtest``. Printed per model and
level: WRMSSE per cut-off and mean, 80% coverage, and mean band width / mean level (q90 - q10 over the mean
actual), next to the same for seasonal naive. "best baseline" is the statistical model with the lowest mean SKU
WRMSSE in this run. ``--panel FILE`` keeps the weekly panel in a parquet file: the first run writes it, later runs
read it instead of loading the store again (for quick comparisons of models).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
from _common import SHARED

from supplyfit.demand import backtest, weekly_panel
from supplyfit.store import Store, ingest_orders

warnings.filterwarnings("ignore")
FILES = ("online_retail_II_2009_2010.parquet", "online_retail_II_2010_2011_to_may.parquet")
CUTOFFS = ["2010-10-11", "2010-11-08", "2010-12-06", "2011-01-10", "2011-02-07", "2011-03-07", "2011-04-04"]
MODELS = ["auto", "auto-nocal", "imapa", "croston", "ets", "ses", "window_average", "seasonal_naive"]
# the baselines as a user would run them (no calendar); "auto-nocal" is the default without its calendar


def real_panel(work: Path) -> pd.DataFrame:
    """Both files loaded into one store; the weekly panel of its product lines."""
    with Store(work / "retail.duckdb") as st:
        for name in FILES:
            r = ingest_orders(st, SHARED / "online_retail" / name, preset="uci-online-retail")
            print(
                f"{name}: {r.rows_read:,} read = {r.stored:,} stored + {r.quarantined:,} quarantined + "
                f"{r.duplicates:,} duplicates"
            )
        return weekly_panel(st)


def load_panel(cache: Path | None) -> pd.DataFrame:
    """The real panel, read from ``cache`` when that file exists, else built through the store (and written
    to ``cache`` when given)."""
    if cache is not None and cache.exists():
        return pd.read_parquet(cache)
    with tempfile.TemporaryDirectory() as tmp:
        panel = real_panel(Path(tmp))
    if cache is not None:
        panel.to_parquet(cache)
    return panel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cutoffs", nargs="+", default=CUTOFFS)
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--h", type=int, default=8)
    ap.add_argument("--panel", type=Path, help="parquet file to read the panel from, or to write it to")
    args = ap.parse_args()
    panel = load_panel(args.panel)
    print(f"panel: {panel.unique_id.nunique():,} SKUs, {panel.ds.min():%Y-%m-%d} .. {panel.ds.max():%Y-%m-%d}")
    results = []
    for model in args.models:
        t0 = time.perf_counter()
        name, calendar = model.removesuffix("-nocal"), model == "auto"
        r = backtest(panel, args.cutoffs, h=args.h, model=name, active_weeks=26, calendar=calendar)
        r["model"] = model
        r["seconds"] = time.perf_counter() - t0
        results.append(r)
        print(f"{model}: {r.seconds.iloc[0]:.0f} s, SKU WRMSSE {r[r.level == 'sku'].wrmsse.mean():.4f}", flush=True)
    df = pd.concat(results, ignore_index=True)
    df["cutoff"] = df["cutoff"].dt.strftime("%m-%d")
    for level, g in df.groupby("level", sort=False):
        table = g.pivot(index="model", columns="cutoff", values="wrmsse")
        table["mean"] = table.mean(axis=1)
        table["cov80"] = g.groupby("model").coverage_80.mean()
        table["width/level"] = g.groupby("model").band_width.mean()
        print(f"\n{level}: WRMSSE per cut-off")
        print(table.sort_values("mean").to_string(float_format=lambda v: f"{v:.3f}"))
    sku = df[df.level == "sku"].groupby("model").wrmsse.mean()
    baselines = sku.drop(index=[m for m in ("auto", "auto-nocal", "lgbm") if m in sku.index])
    if "auto" in sku and len(baselines):
        best = baselines.idxmin()
        print(
            f"\nauto {sku['auto']:.4f} vs best baseline {best} {baselines.min():.4f}: "
            f"{1 - sku['auto'] / baselines.min():+.1%} (target: at least 10% better)"
        )


if __name__ == "__main__":
    main()
