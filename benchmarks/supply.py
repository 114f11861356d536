"""Test-and-reorder vs season buy vs naive re-order, replayed on real demand.

    python benchmarks/supply.py [--start 2010-10-11] [--weeks 8]

UCI Online Retail II 2009–2010; SKUs active in the 26 weeks before the start plus launches (first sold inside
the horizon). Lead time 1 week for re-orders; the season buy is ordered (and delivered) at the start.
Forecasts inside the simulation use SES (the re-forecast runs every week for every SKU).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import load_uci_panel

from supplyfit.supply import simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", default="2010-10-11")
    ap.add_argument("--weeks", type=int, default=8)
    args = ap.parse_args()
    panel = load_uci_panel()
    start = pd.Timestamp(args.start)
    end = start + pd.Timedelta(weeks=args.weeks)
    hist, act = panel[panel.ds < start], panel[(panel.ds >= start) & (panel.ds < end)]
    active = hist[(hist.ds >= start - pd.Timedelta(weeks=26)) & (hist.y > 0)].unique_id.unique()
    launches = act[~act.unique_id.isin(hist.unique_id)].unique_id.unique()
    hist = hist[hist.unique_id.isin(active)]
    act = act[act.unique_id.isin(set(active) | set(launches))]
    print(f"{len(active):,} active SKUs, {len(launches):,} launches, {args.weeks} weeks from {start:%Y-%m-%d}")
    rows = []
    for policy, levels in (
        ("season-buy", (0.5, 0.7, 0.8, 0.9)),
        ("naive-reorder", (0.9,)),
        ("test-and-reorder", (0.5, 0.7, 0.8, 0.85, 0.86, 0.87, 0.88, 0.9, 0.95)),
    ):
        for sl in levels:
            res = simulate(hist, act, policy, lead_time=1, service_level=sl, model="ses")
            tr = res.trace
            lt = tr[tr.unique_id.isin(launches)]
            lo = res.orders[res.orders.unique_id.isin(launches)]
            left_launch = lt.groupby("unique_id").end.last().sum()
            rows.append(
                {
                    "policy": policy,
                    "service_level": sl,
                    **{
                        k: res.metrics[k]
                        for k in ("fill_rate", "leftover_rate", "leftover_units", "lost_units", "production_runs")
                    },
                    "launch_fill": lt.served.sum() / max(lt.demand.sum(), 1),
                    "launch_leftover_rate": left_launch / max(lo.qty.sum(), 1),
                }
            )
    res = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(res.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    season = res[(res.policy == "season-buy") & (res.service_level == 0.9)].iloc[0]
    curve = res[res.policy == "test-and-reorder"].sort_values("fill_rate")
    at_fill = np.interp(season.fill_rate, curve.fill_rate, curve.leftover_units)
    print(
        f"\nseason-buy SL 0.9: fill {season.fill_rate:.3f}, leftover {season.leftover_units:,.0f}; "
        f"test-and-reorder at the same fill rate (interpolated on its curve): leftover {at_fill:,.0f} "
        f"({(1 - at_fill / season.leftover_units) * 100:.1f}% fewer; target >= 40%)"
    )
    tar = curve[curve.fill_rate >= season.fill_rate]
    if len(tar):
        best = tar.iloc[0]
        print(
            f"lowest service level of test-and-reorder at or above that fill: SL {best.service_level}, fill "
            f"{best.fill_rate:.3f}, leftover {best.leftover_units:,.0f} "
            f"({(1 - best.leftover_units / season.leftover_units) * 100:.1f}% fewer)"
        )


if __name__ == "__main__":
    main()
