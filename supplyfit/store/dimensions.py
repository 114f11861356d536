"""Products and customers: derived from a tenant's orders, rebuilt inside the transaction that changes them, or
(a stream of event batches under load) left to the next rebuild by a durable mark in the same transaction."""

from __future__ import annotations

import duckdb

from . import catalog
from .sql import scalar

PENDING = "dimensions_pending:"  # meta key + tenant: the first load whose products and customers wait for a rebuild


def refresh_dimensions(con: duckdb.DuckDBPyConnection, tenant: str, load_id: int | None = None) -> None:
    """Rebuild ``tenant``'s products and customers from its orders: only the SKUs and customers that load
    ``load_id`` stored lines of (each from all its orders), or all of them when ``load_id`` is None.

    A load touches a small part of a large tenant: rebuilding everything made each small load (a stream of event
    batches) cost time proportional to the tenant's whole history. A tenant's first load touches everything:
    it skips the per-key filters (a tenth of a first load's time). Loads that deferred their rebuild
    (:func:`defer_dimensions`) are rebuilt too."""
    scope, args = "", [tenant]
    mark = con.execute("DELETE FROM meta WHERE key = ? RETURNING value", [PENDING + tenant]).fetchone()
    pending = None if mark is None else mark[0]
    if load_id is not None and _has_other_orders(con, tenant, load_id):
        scope = " AND {col} IN (SELECT {col} FROM orders WHERE tenant = ? AND load_id = ?)"
        args = [tenant, tenant, str(load_id)]
        if pending is not None:  # and those of the loads that left theirs (and any after them)
            scope = " AND {col} IN (SELECT {col} FROM orders WHERE tenant = ? AND load_id >= ?)"
            args = [tenant, tenant, str(min(load_id, int(pending)))]
    _products(con, tenant, scope.format(col="sku"), args)
    who = scope.format(col="customer_id")
    con.execute(f"DELETE FROM customers WHERE tenant = ?{who}", args)
    con.execute(
        f"""
        WITH o AS (SELECT * FROM orders WHERE tenant = ? AND customer_id IS NOT NULL{who})
        INSERT INTO customers
        SELECT tenant, customer_id, any_value(r.region), min(ts), max(ts), count(DISTINCT order_id),
               sum(quantity * unit_price)
        FROM (SELECT tenant, customer_id, ts, order_id, quantity, unit_price FROM o)
        LEFT JOIN ({_most_common("o", "customer_id", "region")}) r USING (customer_id)
        GROUP BY tenant, customer_id""",
        args,
    )


def _products(con: duckdb.DuckDBPyConnection, tenant: str, scope: str, args: list[str]) -> None:
    """Rebuild the products of ``tenant`` that ``scope`` (a filter on ``sku`` with its ``args`` after the tenant)
    names, from all their orders."""
    prods = con.execute(
        f"""
        WITH o AS (SELECT * FROM orders WHERE tenant = ?{scope})
        SELECT sku, any_value(n.description) AS name, any_value(c.category) AS category,
               avg(unit_price) FILTER (WHERE NOT is_return) AS avg_price,
               min(ts) AS first_sold, max(ts) AS last_sold
        FROM (SELECT sku, unit_price, is_return, ts FROM o)
        LEFT JOIN ({_most_common("o", "sku", "description")}) n USING (sku)
        LEFT JOIN ({_most_common("o", "sku", "category")}) c USING (sku)
        GROUP BY sku""",
        args,
    ).df()
    prods["category"] = [
        c if isinstance(c, str) and c else catalog.categorize(n) for c, n in zip(prods["category"], prods["name"])
    ]
    prods["attributes"] = [catalog.attributes(n) for n in prods["name"]]
    prods["is_product"] = [not catalog.is_non_product(s, n) for s, n in zip(prods["sku"], prods["name"])]
    con.register("_prods", prods)
    try:
        con.execute(f"DELETE FROM products WHERE tenant = ?{scope}", args)
        con.execute(
            """INSERT INTO products SELECT ?, sku, name, category, attributes, is_product, avg_price,
                       first_sold, last_sold FROM _prods""",
            [tenant],
        )
    finally:
        con.unregister("_prods")


def _most_common(lines: str, key: str, column: str) -> str:
    """A SELECT of ``key, column``: per key, the value of ``column`` on most of its ``lines``; a tie goes to the
    value used last, then the first in sort order. DuckDB's ``mode`` breaks ties arbitrarily: an SKU sold under two
    descriptions equally often got either (and its category with it) from one load of the same file to the next,
    which moved the hotspot lists built on the categories."""
    return f"""
        SELECT {key}, first({column} ORDER BY n DESC, last DESC, {column}) AS {column}
        FROM (SELECT {key}, {column}, count(*) AS n, max(ts) AS last FROM {lines}
              WHERE {column} IS NOT NULL GROUP BY {key}, {column})
        GROUP BY {key}"""


def _has_other_orders(con: duckdb.DuckDBPyConnection, tenant: str, load_id: int) -> bool:
    """Whether ``tenant`` has orders from loads other than ``load_id`` (stops at the first one found)."""
    sql = "SELECT EXISTS (SELECT 1 FROM orders WHERE tenant = ? AND load_id <> ?)"
    return bool(scalar(con, sql, [tenant, load_id]))


def defer_dimensions(con: duckdb.DuckDBPyConnection, tenant: str, load_id: int) -> None:
    """Leave the rebuild of products and customers for load ``load_id`` to the next one, marked in the load's own
    transaction so that no crash loses it (the store rebuilds what is marked on opening).

    Each rebuild reads every order of the SKUs and customers a load touched: on a stream of event batches it was
    two fifths of a commit, so under load the events writer rebuilds every few seconds and when writes pause
    instead of with each commit (:func:`add_new_products` adds new SKUs meanwhile)."""
    con.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", [PENDING + tenant, str(load_id)])


def add_new_products(con: duckdb.DuckDBPyConnection, tenant: str) -> None:
    """Add the products of SKUs first sold by loads that left their rebuild to a later one; the rebuild itself
    stays due. A category (what the week so far groups new SKUs by) then waits for no rebuild, while one that
    reads every order of every SKU a stream touched comes only every few seconds."""
    mark = con.execute("SELECT value FROM meta WHERE key = ?", [PENDING + tenant]).fetchone()
    if mark is not None:
        scope = (
            " AND sku IN (SELECT sku FROM orders WHERE tenant = ? AND load_id >= ? "
            "EXCEPT SELECT sku FROM products WHERE tenant = ?)"
        )
        _products(con, tenant, scope, [tenant, tenant, mark[0], tenant])


def refresh_pending(con: duckdb.DuckDBPyConnection, tenant: str | None = None) -> None:
    """Rebuild the products and customers that loads left to a later rebuild (of ``tenant``, or of every tenant)."""
    marks = con.execute("SELECT key, value FROM meta WHERE starts_with(key, ?)", [PENDING]).fetchall()
    for key, first in marks:
        if tenant is None or key == PENDING + tenant:
            refresh_dimensions(con, key.removeprefix(PENDING), int(first))
