"""New designs: launch forecasts and suggested first batches of a designer's drafts, from the tenant's stored
weekly history and catalogue. What ``supplyfit launch``, ``POST /api/v1/launch`` and the dashboard's new-design
form answer: a small first batch, with re-orders to follow the demand sensed once it sells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..store import Store
from .errors import MissingForecasts
from .policies import drafts_frame, first_batches, launch_model
from .tables import map_table, read_table

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
MAX_PREORDER_WEEKS = 26  # as POST /api/v1/launch allows
NUMBER_RULES = (
    ("price", "a number above 0", lambda v: v > 0),
    ("preorders", "a number of 0 or more", lambda v: v >= 0),
    ("preorder_weeks", f"a whole number of weeks from 1 to {MAX_PREORDER_WEEKS}",
     lambda v: 1 <= v <= MAX_PREORDER_WEEKS and v == round(v)),
)  # fmt: skip
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
    notes: dict[str, str] = field(default_factory=dict)  # draft id -> why its forecast is rougher than most


def price_notes(drafts: pd.DataFrame, past_prices: np.ndarray) -> dict[str, str]:
    """A note for each draft priced outside the range of the past launches' prices: no launch says what such a
    price sells, so its forecast is that of the nearest price learnt (a draft at 999 among items at 0.5-40 got a
    bigger first batch than a plausible one, with nothing to say why)."""
    lo, hi = float(np.min(past_prices)), float(np.max(past_prices))
    notes = {}
    for uid, price in zip(drafts["unique_id"], drafts["price"]):
        if price > hi * (1 + 1e-9) or price < lo * (1 - 1e-9):  # past prices come back from logs: 0.1 as 0.1000…01
            side = "above" if price > hi else "below"
            notes[str(uid)] = (
                f"price {price:,.2f} is {side} every past launch's ({lo:,.2f}-{hi:,.2f}): nothing learnt says what it "
                "sells at that price; check the price and keep the first batch small"
            )
    return notes


def read_drafts(path: str | Path) -> pd.DataFrame:
    """Drafts from a CSV (its encoding and delimiter found as the store finds them), Excel or Parquet file, columns
    found by name (English or Chinese headers), checked by :func:`map_drafts`."""
    return map_drafts(read_table(path))


def map_drafts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its columns renamed to the draft fields (unique_id and description required) and its numbers
    read (:func:`~supplyfit.supply.tables.map_table`). Nothing is guessed: an empty price or pre-order cell is "not
    given" (the history's median price, no pre-orders), a wrong one is an error."""
    return map_table(frame, DRAFT_FIELDS, NUMBER_RULES, "draft")


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
    notes = price_notes(ready, np.exp(model.past_.frame["logp"].to_numpy()))
    return LaunchAnswer(forecast, batches, model.analogs(ready), notes)
