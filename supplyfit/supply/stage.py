"""The supply stage of the pipeline: next week's production plan and a policy comparison, in the store.

The plan reads the forecasts the demand stage stored (nothing is refitted); the comparison replays the last weeks,
which needs forecasts made at each of those weeks, so it re-forecasts them with a fast model, once per week. Both
read the stored tables compactly (:mod:`.stored`) and the replay refits in blocks of series (:mod:`.refit`): at 200k
SKUs the stage peaks at 2.6 GB instead of 9 GB, with the same tables.
"""

from __future__ import annotations

import pandas as pd

from ..store import Store
from .errors import MissingForecasts
from .policies import POLICIES, Replay, plan
from .stored import read_compact

COMPARISON = [
    "policy",
    "service_level",
    "fill_rate",
    "lost_units",
    "leftover_units",
    "leftover_rate",
    "avg_inventory",
    "production_runs",
    "units_made",
]
NUMBERS, TEXTS = ("y", "price"), ("category",)  # the panel's columns plans and replays read


def _stored(
    store: Store, name: str, numbers: tuple[str, ...], texts: tuple[str, ...] = (), where: str = ""
) -> pd.DataFrame:
    """This tenant's rows of a table the demand stage writes, compactly (:func:`read_compact`: the columns the stage
    reads, ids and texts as categoricals); MissingForecasts when it has none."""
    frame = read_compact(store, name, numbers, texts, where) if store.has_table(name) else pd.DataFrame()
    if frame.empty:
        raise MissingForecasts(f"no {name} for tenant {store.tenant!r}: run `supplyfit forecast` first")
    return frame


def compare(replay: Replay | None, lead_time: int = 1, service_level: float = 0.9) -> pd.DataFrame:
    """The ``policy_comparison`` rows of a replay: each policy at 70/80/90/95% service (naive-reorder, which has
    no service level, once at ``service_level``); none without a replay (a history too short to play)."""
    rows = []
    if replay is not None:
        for policy in POLICIES:
            for sl in (0.7, 0.8, 0.9, 0.95) if policy != "naive-reorder" else (service_level,):
                res = replay.simulate(policy, lead_time=lead_time, service_level=sl)
                rows.append({"policy": policy, "service_level": sl, **res.metrics})
    return pd.DataFrame(rows, columns=COMPARISON).astype({"policy": str})


def run(
    store: Store,
    lead_time: int = 1,
    service_level: float = 0.9,
    weeks: int = 8,
    policy: str = "test-and-reorder",
    moq: float = 0,
    capacity: float | None = None,
    inventory: pd.DataFrame | None = None,
) -> str:
    """Write ``production_plan`` (orders from the week after the panel on, from the stored forecasts, under
    ``policy``, ``moq`` and ``capacity``, net of ``inventory`` (unique_id, on_hand, on_order) as in :func:`plan`)
    and ``policy_comparison`` (last ``weeks`` weeks replayed: each policy's fill rate, leftovers and runs, at
    several service levels). Raises :class:`MissingForecasts` when the demand stage has not run for this tenant."""
    panel = _stored(store, "demand_panel", NUMBERS, TEXTS)
    forecasts = _stored(store, "forecasts", ("yhat", "yhat_q10", "yhat_q90"), where="level = 'sku'")
    asof = panel["ds"].max() + pd.Timedelta(weeks=1)
    orders = plan(
        panel,
        asof,
        policy=policy,
        lead_time=lead_time,
        service_level=service_level,
        moq=moq,
        capacity=capacity,
        inventory=inventory,
        forecasts=forecasts,
    )
    store.write_result("production_plan", orders)
    if inventory is not None:  # the panel's distinct ids only (a categorical's): not a string per panel row
        known = int(inventory["unique_id"].astype(str).isin(set(panel["unique_id"].unique().astype(str))).sum())
    del panel, forecasts  # the replay reads its two parts of the panel afresh: never three copies at once
    start = asof - pd.Timedelta(weeks=weeks)
    history = read_compact(store, "demand_panel", NUMBERS, TEXTS, "ds < $start", {"start": start})
    actuals = read_compact(store, "demand_panel", NUMBERS, TEXTS, "ds >= $start", {"start": start})
    replay = Replay(history, actuals, model="ses") if len(history) else None
    del history, actuals  # the replay keeps what it refits on (a units matrix), not these
    comparison = compare(replay, lead_time, service_level)
    store.write_result("policy_comparison", comparison)
    n = len(comparison)
    replayed = f"{n} policy settings replayed" if n else f"history shorter than {weeks + 1} weeks: no replay"
    if inventory is None:
        stock = "no stock on hand given: quantities as if none"
    else:
        stock = f"net of the stock of {known:,} SKUs" + (
            f" ({len(inventory) - known:,} inventory SKU(s) not in the history)" if known < len(inventory) else ""
        )
    return (
        f"{len(orders)} SKUs to make ({orders['qty'].sum():,.0f} units) arriving "
        f"{asof + pd.Timedelta(weeks=lead_time):%Y-%m-%d}; {stock}; {replayed}"
    )
