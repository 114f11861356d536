"""Signals: what production systems are told, raised on write from the sensing of the week so far.

- ``demand_above_forecast`` / ``demand_below_forecast``: a SKU's score past ``Rules.threshold`` (above: at
  least ``min_units`` sold; below: at least ``min_units`` expected). Each SKU at most once per week and kind,
  unless it escalates: severity 1, 2, 3 at 1x, 1.67x and 2.67x the threshold, and a higher severity is told again.
- ``reorder``: with a demand_above_forecast, for a SKU in the stored ``production_plan``: the units the week is
  heading for beyond its forecast (sold so far plus the forecast of the rest of the week), at least ``Rules.moq``
  and at most ``Rules.capacity`` (the plan table does not keep the policy's own), needed by the current week plus
  the plan's lead time (its first arrival week after the forecasts' first week). Once per SKU and week, again
  when it escalates.

Each signal is stored with a store-wide increasing id (the cursor of ``GET /signals``) and, in the same
transaction, one outbox row per matching webhook of its tenant.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..store import Store
from ..store.sql import scalar, transaction
from .sensing import WEEK_LINES, live

KINDS = ("demand_above_forecast", "demand_below_forecast", "reorder")
ESCALATION = (1.0, 5 / 3, 8 / 3)  # severity 1, 2, 3 at these multiples of the threshold


@dataclass(frozen=True)
class Rules:
    """When a signal is raised (see the module docstring)."""

    threshold: float = 3.0
    min_units: float = 10.0
    moq: float = 0.0
    capacity: float | None = None


def _severity(score: Any, threshold: float) -> Any:
    """1, 2 or 3 past the escalation steps, 0 below them (and for NaN); elementwise on arrays."""
    return sum(abs(score) >= threshold * m for m in ESCALATION)


def candidates(con: duckdb.DuckDBPyConnection, tenant: str, rules: Rules, week: pd.DataFrame) -> list[dict]:
    """Signals the week so far (``week``: :func:`.sensing.live` per SKU) calls for, before removing those
    already told."""
    found = [(r, signal) for r in week.itertuples(index=False) if (signal := demand_signal(r, rules)) is not None]
    above = [r for r, signal in found if signal["kind"] == "demand_above_forecast"]
    plan = _plan(con, tenant) if above else pd.DataFrame(columns=["planned", "lead_time"])
    planned = [r for r in above if r.unique_id in plan.index]
    buyers = _buyers(con, tenant, planned[0].week, planned[0].now, [r.unique_id for r in planned]) if planned else {}
    out: list[dict] = []
    for r, signal in found:
        out.append(signal)
        if signal["kind"] == "demand_above_forecast" and r.unique_id in plan.index:
            detail = _reorder(r, plan.loc[r.unique_id], rules, buyers.get(r.unique_id))
            out.append({**signal, "kind": "reorder", "detail": detail})
    return out


def _buyers(con: duckdb.DuckDBPyConnection, tenant: str, week: Any, now: Any, skus: list[str]) -> dict:
    """Per SKU: the share of the week's units sold so far that its biggest known customer bought, and how many
    customers bought it. A re-order that one customer's bulk order drives says so: it may not repeat (the demo's
    biggest live re-orders came from two orders of one customer, a minute apart)."""
    rows = con.execute(
        f"""
        WITH {WEEK_LINES}
        SELECT sku, max(units) FILTER (WHERE customer_id IS NOT NULL) / sum(units) AS top_share,
               count(customer_id) AS customers
        FROM (SELECT sku, customer_id, sum(quantity) AS units FROM product
              WHERE NOT is_return AND quantity > 0 AND list_contains($skus, sku)
              GROUP BY ALL)
        GROUP BY sku""",
        {"tenant": tenant, "week": week, "now": now, "skus": skus},
    ).fetchall()
    return {sku: (share, customers) for sku, share, customers in rows}


def demand_signal(r: Any, rules: Rules) -> dict | None:
    """The demand_above_forecast or demand_below_forecast signal a row of the week so far calls for, if any:
    {sku, week, ts, severity, kind, detail}. A pure function of the row, shared with Spark's sensing."""
    above = r.score is not None and r.score >= rules.threshold and r.units >= rules.min_units
    below = r.score is not None and r.score <= -rules.threshold and r.expected >= rules.min_units
    if not (above or below):
        return None
    severity = _severity(r.score, rules.threshold)
    detail = {
        "category": r.category,
        "units": r.units,
        "revenue": round(r.revenue, 2),
        "expected": round(r.expected, 3),
        "forecast_week": round(r.forecast_week, 3),
        "elapsed": round(r.elapsed, 4),
        "score": r.score,
        "p_tail": r.p_tail,
        "severity": severity,
        "week": f"{r.week:%Y-%m-%d}",
    }
    kind = "demand_above_forecast" if above else "demand_below_forecast"
    return {"sku": r.unique_id, "week": r.week, "ts": r.now, "severity": severity, "kind": kind, "detail": detail}


def _plan(con: duckdb.DuckDBPyConnection, tenant: str) -> pd.DataFrame:
    """Per planned SKU: planned quantity and lead time in weeks (empty without a plan)."""
    try:
        return (
            con.execute(
                """
            SELECT p.unique_id, sum(p.qty) AS planned,
                   greatest(date_diff('week', (SELECT min(ds) FROM forecasts WHERE tenant = $tenant), min(p.ds)), 0)
                       AS lead_time
            FROM production_plan p WHERE p.tenant = $tenant GROUP BY 1""",
                {"tenant": tenant},
            )
            .df()
            .set_index("unique_id")
        )
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["planned", "lead_time"])


BULK_SHARE = 0.5  # a re-order whose week one customer bought at least this share of says so


def _reorder(r, plan: pd.Series, rules: Rules, buyers: tuple[float | None, int] | None = None) -> dict:
    """The week heads for what sold so far plus the forecast of the rest of it: make the difference. ``buyers``:
    the biggest customer's share of the week's units and the number of customers (:func:`_buyers`)."""
    share, customers = buyers if buyers is not None else (None, 0)
    bulk = (
        f"; {share:.0%} of the week's units from one customer (of {customers:,}): a bulk order may not repeat"
        if share is not None and share >= BULK_SHARE
        else ""
    )
    heading = r.units + r.forecast_week * (1 - r.elapsed)
    qty = max(math.ceil(heading - r.forecast_week), math.ceil(rules.moq), 1)
    if rules.capacity is not None:
        qty = min(qty, math.floor(rules.capacity))
    lead = int(plan["lead_time"])
    needed_by = r.week + pd.Timedelta(weeks=lead)
    return {
        "quantity": qty,
        "needed_by": f"{needed_by:%Y-%m-%d}",
        "lead_time_weeks": lead,
        "planned": float(plan["planned"]),
        "units": r.units,
        "forecast_week": round(r.forecast_week, 3),
        "week": f"{r.week:%Y-%m-%d}",
        "severity": _severity(r.score, rules.threshold),
        "top_customer_share": None if share is None else round(float(share), 4),
        "customers": customers,
        "reason": f"{r.units:,.0f} units sold by {r.elapsed:.0%} of the week against {r.expected:,.0f} expected "
        f"(score {r.score:+.1f}): the week heads for {heading:,.0f} against a forecast of "
        f"{r.forecast_week:,.0f}; make {qty:,} more on top of the {float(plan['planned']):,.0f} in the plan"
        + _limits(rules)
        + bulk,
    }


def _limits(rules: Rules) -> str:
    """The MOQ and capacity a re-order was sized under, as the reason says them (nothing when neither is set)."""
    said = ([f"MOQ {rules.moq:,.10g}"] if rules.moq > 0 else []) + (
        [f"capacity {rules.capacity:,.10g}"] if rules.capacity is not None else []
    )
    return f" ({', '.join(said)})" if said else ""


def raise_signals(store: Store, rules: Rules, week: pd.DataFrame | None = None) -> int:
    """Store the signals the tenant's week (``week``, else read now) calls for that were not told yet (or
    escalate), with their outbox rows; the number stored. Run under the store's write lock."""
    con = store.con
    week = live(con, store.tenant, "sku") if week is None else week
    if week.empty:
        return 0
    told = {
        (k, s): v
        for k, s, v in con.execute(
            "SELECT kind, sku, max(severity) FROM live_signals WHERE tenant = ? AND week = ? GROUP BY 1, 2",
            [store.tenant, week["week"].iloc[0]],
        ).fetchall()
    }
    week = _untold(week, rules, told)
    new = [c for c in candidates(con, store.tenant, rules, week) if c["severity"] > told.get((c["kind"], c["sku"]), 0)]
    if not new:
        return 0
    with transaction(con):
        first = scalar(con, "SELECT coalesce(max(signal_id), 0) + 1 FROM live_signals")
        rows = pd.DataFrame(
            {
                "signal_id": range(first, first + len(new)),
                "tenant": store.tenant,
                "kind": [c["kind"] for c in new],
                "sku": [c["sku"] for c in new],
                "week": [c["week"] for c in new],
                "severity": [c["severity"] for c in new],
                "ts": [c["ts"] for c in new],
                "detail": [json.dumps(c["detail"], default=str) for c in new],
            }
        )
        con.register("_signals", rows)
        try:
            con.execute("INSERT INTO live_signals SELECT * FROM _signals")
        finally:
            con.unregister("_signals")
        con.execute(
            """
            INSERT INTO live_outbox
            SELECT s.signal_id, w.webhook_id, s.tenant, 0, ?, NULL, NULL, NULL
            FROM live_signals s JOIN live_webhooks w ON w.tenant = s.tenant
                AND list_contains(string_split(w.kinds, ','), s.kind)
            WHERE s.tenant = ? AND s.signal_id >= ?""",
            [utcnow(), store.tenant, first],
        )
    return len(new)


def _untold(week: pd.DataFrame, rules: Rules, told: dict[tuple[str, str], int]) -> pd.DataFrame:
    """The rows of the week that may call for a signal not told yet: past the threshold, at a severity above what
    was told of their kind (or, above forecast, of their reorder). The exact rules then run on these rows only;
    building every candidate of a busy week, to drop those already told, was most of a raise."""
    score = pd.to_numeric(week["score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    severity = _severity(score, rules.threshold)
    above = score >= 0
    skus = week["unique_id"].tolist()
    kinds = np.where(above, "demand_above_forecast", "demand_below_forecast")
    known = np.array([told.get((k, u), 0) for k, u in zip(kinds, skus)], dtype=int)
    reorder = np.array([told.get(("reorder", u), 0) for u in skus], dtype=int)
    return week[(severity > known) | (above & (severity > reorder))]


def utcnow() -> dt.datetime:
    """Wall-clock time (UTC, naive) of the outbox's schedule; business time is the orders' own."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def read(con: duckdb.DuckDBPyConnection, tenant: str, since: int, kinds: list[str] | None, limit: int) -> list[dict]:
    """The tenant's signals after cursor ``since``, in order: {id, kind, sku, ts, detail}."""
    sql = "SELECT signal_id, kind, sku, ts, detail FROM live_signals WHERE tenant = ? AND signal_id > ?"
    params: list = [tenant, since]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += kinds
    rows = con.execute(sql + " ORDER BY signal_id LIMIT ?", [*params, limit]).fetchall()
    return [message(*r) for r in rows]


def message(signal_id: int, kind: str, sku: str, ts, detail: str) -> dict:
    """A signal as the API and webhooks send it."""
    return {
        "id": str(signal_id),
        "kind": kind,
        "sku": sku,
        "ts": pd.Timestamp(ts).isoformat(),
        "detail": json.loads(detail),
    }
