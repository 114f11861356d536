"""Products and customers: derived from a tenant's orders, rebuilt inside the transaction that changes them."""

from __future__ import annotations

import duckdb

from . import catalog


def refresh_dimensions(con: duckdb.DuckDBPyConnection, tenant: str) -> None:
    """Rebuild ``tenant``'s products and customers from its orders."""
    prods = con.execute("""
        SELECT sku, mode(description) AS name, mode(category) AS category,
               avg(unit_price) FILTER (WHERE NOT is_return) AS avg_price,
               min(ts) AS first_sold, max(ts) AS last_sold
        FROM orders WHERE tenant = ? GROUP BY sku""", [tenant]).df()
    prods["category"] = [c if isinstance(c, str) and c else catalog.categorize(n)
                         for c, n in zip(prods["category"], prods["name"])]
    prods["attributes"] = [catalog.attributes(n) for n in prods["name"]]
    prods["is_product"] = [not catalog.is_non_product(s, n) for s, n in zip(prods["sku"], prods["name"])]
    con.register("_prods", prods)
    try:
        con.execute("DELETE FROM products WHERE tenant = ?", [tenant])
        con.execute("""INSERT INTO products SELECT ?, sku, name, category, attributes, is_product, avg_price,
                       first_sold, last_sold FROM _prods""", [tenant])
    finally:
        con.unregister("_prods")
    con.execute("DELETE FROM customers WHERE tenant = ?", [tenant])
    con.execute("""
        INSERT INTO customers
        SELECT tenant, customer_id, mode(region), min(ts), max(ts), count(DISTINCT order_id),
               sum(quantity * unit_price)
        FROM orders WHERE tenant = ? AND customer_id IS NOT NULL GROUP BY tenant, customer_id""", [tenant])
