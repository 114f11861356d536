"""Stock on hand (and on order) per SKU, netted off the production plan: without it a plan says what to make as if
the shelves were empty."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .tables import map_table, read_table

# inventory field -> (required, header synonyms), recognised as the store recognises a file's columns
INVENTORY_FIELDS = {
    "unique_id": (
        True,
        ("unique_id", "sku", "stock_code", "stockcode", "item", "item_id", "product_id", "商品编码", "款号", "货号"),
    ),
    "on_hand": (
        True,
        ("on_hand", "stock", "in_stock", "stock_on_hand", "quantity_on_hand", "qty_on_hand", "available", "库存",
         "现有库存", "在库"),
    ),
    "on_order": (False, ("on_order", "incoming", "in_transit", "open_orders", "在途", "在途库存", "已下单")),
}  # fmt: skip
INVENTORY_RULES = (
    ("on_hand", "a number of 0 or more", lambda v: v >= 0),
    ("on_order", "a number of 0 or more", lambda v: v >= 0),
)


def read_inventory(path: str | Path) -> pd.DataFrame:
    """``unique_id, on_hand, on_order`` from a CSV, Excel or Parquet file (columns found by name, English or
    Chinese headers). ValueError naming every bad row: an empty or repeated SKU, a stock that is not a number of 0
    or more, or an empty on-hand cell (an unknown stock is not 0: nothing is guessed). An empty on-order cell is
    none on order."""
    frame = map_table(read_table(path), INVENTORY_FIELDS, INVENTORY_RULES, "inventory line")
    unknown = frame["on_hand"].isna().to_numpy()
    if unknown.any():
        ids = ", ".join(frame["unique_id"][unknown][:5])
        raise ValueError(f"{int(unknown.sum())} inventory line(s) without an on-hand stock: {ids}")
    on_order = frame["on_order"].fillna(0.0) if "on_order" in frame else 0.0
    return frame[["unique_id", "on_hand"]].assign(on_order=on_order)
