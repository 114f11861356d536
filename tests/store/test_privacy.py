"""Personal data: pseudonyms at ingest, nothing raw in the store, the secret outside the DuckDB file."""

import os
import stat

import duckdb
import pytest

from supplyfit.store import IngestError, Store, ingest
from supplyfit.store.privacy import SECRET_ENV, pseudonym

RAW_IDS = ["CUST-RAW-0001", "CUST-RAW-0002", "CUST-RAW-0003"]
EMAILS = ["anna.raw@example.org", "bo.raw@example.org", "cy.raw@example.org"]


def _orders_csv(path):
    rows = ["order_id,sku,quantity,unit_price,ts,customer_id,Email,Phone"]
    for i, (cid, mail) in enumerate(zip(RAW_IDS, EMAILS)):
        rows.append(f"O{i},A{i},2,3.5,2010-01-0{i + 1} 10:00,{cid},{mail},+44 7700 900{i:03d}")
    rows.append(f"O9,A9,0,3.5,2010-01-04 10:00,{RAW_IDS[0]},{EMAILS[0]},+44 7700 900123")  # zero qty: quarantined
    rows.append(f'O8,A8,1,2.0,2010-01-05,{RAW_IDS[1]},{EMAILS[1]},x,"extra"')  # malformed: too many fields
    path.write_text("\n".join(rows) + "\n")
    return path


def _strings_in_store(db) -> str:
    """Every text cell of every table, concatenated (the whole store as a reader could see it)."""
    con = duckdb.connect(str(db), read_only=True)
    parts = []
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE data_type = 'VARCHAR'").fetchall():
        parts += [str(v) for (v,) in con.execute(f'SELECT "{column}" FROM "{table}"').fetchall()]
    con.close()
    return "\n".join(parts)


def test_raw_ids_and_contacts_never_stored(tmp_path, db):
    with Store(db) as st:
        report = ingest(st, _orders_csv(tmp_path / "o.csv"), "orders")
        assert set(report.personal) == {"customer_id", "Email", "Phone"}
        assert report.quarantined == 2 and report.stored == 3
        ids = st.query("SELECT customer_id FROM orders ORDER BY order_id").customer_id.tolist()
        assert ids == [st.pseudonym(c) for c in RAW_IDS]  # SQL HMAC == Python HMAC
        assert st.query("SELECT count(*) AS n FROM customers").n[0] == 3
        quarantined = " ".join(st.query("SELECT raw FROM quarantine").raw)
        assert st.pseudonym(RAW_IDS[0]) in quarantined and st.pseudonym(RAW_IDS[1]) in quarantined
    text = _strings_in_store(db)
    for raw in RAW_IDS + EMAILS + ["7700 900"]:
        assert raw not in text


def test_pseudonyms_stable_across_loads_and_distinct_across_tenants(tmp_path, db):
    f1 = _orders_csv(tmp_path / "a.csv")
    f2 = tmp_path / "b.csv"
    f2.write_text(f"order_id,sku,quantity,unit_price,ts,customer_id\nX1,A1,1,2,2010-02-01,{RAW_IDS[0]}\n")
    with Store(db) as st:
        ingest(st, f1, "orders")
        ingest(st, f2, "orders")
        assert st.query("SELECT orders FROM customers WHERE customer_id = $c",
                        {"c": st.pseudonym(RAW_IDS[0])}).orders[0] == 2
        assert st.scoped("other").pseudonym(RAW_IDS[0]) != st.pseudonym(RAW_IDS[0])


def test_review_text_scrubbed_and_personal_column_option(tmp_path, db):
    f = tmp_path / "r.csv"
    f.write_text("review,cat,昵称,handle\n"
                 "发货很快，有问题联系我 13912345678 或 anna.raw@example.org,手机,小明,@annaraw\n", encoding="utf-8")
    with Store(db) as st:
        report = ingest(st, f, "reviews", personal=["handle"])
        assert set(report.personal) == {"昵称", "handle"}
        text = st.query("SELECT text FROM reviews").text[0]
    assert "[phone]" in text and "[email]" in text and "13912345678" not in text
    f.write_text("review\n很好\n", encoding="utf-8")
    with pytest.raises(IngestError, match="does not have: nope"):
        with Store(db) as st:
            ingest(st, f, "reviews", personal=["nope"])


def test_secret_lives_outside_the_store_and_a_wrong_one_is_refused(tmp_path, db, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with Store(db) as st:
        ingest(st, _orders_csv(tmp_path / "o.csv"), "orders")
        expected = st.pseudonym(RAW_IDS[0])
    key_file = f"{db}.secret"
    secret = bytes.fromhex(open(key_file).read())
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert secret.hex().encode() not in db.read_bytes() and secret not in db.read_bytes()
    assert pseudonym(secret, "default", RAW_IDS[0]) == expected
    monkeypatch.setenv(SECRET_ENV, "another secret")
    with pytest.raises(RuntimeError, match="another secret"):
        Store(db)


def test_store_from_before_pseudonymisation_is_protected_once(tmp_path, db):
    with Store(db) as st:
        ingest(st, _orders_csv(tmp_path / "o.csv"), "orders")
        # Make it look like a store written before pseudonymisation existed: raw ids, no fingerprint.
        for table in ("orders", "customers"):
            st.con.execute(f"UPDATE {table} SET customer_id = 'CUST-RAW-0001'")
        st.con.execute("""UPDATE quarantine SET raw = '{"Customer ID": "CUST-RAW-0001", "Quantity": 0}'""")
        st.write_result("segments", st.query("SELECT customer_id, 1 AS frequency FROM customers"))
        st.con.execute("DELETE FROM meta WHERE key = 'pii_fingerprint'")
    with Store(db) as st:
        want = st.pseudonym("CUST-RAW-0001")
        for table in ("orders", "customers", "segments"):
            assert set(st.query(f"SELECT customer_id FROM {table}").customer_id) == {want}
        assert want in st.query("SELECT raw FROM quarantine").raw[0]
    with Store(db) as st:  # a second open changes nothing
        assert set(st.query("SELECT customer_id FROM orders").customer_id) == {want}
    assert "CUST-RAW" not in _strings_in_store(db)
