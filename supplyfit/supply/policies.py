"""Production and replenishment: plan orders under MOQ and shared capacity, and simulate policies on actuals.

Policies:
- ``season-buy``: one order at the start covering the whole horizon, at the service-level quantile;
- ``naive-reorder``: each review, re-order what sold in the last review period;
- ``test-and-reorder``: a small first batch (base stock over lead time + review period only), then each review
  period re-forecast with the demand seen so far and order up to the base-stock level.
New items (no history) get their first batch from comparable items: same category, similar price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..demand import Forecaster

POLICIES = ("season-buy", "naive-reorder", "test-and-reorder")


@dataclass
class SimulationResult:
    metrics: dict
    orders: pd.DataFrame   # unique_id, ds (arrival week), qty
    trace: pd.DataFrame    # unique_id, ds, start, arrivals, demand, served, lost, end


def launch_rates(history: pd.DataFrame, new: pd.DataFrame, weeks: int = 4) -> pd.Series:
    """Expected weekly demand of new items from comparable launches in ``history``.

    ``new`` has unique_id (+ category, price). Comparable = items whose first ``weeks`` weeks of sales are in
    the history, same category and price within ×0.5–×2 when known; their mean weekly demand in those weeks.
    """
    h = history.sort_values("ds")
    first = h.groupby("unique_id")["ds"].transform("min")
    early = h[h["ds"] < first + pd.Timedelta(weeks=weeks)]
    last = h["ds"].max()
    launched = early.groupby("unique_id").filter(lambda g: g["ds"].max() <= last)
    stats = launched.groupby("unique_id").agg(rate=("y", "mean"))
    for col in ("category", "price"):
        if col in h.columns:
            stats[col] = h.groupby("unique_id")[col].agg(lambda s: s.dropna().iloc[-1] if s.notna().any() else None)
    overall = float(stats["rate"].median()) if len(stats) else 0.0
    rates = {}
    for r in new.itertuples(index=False):
        pool = stats
        if "category" in stats.columns and getattr(r, "category", None) is not None:
            same = pool[pool["category"] == r.category]
            pool = same if len(same) >= 3 else pool
        price = getattr(r, "price", None)
        if "price" in stats.columns and price is not None and np.isfinite(price):
            near = pool[(pool["price"] >= price / 2) & (pool["price"] <= price * 2)]
            pool = near if len(near) >= 3 else pool
        rates[r.unique_id] = float(pool["rate"].median()) if len(pool) else overall
    return pd.Series(rates, dtype=float)


def _new_item_quantile(rate: float, weeks: int, q: float, dispersion: float = 1.0) -> float:
    from ..demand.core import nb_quantiles

    mu = rate * weeks
    return float(nb_quantiles(np.array([mu]), np.array([dispersion]), q)[0]) if mu > 0 else 0.0


def apply_moq_capacity(want: pd.Series, moq: float, capacity: float | None, priority: pd.Series) -> pd.Series:
    """Round orders up to the MOQ, then share a weekly capacity by priority (highest first), never below MOQ."""
    qty = want.clip(lower=0).round()
    qty = qty.where(qty <= 0, np.maximum(qty, moq))
    if capacity is None or qty.sum() <= capacity:
        return qty
    left, out = float(capacity), pd.Series(0.0, index=qty.index)
    for sku in priority.reindex(qty.index).fillna(0).sort_values(ascending=False).index:
        q = qty[sku]
        if q <= 0 or left <= 0:
            continue
        give = min(q, left)
        if give < moq:
            continue
        out[sku] = np.floor(give)
        left -= out[sku]
    return out


def simulate(history: pd.DataFrame, actuals: pd.DataFrame, policy: str = "test-and-reorder", lead_time: int = 1,
             review_period: int = 1, service_level: float = 0.9, moq: float = 0, capacity: float | None = None,
             model: str = "auto") -> SimulationResult:
    """Play a policy week by week against actual demand; every unit is made, served, lost or left over."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    weeks = pd.DatetimeIndex(sorted(pd.to_datetime(actuals["ds"]).unique()))
    H = len(weeks)
    demand = actuals.pivot_table(index="unique_id", columns="ds", values="y", aggfunc="sum").reindex(
        columns=weeks).fillna(0.0)
    ids = demand.index
    known = set(history["unique_id"])
    if not known:
        raise ValueError("history is empty: simulate needs the weeks before the plan starts")
    launch_week = {u: int(np.argmax(demand.loc[u].to_numpy() > 0)) for u in ids if u not in known}
    attrs = actuals.drop_duplicates("unique_id").set_index("unique_id")
    new = pd.DataFrame({"unique_id": list(launch_week)})
    for col in ("category", "price"):
        if col in attrs.columns:
            new[col] = new["unique_id"].map(attrs[col])
    rates = launch_rates(history, new) if len(new) else pd.Series(dtype=float)
    price = (attrs["price"] if "price" in attrs.columns else pd.Series(1.0, index=ids)).reindex(ids).fillna(1.0)

    on_hand = pd.Series(0.0, index=ids)
    pipeline = np.zeros((len(ids), H + lead_time + 1))  # arrivals by week index
    orders, trace = [], []
    cover = lead_time + review_period

    def place(t: int, want: pd.Series, arrive: int) -> None:
        risk = (want - on_hand).clip(lower=0) * price  # expected lost margin if not made
        qty = apply_moq_capacity(want.reindex(ids).fillna(0), moq, capacity, risk)
        pipeline[:, arrive] += qty.to_numpy()
        for sku, q in qty[qty > 0].items():
            orders.append({"unique_id": sku, "ds": weeks[min(arrive, H - 1)] if arrive < H else
                           weeks[-1] + pd.Timedelta(weeks=arrive - H + 1), "qty": float(q)})

    def forecast(t: int, steps: int) -> pd.Series:
        seen = actuals[pd.to_datetime(actuals["ds"]) < weeks[t]] if t else actuals.iloc[0:0]
        panel = pd.concat([history, seen], ignore_index=True)
        fc = Forecaster(h=max(steps, 1), model=model).fit(panel[["unique_id", "ds", "y"] +
                                                               [c for c in ("price", "revenue", "category")
                                                                if c in panel.columns]])
        return fc.quantile_of_sum(steps, service_level).reindex(ids).fillna(0.0)

    for t in range(H):
        launching = [u for u, w in launch_week.items() if w == t]
        if policy == "season-buy" and t == 0:
            place(0, forecast(0, H), 0)
        elif policy == "test-and-reorder" and t % review_period == 0 and (t == 0 or t + lead_time < H):
            # base stock over lead time + review period, cut at the season's end: nothing is made for after it
            position = on_hand + pd.Series(pipeline[:, t:].sum(axis=1), index=ids)
            base = forecast(t, min(cover, H - t))
            if t == 0:
                place(0, base, 0)  # first batch: lead time + one review period of cover
            else:
                place(t, (base - position).where(lambda s: s > 0, 0.0), t + lead_time)
        elif policy == "naive-reorder":
            if t == 0:
                last = history[history["ds"] >= history["ds"].max() - pd.Timedelta(weeks=3)]
                rate = last.groupby("unique_id")["y"].mean().reindex(ids).fillna(0.0)
                place(0, rate * min(cover, H), 0)
            elif t % review_period == 0 and t + lead_time < H:
                place(t, demand.iloc[:, t - review_period:t].sum(axis=1), t + lead_time)
        for u in launching:  # new items: first batch from comparable launches
            weeks_cover = H - t if policy == "season-buy" else min(cover, H - t)
            batch = pd.Series(0.0, index=ids)
            batch[u] = _new_item_quantile(rates.get(u, 0.0), weeks_cover, service_level)
            place(t, batch, t)
        arrivals = pd.Series(pipeline[:, t], index=ids)
        start = on_hand.copy()
        stock = start + arrivals
        d = demand.iloc[:, t]
        served = np.minimum(stock, d)
        on_hand = stock - served
        for u in ids:
            trace.append({"unique_id": u, "ds": weeks[t], "start": start[u], "arrivals": arrivals[u],
                          "demand": d[u], "served": served[u], "lost": d[u] - served[u], "end": on_hand[u]})
    tr = pd.DataFrame(trace)
    od = pd.DataFrame(orders, columns=["unique_id", "ds", "qty"])
    made = float(od["qty"].sum())
    leftover = float(on_hand.sum() + pipeline[:, H:].sum())
    metrics = {
        "fill_rate": float(tr["served"].sum() / max(tr["demand"].sum(), 1e-9)),
        "lost_units": float(tr["lost"].sum()),
        "leftover_units": leftover,
        "leftover_rate": leftover / made if made else 0.0,
        "avg_inventory": float(tr.groupby("ds")["end"].sum().mean()),
        "production_runs": int((od["qty"] > 0).sum()),
        "units_made": made,
    }
    return SimulationResult(metrics, od, tr)


def plan(panel: pd.DataFrame, asof, policy: str = "test-and-reorder", lead_time: int = 1,
         service_level: float = 0.9, moq: float = 0, capacity: float | None = None,
         inventory: pd.DataFrame | None = None, review_period: int = 1, horizon: int = 8,
         model: str = "auto") -> pd.DataFrame:
    """Orders to place at ``asof``: unique_id, ds (arrival week), qty.

    ``inventory`` (unique_id, on_hand [, on_order]) is netted off; new items (in ``panel`` with a category and
    price but no sales yet) get a first batch from comparable launches.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    asof = pd.Timestamp(asof)
    hist = panel[pd.to_datetime(panel["ds"]) < asof]
    sold = hist.groupby("unique_id")["y"].sum()
    ids = pd.Index(sorted(panel["unique_id"].unique()))
    active = sold[sold > 0].index
    position = pd.Series(0.0, index=ids)
    if inventory is not None:
        inv = inventory.set_index("unique_id")
        position = position.add(inv.get("on_hand", 0.0), fill_value=0).add(inv.get("on_order", 0.0), fill_value=0)
    cover = horizon if policy == "season-buy" else lead_time + review_period
    if policy == "naive-reorder":
        want = hist[hist["ds"] >= asof - pd.Timedelta(weeks=review_period)].groupby("unique_id")["y"].sum()
    else:
        fc = Forecaster(h=cover, model=model).fit(hist[hist["unique_id"].isin(active)])
        want = fc.quantile_of_sum(cover, service_level)
    want = want.reindex(ids).fillna(0.0)
    new_ids = ids.difference(active)
    if len(new_ids):
        attrs = panel.drop_duplicates("unique_id").set_index("unique_id").reindex(new_ids).reset_index()
        rates = launch_rates(hist, attrs)
        for u in new_ids:
            want[u] = _new_item_quantile(rates.get(u, 0.0), cover, service_level)
    need = (want - position.reindex(ids).fillna(0.0)).clip(lower=0)
    price = panel.groupby("unique_id")["price"].last() if "price" in panel.columns else pd.Series(1.0, index=ids)
    qty = apply_moq_capacity(need, moq, capacity, need * price.reindex(ids).fillna(1.0))
    arrive = asof + pd.Timedelta(weeks=lead_time)
    out = pd.DataFrame({"unique_id": qty.index, "ds": arrive, "qty": qty.to_numpy()})
    return out[out["qty"] > 0].reset_index(drop=True)
