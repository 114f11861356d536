"""Rules equal mlxtend's; recommender edge cases; RFM segments."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from supplyfit.match import BasketRecommender, association_rules, baskets_from_orders, frequent_itemsets, segments
from supplyfit.scale.synthetic import build_store
from supplyfit.store import Store, ingest_orders


@pytest.fixture(scope="module")
def orders(tmp_path_factory, sample_orders):
    with Store(tmp_path_factory.mktemp("m") / "s.duckdb") as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
        return st.sales()


@pytest.mark.parametrize("min_support,max_len", [(0.02, None), (0.01, 2), (0.01, None)])
def test_rules_identical_to_mlxtend(orders, min_support, max_len):
    from mlxtend.frequent_patterns import association_rules as mx_rules
    from mlxtend.frequent_patterns import fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    baskets = baskets_from_orders(orders[~orders.is_return])
    te = TransactionEncoder()
    X = pd.DataFrame(te.fit_transform(baskets), columns=te.columns_)
    fi = fpgrowth(X, min_support=min_support, use_colnames=True, max_len=max_len)
    mx = mx_rules(fi, metric="confidence", min_threshold=0.1)
    ours_fi = frequent_itemsets(baskets, min_support, max_len)
    assert dict(zip(ours_fi.itemsets, ours_fi.support)) == pytest.approx(dict(zip(fi.itemsets, fi.support)))
    ours = association_rules(baskets, min_support, 0.1, max_len)
    assert len(ours) == len(mx) > 0
    a = ours.set_index(["antecedents", "consequents"])
    b = mx.set_index(["antecedents", "consequents"])
    assert set(a.index) == set(b.index)
    b = b.loc[a.index]
    for col in ("support", "confidence", "lift", "leverage", "conviction"):
        assert np.allclose(a[col], b[col]), col


def test_rules_input_shapes_and_edge_cases():
    baskets = [["a", "b", "b"], ["a", "b"], [], ["c"], ["a", "c"]]
    long = pd.DataFrame([(i, it) for i, b in enumerate(baskets) for it in b], columns=["basket_id", "item"])
    r1 = association_rules(baskets, 0.3, 0.5)
    r2 = association_rules(pd.concat([long, pd.DataFrame({"basket_id": [2], "item": [None]})]), 0.3, 0.5)
    # the empty basket still counts as a transaction in the list form: support of {a, b} = 2/5
    ab = r1[(r1.antecedents == frozenset("a")) & (r1.consequents == frozenset("b"))]
    assert ab.support.tolist() == [0.4]
    assert len(r2) == len(r1)
    assert association_rules([], 0.1, 0.1).empty


def test_recommender_edge_cases():
    baskets = [["a", "b"], ["a", "b", "c"], ["a", "c"], ["d"], ["b", "c"], ["a", "b"]]
    rec = BasketRecommender().fit(baskets, customer_id=["u1", "u1", "u2", "u3", "u2", None])
    out = rec.recommend(["a"], k=2)
    assert out[0] == "b" and "a" not in out
    assert rec.recommend(["zzz"], k=3) == ["a", "b", "c"]  # unknown → popularity
    assert rec.recommend([], k=10) == ["a", "b", "c", "d"]
    assert len(rec.recommend(["a", "b", "c", "d"], k=5)) == 0
    assert rec.recommend_customer("u1", k=2)[0] in {"a", "b"}
    assert rec.recommend_customer("nobody", k=2) == ["a", "b"]


def test_segments(orders):
    seg = segments(orders, asof="2010-12-01")
    assert seg.customer_id.is_unique and seg.r.between(1, 5).all()
    assert {"champions", "hibernating"} <= set(seg.segment)
    champs = seg[seg.segment == "champions"]
    assert champs.recency_days.median() < seg.recency_days.median()
    assert champs.frequency.median() > seg.frequency.median()


def test_group_demand_and_segment_structure():
    from supplyfit.match.groups import group_demand, segment_structure

    sales = pd.DataFrame(
        {
            "sku": ["T", "G", "X", "T"],
            "quantity": [2, 1, 5, 1],
            "unit_price": [10.0, 20.0, 2.0, 10.0],
            "ts": pd.to_datetime(["2010-01-05", "2010-01-06", "2010-01-07", "2010-02-01"]),
            "is_return": [False, False, False, False],
            "customer_id": ["a", "b", "a", "b"],
            "category": ["toys", "gifts", "other", "toys"],
            "region": ["UK"] * 4,
        }
    )
    products = pd.DataFrame(
        {
            "sku": ["T", "G", "X"],
            "attributes": [
                '{"groups": ["children", "gifts & trend"]}',
                '{"groups": ["gifts & trend"]}',
                '{"groups": []}',
            ],
        }
    )
    g = group_demand(sales, products).set_index(["group", "period"])
    jan = pd.Timestamp("2010-01-01")
    assert g.loc[("children", jan), "revenue"] == 20 and g.loc[("gifts & trend", jan), "revenue"] == 40
    assert g.loc[("general", jan), "units"] == 5
    seg = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["champions", "new"]})
    s = segment_structure(sales, seg)
    assert s.groupby("segment").share.sum().round(9).eq(1).all()
    assert s.set_index(["segment", "value"]).loc[("champions", "toys"), "revenue"] == 20


def test_popcount_counts_like_bin():
    from supplyfit.match.rules import popcount_rows

    bits = np.random.default_rng(0).integers(0, 2**64 - 1, (5, 7), dtype=np.uint64, endpoint=True)
    bits[0] = 0
    bits[1] = np.iinfo(np.uint64).max
    expected = [sum(int(x).bit_count() for x in row) for row in bits]
    assert popcount_rows(bits).tolist() == expected and expected[:2] == [0, 7 * 64]


def test_rules_on_one_order_warn_nothing():
    """One basket of three items: every rule has confidence 1 and conviction inf (once 0/0 and a RuntimeWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rules = association_rules([["a", "b", "c"]], 0.5, 0.5)
    assert len(rules) == 12 and np.isinf(rules.conviction).all()


# ---- the stage: orders without customers, a three-line store, a catalogue larger than any internal limit --------


def _lines(tmp_path, rows: list[str], header: str = "order_id,sku,quantity,unit_price,ts,customer_id") -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_match_stage_without_customer_ids(tmp_path):
    from supplyfit.match import stage

    csv = _lines(
        tmp_path,
        ["1,P1,2,3.5,2024-01-02 10:00", "1,P2,1,2.0,2024-01-02 10:00", "2,P1,1,3.5,2024-01-09 10:00"],
        header="order_id,sku,quantity,unit_price,ts",
    )
    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, csv)
        summary = stage.run(st, min_support=0.5)
        assert st.table("segments").empty and st.table("recommendations").empty
        assert len(st.table("rules")) == 2
    assert summary == "2 baskets → 2 rules (support ≥ 0.5); 0 customers in 0 segments"


def test_match_stage_on_a_three_line_store_warns_nothing(tmp_path):
    from supplyfit.match import stage

    csv = _lines(tmp_path, [f"1,P{sku},1,2.0,2024-01-02 10:00,c1" for sku in range(3)])
    with Store(tmp_path / "s.duckdb") as st, warnings.catch_warnings():
        ingest_orders(st, csv)
        warnings.simplefilter("error")
        summary = stage.run(st)
    assert summary == "1 baskets → 12 rules (support ≥ 0.01); 1 customers in 1 segments"


def test_match_stage_on_a_catalogue_larger_than_the_dense_model(tmp_path, tmp_path_factory):
    from supplyfit.match import stage

    db = tmp_path / "s.duckdb"
    build_store(db, 12_000, weeks=20, customers=3_000, cache=tmp_path_factory.getbasetemp())
    with Store(db) as st:
        summary = stage.run(st)
        sales = st.sales()
        recs, seg = st.table("recommendations"), st.table("segments")
    assert sales.sku.nunique() > 10_000 > BasketRecommender().max_dense_items
    assert len(seg) == sales.customer_id.nunique() > 2_900
    assert recs.groupby("customer_id").size().eq(10).all() and recs.customer_id.nunique() == 200
    assert summary.startswith(f"{sales.order_id.nunique():,} baskets")


def test_dense_model_covers_the_most_bought_items_bought_together():
    baskets = [["solo"]] * 9 + [[f"i{j}", f"i{j + 1}"] for j in range(6) for _ in range(6 - j)]
    rec = BasketRecommender(max_dense_items=3).fit(baskets)
    # bought 9, 6, 11, 9, 7, 5, 3, 1 times: "solo" is the most bought but never with another item
    assert rec.items_[rec.dense_].tolist() == ["i1", "i2", "i3"]
    assert rec.recommend(["i0"], k=1) == ["i1"] and rec.recommend(["i6"], k=1) == ["i5"]  # the tail: cosine
