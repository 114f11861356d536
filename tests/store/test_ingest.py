"""Loads of the bundled sample: invariants, idempotency, overlaps, flags, dimensions."""

import pandas as pd

from supplyfit.store import Store, ingest_orders, ingest_reviews


def _counts(store: Store) -> tuple[int, int]:
    return (
        store.con.execute("SELECT count(*) FROM orders").fetchone()[0],
        store.con.execute("SELECT count(*) FROM quarantine").fetchone()[0],
    )


def test_sample_load_invariant_and_reload(db, sample_orders):
    with Store(db) as st:
        r = ingest_orders(st, sample_orders, preset="uci-online-retail")
        assert r.rows_read == len(pd.read_parquet(sample_orders))
        assert r.rows_read == r.stored + r.quarantined + r.duplicates
        assert r.stored > 60_000 and r.quarantined > 0
        assert _counts(st) == (r.stored, r.quarantined)
        again = ingest_orders(st, sample_orders, preset="uci-online-retail")
        assert again.status == "skipped" and again.stored == 0 and again.duplicates == r.rows_read
        assert _counts(st) == (r.stored, r.quarantined)


def test_overlapping_file_adds_only_new_rows(db, sample_orders, tmp_path):
    df = pd.read_parquet(sample_orders)
    first, second = df.iloc[:40_000], df.iloc[30_000:]
    first.to_parquet(tmp_path / "a.parquet")
    second.to_parquet(tmp_path / "b.parquet")
    df.to_parquet(tmp_path / "all.parquet")
    with Store(db) as st:
        ra = ingest_orders(st, tmp_path / "a.parquet", preset="uci-online-retail")
        rb = ingest_orders(st, tmp_path / "b.parquet", preset="uci-online-retail")
        assert rb.rows_read == rb.stored + rb.quarantined + rb.duplicates
        n_split = st.con.execute("SELECT count(*) FROM orders").fetchone()[0]
        keys = st.query("SELECT order_id, line_no FROM orders")
        assert not keys.duplicated().any(), "line numbers must stay unique within an order"
    with Store(tmp_path / "whole.duckdb") as st2:
        rw = ingest_orders(st2, tmp_path / "all.parquet", preset="uci-online-retail")
    assert n_split == rw.stored == ra.stored + rb.stored
    assert ra.quarantined + rb.quarantined == rw.quarantined  # the overlap's bad lines quarantined once


def test_a_bad_line_already_quarantined_is_a_duplicate_not_quarantined_again(db, tmp_path):
    head = "order_id,sku,quantity,unit_price,ts\n"
    bad, good = "A1,S1,x,2,2024-01-01\n", "A2,S2,1,2,2024-01-02\n"
    (tmp_path / "a.csv").write_text(head + bad + good)
    (tmp_path / "b.csv").write_text(head + "A3,S3,1,2,2024-01-03\n" + good + bad + bad)  # shuffled, grown
    with Store(db) as st:
        ra = ingest_orders(st, tmp_path / "a.csv")
        rb = ingest_orders(st, tmp_path / "b.csv")
        assert (ra.stored, ra.quarantined, ra.duplicates) == (1, 1, 0)
        assert (rb.stored, rb.quarantined, rb.duplicates) == (1, 0, 3)
        assert _counts(st) == (2, 1)


def test_returns_and_non_product_lines_are_kept_and_flagged(db, sample_orders):
    with Store(db) as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
        flags = st.query("SELECT sku, order_id, quantity, is_return, is_product FROM orders")
    returns = flags[flags.order_id.str.startswith("C")]
    assert len(returns) > 0 and returns.is_return.all() and (returns.quantity < 0).all()
    post = flags[flags.sku.isin(["POST", "M", "DOT"])]
    assert len(post) > 0 and not post.is_product.any()
    assert flags[flags.sku == "85123A"].is_product.all()


def test_dimensions_and_sales_view(db, sample_orders):
    with Store(db) as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
        products = st.table("products")
        customers = st.table("customers")
        sales = st.sales()
    assert products.sku.is_unique and products.category.notna().all()
    assert set(products.loc[products.sku == "85123A", "category"]) == {"candles & lighting"}
    assert customers.customer_id.is_unique and not customers.customer_id.str.contains(r"\.0$").any()
    assert not sales.sku.isin(["POST", "M", "DOT"]).any() and sales.category.notna().all()


def test_a_product_sold_under_two_names_equally_often_gets_the_one_used_last(db, tmp_path):
    """Not an arbitrary one (DuckDB's ``mode`` breaks ties anyhow: one load of the same file named an SKU
    "ORIENTAL BLUE C/COVER", category other, the next "ORIENTAL BLUE CUSHION COVER", home decor); the category and
    a customer's region likewise."""
    rows = ["order_id,sku,description,quantity,unit_price,ts,customer_id,region,category"]
    for i, (name, region) in enumerate([("BLUE C/COVER", "France"), ("BLUE CUSHION COVER", "Spain")] * 2):
        rows.append(f"O{i},A1,{name},1,2.0,2010-01-0{i + 1} 10:00,c1,{region},{'other' if i % 2 == 0 else 'decor'}")
    rows.append("O9,B1,GLASS,1,2.0,2010-01-09 10:00,c2,Spain,kitchen")
    (tmp_path / "o.csv").write_text("\n".join(rows) + "\n")
    with Store(db) as st:
        ingest_orders(st, tmp_path / "o.csv")
        products = st.query("SELECT sku, name, category FROM products ORDER BY sku").values.tolist()
        assert products == [["A1", "BLUE CUSHION COVER", "decor"], ["B1", "GLASS", "kitchen"]]
        assert (
            st.query("SELECT region FROM customers WHERE customer_id = $c", {"c": st.pseudonym("c1")}).region[0]
            == "Spain"
        )


def test_reviews_load_and_reload(db, sample_reviews):
    with Store(db) as st:
        r = ingest_reviews(st, sample_reviews, preset="reviews-10cats")
        assert (r.rows_read, r.stored, r.quarantined) == (3000, 3000, 0)
        rev = st.table("reviews")
        assert rev.review_id.is_unique and set(rev.label.unique()) == {0, 1} and set(rev.lang) == {"zh"}
        # the same rows under another file name are recognised by their natural key
        pd.read_csv(sample_reviews).to_csv(db.parent / "copy.csv", index=False, encoding="utf-8-sig")
        again = ingest_reviews(st, db.parent / "copy.csv", preset="reviews-10cats")
        assert again.status == "ok" and again.stored == 0 and again.duplicates == 3000


def test_tenants_are_isolated(db, sample_reviews):
    with Store(db, tenant="a") as st:
        ingest_reviews(st, sample_reviews, preset="reviews-10cats")
    with Store(db, tenant="b") as st:
        assert len(st.table("reviews")) == 0
        r = ingest_reviews(st, sample_reviews, preset="reviews-10cats")
        assert r.stored == 3000
        st.write_result("scores", pd.DataFrame({"x": [1, 2]}))
    with Store(db, tenant="a") as st:
        assert len(st.table("reviews")) == 3000
        assert len(st.table("scores")) == 0


def test_a_long_load_holds_the_write_lock_only_for_its_short_transaction(tmp_path):
    """Tenant A's load is paused while it reads its file; tenant B's small load, sharing the one write lock,
    completes meanwhile (it would wait forever if A held the lock while reading)."""
    import threading

    from supplyfit.store import readers

    big = tmp_path / "a.csv"
    big.write_text(
        "order_id,sku,quantity,price,ts\n" + "".join(f"A{i},S{i % 97},1,2.5,2024-01-01\n" for i in range(30_000))
    )
    small = tmp_path / "b.csv"
    small.write_text("order_id,sku,quantity,price,ts\nB1,S1,1,2.5,2024-01-01\n")
    lock, b_done = threading.Lock(), threading.Event()
    old, readers.BATCH_ROWS = readers.BATCH_ROWS, 5_000
    try:
        with Store(tmp_path / "s.duckdb", tenant="a") as st:
            b = st.scoped("b")

            def load_b():
                try:
                    ingest_orders(b, small, write_lock=lock)
                finally:
                    b_done.set()

            def progress(msg):
                if msg.startswith("reading batch 1 "):
                    threading.Thread(target=load_b).start()
                    assert b_done.wait(60), "tenant b's load waited for tenant a's"

            ra = ingest_orders(st, big, write_lock=lock, progress=progress)
            assert (ra.stored, st.scoped("b").table("orders").order_id.tolist()) == (30_000, ["B1"])
    finally:
        readers.BATCH_ROWS = old


def test_a_load_refreshes_only_what_it_touched_and_equals_a_full_rebuild(tmp_path):
    from supplyfit.store.dimensions import refresh_dimensions

    head = "order_id,sku,description,quantity,price,ts,customer_id,region\n"
    (tmp_path / "a.csv").write_text(head + "A1,S1,mug,1,2.0,2024-01-01,C1,north\nA1,S2,cup,1,3.0,2024-01-01,C1,north\n")
    (tmp_path / "b.csv").write_text(head + "B1,S2,cup,2,5.0,2024-02-01,C2,south\nB2,S2,cup,1,5.0,2024-02-02,C1,south\n")
    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, tmp_path / "a.csv")
        ingest_orders(st, tmp_path / "b.csv")
        dims = "SELECT * FROM {} ORDER BY ALL"
        incremental = [st.query(dims.format(t)) for t in ("products", "customers")]
        refresh_dimensions(st.con, st.tenant)
        full = [st.query(dims.format(t)) for t in ("products", "customers")]
        c1, c2 = st.pseudonym("C1"), st.pseudonym("C2")
    for a, b in zip(incremental, full):
        pd.testing.assert_frame_equal(a, b)
    products, customers = full
    assert products.set_index("sku").loc["S2", "avg_price"] == 13 / 3
    assert customers.set_index("customer_id").orders.to_dict() == {c1: 2, c2: 1}
