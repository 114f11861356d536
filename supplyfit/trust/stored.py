"""What the product-information checks read from a store, as DuckDB aggregates or in chunks: never every order
line with its text at once (at 200k SKUs, 15M lines with descriptions took 8 GB in pandas).

Each function gives the frame its check computes from order lines (:mod:`supplyfit.trust.verify`), in the same
order; "first" means first in the stored order of the lines (``rowid``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from ..store import Store

CHUNK_LINES = 500_000  # sale lines per chunk of the price check (whole SKUs, so a chunk may hold more)
SALE = "o.tenant = $tenant AND o.is_product AND NOT o.is_return AND o.quantity > 0 AND o.unit_price > 0"
JOINED = "orders o LEFT JOIN products p ON p.tenant = o.tenant AND p.sku = o.sku"


def variants(store: Store) -> pd.DataFrame:
    """Product lines per (sku, description): lines, units, first and last time (returns count, as in the check)."""
    return store.query("""
        SELECT sku, description, count(*) AS lines, sum(quantity) AS units, min(ts) AS first, max(ts) AS last
        FROM orders WHERE tenant = $tenant AND is_product AND description IS NOT NULL GROUP BY ALL""")


def names(store: Store) -> pd.DataFrame:
    """Every line (products or not) per (sku, description), in key order."""
    pairs = store.query("""
        SELECT sku, description, count(*) AS lines FROM orders
        WHERE tenant = $tenant AND description IS NOT NULL GROUP BY ALL""")
    return pairs.sort_values(["sku", "description"], ignore_index=True)


def listings(store: Store) -> pd.DataFrame:
    """Per SKU with described, categorised product lines: sku, name (its most frequent description, the smallest
    of ties), category (that of its first such line), lines; in SKU order."""
    pairs = store.query(f"""
        SELECT o.sku, o.description, count(*) AS n, min(o.rowid) AS first,
               arg_min(coalesce(o.category, p.category), o.rowid) AS category
        FROM {JOINED}
        WHERE o.tenant = $tenant AND o.is_product AND o.description IS NOT NULL
          AND coalesce(o.category, p.category) IS NOT NULL
        GROUP BY ALL""")
    by_count = pairs.sort_values(["sku", "n", "description"], ascending=[True, False, True], kind="stable")
    by_line = pairs.sort_values(["sku", "first"], kind="stable").drop_duplicates("sku").set_index("sku")
    items = by_count.drop_duplicates("sku").set_index("sku")
    return pd.DataFrame(
        {
            "name": items.description,
            "category": by_line.category.reindex(items.index),
            "lines": pairs.groupby("sku").n.sum().reindex(items.index),
        }
    ).reset_index()


def sale_chunks(store: Store, min_lines: int) -> Iterator[pd.DataFrame]:
    """The sale lines (positive price and quantity, no returns) of the SKUs with at least ``min_lines`` of them,
    in chunks of whole SKUs (about :data:`CHUNK_LINES` lines) in SKU order, each in stored line order: order_id,
    line_no, sku, description, quantity, unit_price, ts, category."""
    counts = store.query(f"SELECT o.sku, count(*) AS n FROM orders o WHERE {SALE} GROUP BY o.sku")
    counts = counts[counts.n >= min_lines].sort_values("sku", ignore_index=True)
    chunk = (counts.n.cumsum() - counts.n) // CHUNK_LINES
    for _, skus in counts.groupby(chunk, sort=True):
        yield store.query(
            f"""SELECT o.order_id, o.line_no, o.sku, o.description, o.quantity, o.unit_price, o.ts,
                       coalesce(o.category, p.category) AS category
                FROM {JOINED} WHERE {SALE} AND o.sku BETWEEN $lo AND $hi ORDER BY o.rowid""",
            {"lo": skus.sku.iloc[0], "hi": skus.sku.iloc[-1]},
        )


def non_product_lines(store: Store) -> pd.DataFrame:
    """The lines flagged as not products (postage, fees, adjustments), in stored order."""
    return store.query("""
        SELECT order_id, line_no, sku, description, quantity, unit_price, ts, is_product FROM orders
        WHERE tenant = $tenant AND NOT is_product ORDER BY rowid""")
