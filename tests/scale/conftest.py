import pytest

from supplyfit.store import Store, ingest


@pytest.fixture(scope="module")
def lines(tmp_path_factory, sample_orders):
    """The bundled sample's order lines as a user would export them to Parquet for a cluster."""
    tmp = tmp_path_factory.mktemp("scale")
    with Store(tmp / "s.duckdb") as st:
        ingest(st, sample_orders, "orders", preset="uci-online-retail")
        df = st.query(
            "SELECT o.order_id, o.sku, o.quantity, o.unit_price, o.ts, o.customer_id, o.is_return, o.is_product, "
            "p.category FROM orders o JOIN products p USING (tenant, sku)"
        )
    path = tmp / "lines.parquet"
    df.to_parquet(path, index=False)
    return path
