"""Product-information checks and credit scores, on frames with known problems and on a real store."""

import json

import numpy as np
import pandas as pd

from supplyfit.store import Store, ingest
from supplyfit.trust import credit_scores, verify_catalog


def _lines() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(200):
        ts = pd.Timestamp("2010-01-01") + pd.Timedelta(days=int(i))
        rows += [
            ("A1", "RED SPOTTY MUG", 6, 2.5, ts),
            ("A1", "RED RETROSPOT MUG", 6, 2.5, ts),  # renamed
            ("B1", "LUNCH BAG PINK", 10, 1.65, ts),
            ("b1", "LUNCH BAG PINK", 10, 1.65, ts),  # case-split SKU
            ("C1", "GLASS VASE", int(rng.integers(1, 5)), 4.95, ts),  # clean
            ("D1", "PAPER NAPKINS", 12, 0.85, ts),
            ("P", "POSTAGE", 1, 18.0, ts),
        ]
    rows += [("C1", "GLASS VASE", 2, 49.5, pd.Timestamp("2010-03-01"))]  # 10x price
    rows += [("D1", "PAPER NAPKINS", 3000, 0.17, pd.Timestamp("2010-03-02"))]  # bulk tier
    rows += [("E1", "最好的 100% 纯天然 治疗 面霜", 1, 99.0, pd.Timestamp("2010-03-03"))]
    df = pd.DataFrame(rows, columns=["sku", "description", "quantity", "unit_price", "ts"])
    df["order_id"] = [f"O{i}" for i in range(len(df))]
    return df


def test_findings_on_known_problems():
    f = verify_catalog(_lines())
    by = {(k, s) for k, s in zip(f.kind, f.sku)}
    assert ("sku_many_descriptions", "A1") in by
    assert f.loc[f.kind == "description_many_skus", "severity"].tolist() == ["high"]  # B1/b1
    outliers = f[f.kind == "price_outlier"]
    assert outliers.sku.tolist() == ["C1"] and "10×" in outliers.reason.iloc[0]
    assert f.attrs["tier_priced_lines"] == 1  # the 3000 napkins at a bulk price are not an outlier
    claim = f[f.kind == "risky_claim"]
    assert claim.sku.tolist() == ["E1"] and claim.severity.iloc[0] == "high"  # medical claim
    assert f.loc[f.kind == "non_product", "sku"].tolist() == ["P"]
    assert "C1" not in set(f.sku[f.kind != "price_outlier"])
    for ev in f.evidence:
        assert json.loads(ev)  # the rows behind every finding
    assert f.finding_id.tolist() == list(range(1, len(f) + 1))
    assert list(f.severity) == sorted(f.severity, key=["high", "medium", "low", "info"].index)


def _listings() -> pd.DataFrame:
    """Six kitchen mugs, six garden watering cans, and a grey mug listed under garden."""
    names = [f"{c} CERAMIC MUG" for c in ("RED", "BLUE", "PINK", "GREEN", "WHITE", "BLACK")]
    df = pd.DataFrame(
        {
            "sku": [f"M{i}" for i in range(6)] + ["X"],
            "description": names + ["GREY CERAMIC MUG"],
            "category": ["kitchen"] * 6 + ["garden"],
            "quantity": 1,
            "unit_price": 2.0,
            "ts": pd.Timestamp("2010-01-01"),
        }
    )
    df = pd.concat(
        [
            df,
            pd.DataFrame(
                {
                    "sku": [f"G{i}" for i in range(6)],
                    "category": "garden",
                    "quantity": 1,
                    "description": [f"{c} WATERING CAN" for c in "ABCDEF"],
                    "unit_price": 5.0,
                    "ts": pd.Timestamp("2010-01-01"),
                }
            ),
        ]
    )
    df["order_id"] = [f"L{i}" for i in range(len(df))]
    return df


def test_category_mismatch_from_similar_listings():
    df = _listings()
    f = verify_catalog(df)
    mism = f[f.kind == "category_mismatch"]
    assert mism.sku.tolist() == ["X"] and "'kitchen'" in mism.reason.iloc[0]


def test_credit_per_merchant_shows_its_components(tmp_path, db):
    rows = ["order_id,sku,description,quantity,unit_price,ts,seller"]
    for i in range(60):
        rows.append(f"O{i},S{i % 3},ITEM {i % 3},5,2.0,2010-01-{i % 28 + 1:02d},good-shop")
        rows.append(f"P{i},T{i % 3},THING {i % 3},5,2.0,2010-01-{i % 28 + 1:02d},bad-shop")
        if i % 3 == 0:
            rows.append(f"CP{i},T{i % 3},THING {i % 3},-4,2.0,2010-01-{i % 28 + 1:02d},bad-shop")
    rows.append("Z1,T1,THING 1,0,2.0,2010-01-05,bad-shop")  # quarantined: zero quantity
    (tmp_path / "o.csv").write_text("\n".join(rows) + "\n")
    reviews = (
        ["text,merchant,label"]
        + [f"很好用 {i},good-shop,1" for i in range(30)]
        + [f"质量太差了，坏了 {i},bad-shop,0" for i in range(20)]
        + [f"还行 {i},bad-shop,1" for i in range(10)]
    )
    (tmp_path / "r.csv").write_text("\n".join(reviews) + "\n", encoding="utf-8")
    with Store(db) as st:
        ingest(st, tmp_path / "o.csv", "orders")
        ingest(st, tmp_path / "r.csv", "reviews")
        c = credit_scores(st).set_index("merchant")
    assert c.basis.iloc[0] == "merchant"
    assert c.loc["bad-shop", "score"] < c.loc["good-shop", "score"]
    assert c.loc["bad-shop", "return_rate"] > 0.1 and c.loc["good-shop", "return_rate"] == 0
    assert c.loc["bad-shop", "quarantine_rate"] > 0 and c.loc["good-shop", "quarantine_rate"] == 0
    assert c.loc["bad-shop", "complaint_rate"] > 0.6 and c.loc["good-shop", "complaint_rate"] == 0
    lost = c[[k for k in c.columns if k.endswith("_points")]].sum(axis=1)
    assert (lost.loc["bad-shop"] > lost.loc["good-shop"]) and (c.score <= 100).all()


def test_trust_stage_on_more_items_than_any_internal_limit(tmp_path, tmp_path_factory):
    """12,000 generated SKUs (as in the other stages' scale tests) plus the lines with known problems: the stage
    finds those problems among them and scores every product line over every SKU, no internal limit cutting in."""
    from supplyfit.scale.synthetic import CATEGORIES, build_store
    from supplyfit.store.ingest import load_frame
    from supplyfit.trust import stage

    db = tmp_path / "s.duckdb"
    build_store(db, 12_000, weeks=20, customers=3_000, cache=tmp_path_factory.getbasetemp())
    with Store(db) as st:
        load_frame(st, _lines(), "orders", "problems", tmp_path)
        stage.run(st)
        findings, credit = st.table("verification"), st.table("credit")
        skus = st.query("SELECT count(DISTINCT sku) AS n FROM orders WHERE tenant = $tenant").n[0]
    found = set(zip(findings.kind, findings.sku))
    assert skus > 10_000 and {("sku_many_descriptions", "A1"), ("price_outlier", "C1")} <= found
    assert set(CATEGORIES) <= set(credit.iloc[:, 0]) and credit.score.between(0, 100).all()


def test_store_checks_equal_the_checks_of_its_lines_in_chunks_of_whole_skus(tmp_path, db, monkeypatch):
    """On a store the checks read aggregates and the sale lines a few SKUs at a time: the findings are those of
    the same lines as a frame (in stored order), whatever the chunk size, and another tenant's lines stay out."""
    from supplyfit.store.ingest import load_frame
    from supplyfit.trust import stored

    lines = _lines().assign(category=lambda d: np.where(d.sku.str.upper().isin(["A1", "B1"]), "kitchen", "home"))
    lines = pd.concat([lines, _listings()], ignore_index=True)
    with Store(db) as st:
        load_frame(st, lines, "orders", "problems", tmp_path)
        frame = st.query(
            "SELECT o.order_id, o.line_no, o.sku, o.description, o.quantity, o.unit_price, o.ts, o.is_return, "
            "o.is_product, coalesce(o.category, p.category) AS category FROM orders o LEFT JOIN products p "
            "ON p.tenant = o.tenant AND p.sku = o.sku WHERE o.tenant = $tenant ORDER BY o.rowid"
        )
        other = lines.assign(unit_price=lines.unit_price * 100, description="最好的 " + lines.description)
        load_frame(st.scoped("other"), other, "orders", "other", tmp_path)
        want = verify_catalog(frame)
        for chunk in (10**6, 150):  # every SKU at once; chunks of a SKU or two
            monkeypatch.setattr(stored, "CHUNK_LINES", chunk)
            got = verify_catalog(st)
            pd.testing.assert_frame_equal(got, want)
            assert got.attrs == want.attrs == {"tier_priced_lines": 1}
    kinds = {"sku_many_descriptions", "description_many_skus", "price_outlier", "risky_claim", "non_product"}
    assert kinds | {"category_mismatch"} <= set(want.kind)
