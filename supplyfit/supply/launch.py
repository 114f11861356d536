"""New designs: launch forecasts and suggested first batches of a designer's drafts, from the tenant's stored
weekly history and catalogue. What ``supplyfit launch``, ``POST /api/v1/launch`` and the dashboard's new-design
form answer: a small first batch, with re-orders to follow the demand sensed once it sells.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..store import Store
from ..store.mapping import match_headers
from .errors import MissingForecasts
from .policies import drafts_frame, first_batches, launch_model

# draft field -> (required, header synonyms), recognised as the store recognises a file's columns
DRAFT_FIELDS = {
    "unique_id": (True, ("unique_id", "id", "sku", "design", "design_id", "款号", "编号", "商品编码")),
    "description": (True, ("description", "name", "title", "product_name", "描述", "名称", "商品名称", "标题")),
    "price": (False, ("price", "unit_price", "retail_price", "价格", "售价", "单价")),
    "category": (False, ("category", "类别", "品类", "类目")),
    "preorders": (False, ("preorders", "pre_orders", "votes", "预订", "预售", "预订量", "投票")),
    "preorder_weeks": (False, ("preorder_weeks", "pre_order_weeks", "预订周数", "预售周数")),
}
# numeric draft fields: what a given value must be, and the check (an empty cell is "not given")
NUMBER_RULES = (
    ("price", "a number above 0", lambda v: v > 0),
    ("preorders", "a number of 0 or more", lambda v: v >= 0),
    ("preorder_weeks", "a whole number of weeks from 1", lambda v: (v >= 1) & (v == v.round())),
)
# a best past-launch similarity below this is a weak match: the forecast rests on price and category (the dashboard's
# new-design view warns from the same figure, app.js WEAK_ANALOG)
WEAK_ANALOG = 0.3


@dataclass
class LaunchAnswer:
    """Per draft: weekly forecast (unique_id, week 1..h, yhat, yhat_q10/50/90), first batch (unique_id, demand,
    first_batch) and the past launches it leans on (unique_id, analog_id, description, similarity,
    first_h_units)."""

    forecast: pd.DataFrame
    batches: pd.DataFrame
    analogs: pd.DataFrame


def read_drafts(path: str | Path) -> pd.DataFrame:
    """Drafts from a CSV, Excel or Parquet file, columns found by name (English or Chinese headers)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        frame = pd.read_excel(path, engine="calamine")
    elif path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return map_drafts(frame)


def map_drafts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its columns renamed to the draft fields (unique_id and description required) and its numbers
    read. ValueError naming every bad row (numbered from 1, the header being row 0, as the store numbers a file's
    rows): an empty or repeated id, a price, pre-order count or pre-order weeks that is not a number, a price not
    above 0, a negative pre-order count, pre-order weeks under 1. Nothing is guessed: an empty price or pre-order
    cell is "not given" (the history's median price, no pre-orders), a wrong one is an error."""
    found = match_headers(list(frame.columns), DRAFT_FIELDS)
    missing = [f for f, (required, _) in DRAFT_FIELDS.items() if required and f not in found]
    if missing:
        raise ValueError(
            f"drafts need column(s) {', '.join(missing)} (e.g. {', '.join(DRAFT_FIELDS[missing[0]][1][:3])}); "
            f"found {', '.join(map(str, frame.columns))}"
        )
    out = frame[list(found.values())].rename(columns={c: f for f, c in found.items()}).reset_index(drop=True)
    out["unique_id"] = out["unique_id"].astype(str).str.strip().where(out["unique_id"].notna(), "")
    problems = [(i, "no id") for i in np.flatnonzero(out["unique_id"].eq("").to_numpy())]
    repeated = out["unique_id"].ne("") & out["unique_id"].duplicated(keep=False)
    problems += [(i, f"id {out['unique_id'][i]!r} given more than once") for i in np.flatnonzero(repeated.to_numpy())]
    for col, rule, ok in NUMBER_RULES:
        if col not in out:
            continue
        given = out[col].notna() & out[col].astype(str).str.strip().ne("")
        value = pd.to_numeric(out[col].where(given), errors="coerce")
        bad = given & ~(value.notna() & ok(value))
        problems += [(i, f"{col} {out[col][i]!r} is not {rule}") for i in np.flatnonzero(bad.to_numpy())]
        out[col] = value
    if problems:
        shown = "; ".join(f"row {i + 1} ({out['unique_id'][i] or 'no id'}): {why}" for i, why in sorted(problems)[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ValueError(f"{len(problems)} bad draft value(s): {shown}{more}")
    return out


def launch(
    store: Store,
    drafts: pd.DataFrame,
    h: int = 8,
    moq: float = 0,
    capacity: float | None = None,
    service_level: float = 0.5,
    weeks_cover: int = 2,
) -> LaunchAnswer:
    """Forecast ``drafts`` (draft fields, :func:`map_drafts`) from the tenant's stored weekly panel and products,
    and size their first batches (:func:`first_batches`). MissingForecasts without a stored panel (run the demand
    stage first); ValueError when the history has too few launches to learn from, or a draft is bad. The default
    service level is the median: a first batch is a test, and re-orders follow the demand sensed once it sells."""
    if not store.has_result("demand_panel"):
        raise MissingForecasts(f"no demand_panel for tenant {store.tenant!r}: run `supplyfit forecast` first")
    panel = store.table("demand_panel")
    products = store.query(
        "SELECT sku AS unique_id, name AS description, avg_price AS price, category FROM products "
        "WHERE tenant = $tenant"
    )
    fitted = launch_model(panel, h, products)
    if fitted is None:
        raise ValueError("the history has too few launches (items whose first weeks it holds) to learn from")
    model, median_price = fitted
    ready = drafts_frame(drafts, median_price)
    forecast = model.predict(ready)
    batches = first_batches(forecast, moq=moq, capacity=capacity, service_level=service_level, weeks_cover=weeks_cover)
    return LaunchAnswer(forecast, batches, model.analogs(ready))
