"""Baskets as a sparse baskets x items matrix, built from order lines in DuckDB as integer codes.

One basket per order with product (non-return) lines, in order of first appearance in time; items are the SKUs,
sorted. Only three integer columns per line reach Python, never the order, SKU or customer ids of each line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from .lines import Lines

_SOLD = "SELECT * FROM {lines} WHERE NOT is_return AND sku IS NOT NULL"
_CODES = f"""
WITH sold AS ({_SOLD}),
items AS (SELECT sku, (row_number() OVER (ORDER BY sku) - 1)::INTEGER AS item FROM (SELECT DISTINCT sku FROM sold)),
customers AS (
    SELECT customer_id, (row_number() OVER (ORDER BY customer_id) - 1)::INTEGER AS customer
    FROM (SELECT DISTINCT customer_id FROM sold WHERE customer_id IS NOT NULL)),
l AS (SELECT s.*, i.item, c.customer FROM sold s JOIN items i USING (sku) LEFT JOIN customers c USING (customer_id)),
baskets AS (
    SELECT order_id, (row_number() OVER (ORDER BY {{first_seen}}) - 1)::INTEGER AS basket,
           coalesce(arg_min(customer, row({{in_order}})) FILTER (WHERE customer IS NOT NULL), -1) AS customer
    FROM l GROUP BY order_id)
SELECT b.basket, l.item, b.customer FROM l JOIN baskets b USING (order_id)
"""


@dataclass(frozen=True)
class BasketMatrix:
    """Baskets x items 0/1 matrix (CSC, int32), the item names (sorted strings) and each basket's customer (the
    first one known on its lines; NaN if none)."""

    matrix: sparse.csc_matrix
    items: np.ndarray
    customers: pd.Categorical


def zero_one(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sparse.csc_matrix:
    """The 0/1 CSC matrix (int32) with a one at each (row, col); a pair given twice counts once."""
    X = sparse.csc_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=shape)
    X.sum_duplicates()
    X.data[:] = 1
    return X


def basket_matrix(lines: Lines) -> BasketMatrix:
    """The baskets of ``lines``: what :func:`~supplyfit.match.association_rules` and the recommender take."""
    items = np.array([r[0] for r in lines.execute(f"SELECT DISTINCT sku FROM ({_SOLD}) ORDER BY 1").fetchall()], object)
    names = [
        str(r[0])
        for r in lines.execute(
            f"SELECT DISTINCT customer_id FROM ({_SOLD}) WHERE customer_id IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    codes = lines.execute(_CODES).fetchnumpy()
    basket, item = codes["basket"], codes["item"]
    n = int(basket.max()) + 1 if len(basket) else 0
    customer = np.full(n, -1, dtype=np.int32)
    customer[basket] = codes["customer"]
    del codes
    return BasketMatrix(
        zero_one(basket, item, (n, len(items))),
        items,
        pd.Categorical.from_codes(customer, categories=pd.Index(names, dtype=object)),
    )
