"""The stage's store path: baskets as integer codes, sums in DuckDB, the same results as from a frame of the lines."""

import sys

import numpy as np
import pandas as pd
import pytest

from supplyfit.match import segments
from supplyfit.match.baskets import basket_matrix
from supplyfit.match.groups import group_demand, segment_structure
from supplyfit.match.lines import Lines
from supplyfit.match.stage import recommender, store_recommender
from supplyfit.store import Store, ingest_orders

# order O2 comes first in time; O1 repeats P1, has a return line and a line without its customer; O3 is a return only
ROWS = [
    "O1,P1,1,2.0,2024-01-03 10:00,",
    "O1,P2,2,1.5,2024-01-03 10:00,c1",
    "O1,P1,2,2.0,2024-01-03 10:00,c1",
    "O1,P3,-1,4.0,2024-01-03 10:00,c1",
    "O2,P3,3,4.0,2024-01-02 09:00,c2",
    "O2,P2,1,1.5,2024-01-02 09:00,c2",
    "O3,P1,-2,2.0,2024-01-04 09:00,c2",
    "O4,P2,1,1.5,2024-02-05 09:00,c3",
]


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(["order_id,sku,quantity,unit_price,ts,customer_id", *ROWS]) + "\n")
    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, path)
        yield st


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory, sample_orders):
    with Store(tmp_path_factory.mktemp("m") / "s.duckdb") as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
        yield st


def _dense(b) -> list[list[int]]:
    return b.matrix.toarray().tolist()


def test_basket_matrix_from_the_store_and_from_its_frame(store):
    from_store = basket_matrix(Lines.of_store(store))
    with Lines.of_frame(store.sales()) as lines:
        from_frame = basket_matrix(lines)
    c1, c2, c3 = (store.pseudonym(c) for c in ("c1", "c2", "c3"))
    for b in (from_store, from_frame):
        assert b.items.tolist() == ["P1", "P2", "P3"]
        # O2 (first in time), O1 (P1 once, the return of P3 left out), O4; O3 has no sale: no basket
        assert _dense(b) == [[0, 1, 1], [1, 1, 0], [0, 1, 0]]
        assert b.customers.tolist() == [c2, c1, c3]  # O1's first line has no customer: its first known one


def test_store_recommender_equals_the_recommender_of_the_sales(sample_store):
    sales = sample_store.sales()
    ours, theirs = store_recommender(sample_store), recommender(sales[~sales.is_return])
    assert ours.items_.tolist() == theirs.items_.tolist()
    top = sales.groupby("customer_id").size().nlargest(5).index
    items = sales.sku.value_counts().index[:5]
    assert [ours.recommend_customer(c, 5) for c in top] == [theirs.recommend_customer(c, 5) for c in top]
    assert [ours.recommend([i], 5) for i in items] == [theirs.recommend([i], 5) for i in items]


def test_segments_sum_each_customer_in_line_order_whatever_the_slices(sample_store, monkeypatch):
    whole = segments(Lines.of_store(sample_store))
    module = sys.modules["supplyfit.match.segments"]  # the package's name ``segments`` is the function
    monkeypatch.setattr(module, "CHUNK_LINES", 5_000)  # the sample's 55k customer lines: 12 slices
    sliced = segments(Lines.of_store(sample_store))
    pd.testing.assert_frame_equal(sliced, whole, check_exact=True)
    sales = sample_store.sales()
    sold = sales[sales.customer_id.notna()]
    expected = (sold.quantity * sold.unit_price).groupby(sold.customer_id).sum()  # pandas: Kahan, in line order
    assert np.array_equal(whole.monetary.to_numpy(), expected.reindex(whole.customer_id).to_numpy())


def test_structure_and_group_demand_from_the_store(store):
    seg = segments(Lines.of_store(store))
    assert seg.customer_id.tolist() == sorted(store.pseudonym(c) for c in ("c1", "c2", "c3"))
    by_region = segment_structure(Lines.of_store(store), seg, "region")
    assert by_region.empty  # no region given
    demand = group_demand(Lines.of_store(store), store.table("products", columns="sku, attributes"))
    assert demand[["group", "units", "revenue"]].values.tolist() == [["general", 9.0, 22.5], ["general", 1.0, 1.5]]
    assert demand.period.dt.month.tolist() == [1, 2] and demand.revenue_share.tolist() == [1.0, 1.0]
