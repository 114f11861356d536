"""Order lines as a DuckDB relation, read from the store or from a DataFrame.

The match stage aggregates lines in SQL (baskets as integer codes, counts and sums per customer, SKU or segment)
instead of copying every line into pandas; ``order`` keeps the lines' order for what depends on it (which order
came first, sums that must equal pandas' to the last bit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..store import Store

COLUMNS = ("order_id", "sku", "quantity", "unit_price", "ts", "customer_id", "region", "category", "is_return")
# the store's product lines (returns included), as Store.sales() reads them, without the text columns unread here;
# the products' category (for lines without their own) only where asked for: the join makes every query slower
_STORE_LINES = (
    "SELECT o.order_id, o.line_no, o.sku, o.quantity, o.unit_price, o.ts, o.customer_id, o.region, {category} "
    "AS category, o.is_return FROM orders o {join} WHERE o.tenant = $tenant AND o.is_product"
)
_PRODUCT_CATEGORY = {
    "category": "coalesce(o.category, p.category)",
    "join": "LEFT JOIN products p ON p.tenant = o.tenant AND p.sku = o.sku",
}


@dataclass
class Lines:
    """Product lines to aggregate: ``relation`` is the SQL of a query with :data:`COLUMNS`, ``params`` the values of
    its ``$`` parameters. ORDER BY terms: ``order``, the lines' order (the store's: time, order, line);
    ``first_seen``, orders (grouped by order_id) by their first line in time; ``in_order``, an order's lines in time.
    The last two are kept cheap for DuckDB: no text in aggregate states of millions of orders."""

    con: duckdb.DuckDBPyConnection
    relation: str
    order: str
    first_seen: str
    in_order: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_store(cls, store: Store, categories: bool = False) -> Lines:
        """The store's product lines (returns included) for its tenant, in the order of :meth:`Store.sales`; with
        ``categories``, a line without a category takes its product's (else it stays null)."""
        relation = _STORE_LINES.format(**(_PRODUCT_CATEGORY if categories else {"category": "o.category", "join": ""}))
        return cls(
            store.con, relation, "ts, order_id, line_no", "min(ts), order_id", "ts, line_no", {"tenant": store.tenant}
        )

    @classmethod
    @contextmanager
    def of_frame(cls, frame: pd.DataFrame) -> Iterator[Lines]:
        """The lines of ``frame`` in row order (rows whose is_product is false left out), in an in-memory DuckDB.

        Needs order_id, sku, quantity, unit_price, ts; customer_id, region and category default to null, is_return
        to false. Columns are referenced, not copied."""
        cols: dict[str, Any] = {c: frame[c] for c in COLUMNS if c in frame.columns}
        cols["ts"] = pd.to_datetime(frame["ts"])
        cols.setdefault("is_return", pd.Series(False, index=frame.index))
        for name in ("customer_id", "region", "category"):
            cols.setdefault(name, pd.Series(None, index=frame.index, dtype=object))
        cols["_seq"] = pd.Series(np.arange(len(frame)), index=frame.index)
        lines = pd.DataFrame(cols, copy=False)
        if "is_product" in frame.columns:
            lines = lines[frame["is_product"].to_numpy(dtype=bool)]
        con = duckdb.connect()
        try:
            con.register("_lines", lines)
            yield cls(con, "SELECT * FROM _lines", "_seq", "min(row(ts, _seq))", "ts, _seq")
        finally:
            con.close()

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run ``sql``, in which ``{lines}`` stands for the lines' relation and ``{order}``, ``{first_seen}`` and
        ``{in_order}`` for their orders; named ``$`` parameters come from ``params`` and the lines' own."""
        text = sql.format(
            lines=f"({self.relation})", order=self.order, first_seen=self.first_seen, in_order=self.in_order
        )
        named = {k: v for k, v in {**self.params, **(params or {})}.items() if f"${k}" in text}
        return self.con.execute(text, named)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """The one value that ``sql`` (as in :meth:`execute`) returns."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def registered(self, name: str, frame: pd.DataFrame) -> Iterator[None]:
        """``frame`` as view ``name`` on the lines' connection while the block runs (a small frame, to join)."""
        self.con.register(name, frame)
        try:
            yield
        finally:
            self.con.unregister(name)


@contextmanager
def as_lines(source: pd.DataFrame | Lines) -> Iterator[Lines]:
    """``source`` itself if it is :class:`Lines`, else the lines of a DataFrame (:meth:`Lines.of_frame`)."""
    if isinstance(source, Lines):
        yield source
    else:
        with Lines.of_frame(source) as lines:
            yield lines
