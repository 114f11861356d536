"""The supply stage of the pipeline: next week's production plan and a policy comparison, in the store."""

from __future__ import annotations

import pandas as pd

from ..store import Store
from .policies import POLICIES, plan, simulate


def run(store: Store, lead_time: int = 1, service_level: float = 0.9, weeks: int = 8) -> str:
    """Write ``production_plan`` (orders from the last week on) and ``policy_comparison`` (last ``weeks``
    weeks replayed: each policy's fill rate, leftovers and runs, at several service levels)."""
    if not store.has_table("demand_panel"):
        return "no demand panel: run the demand stage first"
    panel = store.table("demand_panel")
    asof = panel["ds"].max() + pd.Timedelta(weeks=1)
    orders = plan(panel, asof, lead_time=lead_time, service_level=service_level)
    store.write_result("production_plan", orders)
    start = asof - pd.Timedelta(weeks=weeks)
    history, actuals = panel[panel["ds"] < start], panel[panel["ds"] >= start]
    rows = []
    for policy in POLICIES:
        for sl in ((0.7, 0.8, 0.9, 0.95) if policy != "naive-reorder" else (service_level,)):
            res = simulate(history, actuals, policy, lead_time=lead_time, service_level=sl, model="ses")
            rows.append({"policy": policy, "service_level": sl, **res.metrics})
    store.write_result("policy_comparison", pd.DataFrame(rows))
    return f"{len(orders)} SKUs to make ({orders['qty'].sum():,.0f} units) arriving {asof + pd.Timedelta(weeks=lead_time):%Y-%m-%d}"
