"""Personal data: pseudonyms at ingest, nothing raw in the store, the secret outside the DuckDB file."""

import csv
import os
import stat
from pathlib import Path

import duckdb
import pytest

from supplyfit.store import IngestError, Store, ingest
from supplyfit.store.privacy import SECRET_ENV, is_personal_header, protect_line, pseudonym

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
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall():
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
        assert (
            st.query("SELECT orders FROM customers WHERE customer_id = $c", {"c": st.pseudonym(RAW_IDS[0])}).orders[0]
            == 2
        )
        assert st.scoped("other").pseudonym(RAW_IDS[0]) != st.pseudonym(RAW_IDS[0])


def test_a_numeric_id_is_one_customer_whichever_way_it_was_exported(tmp_path, db):
    """13085 in a Parquet float column, "13085.0" in a CSV pandas wrote from it, 13085 in a text column, and a
    lookup by either spelling: one pseudonym. 13085.5 is another id."""
    import pandas as pd

    base = {"sku": "A1", "quantity": 1, "unit_price": 2.0, "ts": "2010-02-01 10:00"}
    pd.DataFrame([{**base, "order_id": "P1", "customer_id": 13085.0}, {**base, "order_id": "P2"}]).to_parquet(
        tmp_path / "a.parquet"
    )
    (tmp_path / "b.csv").write_text(
        "order_id,sku,quantity,unit_price,ts,customer_id\n"
        "C1,A1,1,2,2010-02-02,13085.0\nC2,A1,1,2,2010-02-02,13085\nC3,A1,1,2,2010-02-02,13085.5\n"
    )
    with Store(db) as st:
        ingest(st, tmp_path / "a.parquet", "orders")
        ingest(st, tmp_path / "b.csv", "orders")
        ids = st.query("SELECT order_id, customer_id FROM orders ORDER BY order_id").set_index("order_id").customer_id
        assert ids["C1"] == ids["C2"] == ids["P1"] == st.pseudonym("13085") == st.pseudonym("13085.0")
        assert ids["C3"] == st.pseudonym("13085.5") != ids["C1"]
        assert pseudonym(st.key, st.tenant, "13085.00") == st.pseudonym("13085")


def test_a_store_pseudonymised_before_the_whole_number_rule_keeps_its_exact_ids(tmp_path, db):
    """Its stored pseudonyms cannot be recomputed (the raw ids are gone): new loads keep joining them."""
    (tmp_path / "a.csv").write_text("order_id,sku,quantity,unit_price,ts,customer_id\nC1,A1,1,2,2010-02-02,13085.0\n")
    with Store(db) as st:
        st.con.execute("DELETE FROM meta WHERE key = 'pii_ids'")  # as a store from before the rule
    with Store(db) as st:
        assert not st.whole_ids
        ingest(st, tmp_path / "a.csv", "orders")
        stored = st.query("SELECT customer_id FROM orders").customer_id[0]
        assert stored == st.pseudonym("13085.0") == pseudonym(st.key, st.tenant, "13085.0", whole=False)
        assert stored != pseudonym(st.key, st.tenant, "13085")
    with Store(tmp_path / "new.duckdb") as st:
        assert st.whole_ids


def test_review_text_scrubbed_and_personal_column_option(tmp_path, db):
    f = tmp_path / "r.csv"
    f.write_text(
        "review,cat,昵称,handle\n发货很快，有问题联系我 13912345678 或 anna.raw@example.org,手机,小明,@annaraw\n",
        encoding="utf-8",
    )
    with Store(db) as st:
        report = ingest(st, f, "reviews", personal=["handle"])
        assert set(report.personal) == {"昵称", "handle"}
        text = st.query("SELECT text FROM reviews").text[0]
    assert "[phone]" in text and "[email]" in text and "13912345678" not in text
    f.write_text("review\n很好\n", encoding="utf-8")
    with pytest.raises(IngestError, match="does not have: nope"), Store(db) as st:
        ingest(st, f, "reviews", personal=["nope"])


def test_secret_lives_outside_the_store_and_a_wrong_one_is_refused(tmp_path, db, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with Store(db) as st:
        ingest(st, _orders_csv(tmp_path / "o.csv"), "orders")
        expected = st.pseudonym(RAW_IDS[0])
    key_file = f"{db}.secret"
    secret = bytes.fromhex(Path(key_file).read_text())
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert secret.hex().encode() not in db.read_bytes() and secret not in db.read_bytes()
    assert pseudonym(secret, "default", RAW_IDS[0]) == expected
    monkeypatch.setenv(SECRET_ENV, "another secret")
    with pytest.raises(RuntimeError, match="another secret"):
        Store(db)
    assert [p.name for p in db.parent.iterdir() if ".secret." in p.name] == []  # no temporary key left


def test_an_empty_key_file_is_refused_not_used_as_a_key(tmp_path, monkeypatch):
    """What a crash while an older version created the key left: an empty key would make pseudonyms anyone could
    recompute (HMAC with no secret)."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = tmp_path / "s.duckdb"
    Path(f"{db}.secret").write_text("")
    with pytest.raises(RuntimeError, match=r"s.duckdb.secret is damaged \(0 characters"):
        Store(db)


def test_store_from_before_pseudonymisation_is_protected_once(tmp_path, db):
    with Store(db) as st:
        ingest(st, _orders_csv(tmp_path / "o.csv"), "orders")
        # Make it look like a store written before pseudonymisation existed: raw ids, no fingerprint.
        for table in ("orders", "customers"):
            st.con.execute(f"UPDATE {table} SET customer_id = 'CUST-RAW-0001'")
        st.con.execute("""UPDATE quarantine SET raw = '{"Customer ID": "CUST-RAW-0001", "Quantity": 0}'""")
        st.con.execute("CREATE TABLE segments AS SELECT tenant, customer_id, 1 AS frequency FROM customers")
        st.con.execute("DELETE FROM meta WHERE key = 'pii_fingerprint'")
    with Store(db) as st:
        want = st.pseudonym("CUST-RAW-0001")
        for table in ("orders", "customers", "segments"):
            assert set(st.query(f"SELECT customer_id FROM {table}").customer_id) == {want}
        assert want in st.query("SELECT raw FROM quarantine").raw[0]
    with Store(db) as st:  # a second open changes nothing
        assert set(st.query("SELECT customer_id FROM orders").customer_id) == {want}
    assert "CUST-RAW" not in _strings_in_store(db)


PERSONAL_HEADERS = [
    "customer_id",
    "Customer ID",
    "CustomerID",
    "cust_id",
    "buyer",
    "buyer_name",
    "buyer-email",
    "BuyerNick",
    "consignee",
    "Consignee Address",
    "receiver",
    "recipient-name",
    "shipper",
    "contact",
    "Contact Person",
    "user_id",
    "member_no",
    "client_id",
    "Email",
    "e-mail",
    "Phone",
    "Mobile Phone",
    "TelNo",
    "Billing Name",
    "Shipping Address1",
    "ship-postal-code",
    "name",
    "full_name",
    "nickname",
    "IPAddress",
    "wechat_id",
    "QQ",
    "收货人",
    "收货人姓名",
    "收货人手机号",
    "买家",
    "买家会员名",
    "买家支付宝账号",
    "买家留言",
    "联系人",
    "联系电话",
    "联系手机",
    "收件人",
    "客户姓名",
    "客户名称",
    "客户ID",
    "收货地址",
    "身份证号",
    "昵称",
    "邮箱",
]
BUSINESS_HEADERS = [
    "order_id",
    "InvoiceNo",
    "Invoice",
    "sku",
    "StockCode",
    "Description",
    "Quantity",
    "unit_price",
    "Price",
    "InvoiceDate",
    "ts",
    "Customer Segment",
    "customer_segment",
    "customer_type",
    "customers",
    "customer_since",
    "buyer_country",
    "receiver_city",
    "ship-city",
    "region",
    "Country",
    "channel",
    "merchant",
    "seller",
    "seller_name",
    "seller_phone",
    "shop_address",
    "user_agent",
    "member_level",
    "Product Name",
    "Lineitem name",
    "sku_name",
    "category",
    "review",
    "text",
    "label",
    "rating",
    "lang",
    "订单编号",
    "商品名称",
    "宝贝标题",
    "店铺名称",
    "商家编码",
    "数量",
    "单价",
    "下单时间",
    "发货时间",
    "确认收货时间",
    "收货省份",
    "客户分群",
    "客户数",
    "会员等级",
    "买家实际支付金额",
    "买家应付货款",
]


@pytest.mark.parametrize("header", PERSONAL_HEADERS)
def test_headers_naming_a_person_or_their_contact_are_personal(header):
    assert is_personal_header(header)


@pytest.mark.parametrize("header", BUSINESS_HEADERS)
def test_business_headers_are_not_personal(header):
    assert not is_personal_header(header)


SECRET = b"k" * 32
HEADER = ["order_id", "sku", "description", "quantity", "unit_price", "ts", "customer_id", "country"]
CUSTOMER = 6
RAW = "CUST-RAW-0042"
P = pseudonym(SECRET, "t1", RAW)


def _fields(line):
    return next(csv.reader([line]))


def _protect(line):
    return protect_line(line, ",", [CUSTOMER], SECRET, "t1", expected_fields=len(HEADER))


def test_a_line_with_the_expected_fields_hides_only_the_personal_one():
    line = f"536365,85123A,call 13800138000 or a@b.com,6,2.55,2010-12-01 08:26,{RAW},United Kingdom"
    assert _fields(_protect(line)) == [
        "536365",
        "85123A",
        "call [phone] or [email]",
        "6",
        "2.55",
        "2010-12-01 08:26",
        P,
        "United Kingdom",
    ]
    assert _fields(protect_line(line, ",", [CUSTOMER], SECRET, "t1")) == _fields(_protect(line))  # no count given


def _hidden(fields, window):
    """``fields`` with those in ``window`` pseudonymised: what protect_line should give."""
    return [pseudonym(SECRET, "t1", f.strip()) if i in window else f for i, f in enumerate(fields)]


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_customer_id_shifted_right_by_unquoted_delimiters_is_hidden(extra):
    raw = [
        "536365",
        "85123A",
        "WHITE HANGING HEART",
        *[" T-LIGHT"] * extra,
        "6",
        "2.55",
        "2010-12-01 08:26",
        RAW,
        "United Kingdom",
    ]
    fields = _fields(_protect(",".join(raw)))
    assert fields[CUSTOMER + extra] == P
    assert fields == _hidden(raw, range(CUSTOMER - extra, CUSTOMER + extra + 1))


@pytest.mark.parametrize("missing", [1, 2, 3])
def test_customer_id_shifted_left_by_missing_fields_is_hidden(missing):
    raw = ["536365", "85123A", "WHITE HANGING HEART", "6", "2.55", "2010-12-01 08:26"][missing:] + [RAW, "UK"]
    fields = _fields(_protect(",".join(raw)))
    assert fields[CUSTOMER - missing] == P
    assert fields == _hidden(raw, range(CUSTOMER - missing, CUSTOMER + missing + 1))


@pytest.mark.parametrize(
    "line",
    [
        f'536365,85123A,"WHITE HANGING HEART,6,2.55,2010-12-01 08:26,{RAW},United Kingdom',  # quote never closed
        f'536365,"85123A"B,WHITE HANGING HEART,6,2.55,2010-12-01 08:26,{RAW},United Kingdom',  # text after a quote
        f'536365,85123A,"WHITE\nHANGING HEART,6,2.55,2010-12-01 08:26," {RAW}",United Kingdom',  # quote across lines
    ],
)
def test_a_line_that_does_not_split_keeps_only_dates(line):
    out = _protect(line)
    pieces = out.replace("\n", ",").split(",")
    assert RAW not in out and P in pieces and "2010-12-01 08:26" in pieces
    assert all(p.startswith("c_") for p in pieces if p != "2010-12-01 08:26")


def test_unsplittable_numbers_are_hidden_too():
    """Customer ids can be numbers (UCI: 17850.0), so no number, price-like or not, is kept raw."""
    out = protect_line('536365,"x,17850.0,2.55,6', ",", [1], SECRET, "t1", expected_fields=5)
    assert out == ",".join(pseudonym(SECRET, "t1", v) for v in ["536365", "x", "17850.0", "2.55", "6"])


def test_a_personal_column_feeds_no_field_by_its_header_and_only_pseudonyms_when_mapped(tmp_path, db):
    """A buyer's "Name" is not the product description; an address mapped to region is stored as its pseudonym."""
    f = tmp_path / "o.csv"
    f.write_text(
        "order_id,sku,quantity,unit_price,ts,Name,Ship Address,seller\n"
        "1,S1,1,2,2010-12-01,Jane Roe,221B Baker Street London,Bob Smith Trading\n"
    )
    with Store(db) as st:
        report = ingest(st, f, "orders", mapping={"Ship Address": "region"}, personal=["seller"])
        assert set(report.personal) == {"Name", "Ship Address", "seller"}
        row = st.query("SELECT description, region, merchant FROM orders").iloc[0]
        assert row.description is None and row.merchant is None  # not taken by header recognition
        assert row.region == st.pseudonym("221B Baker Street London")
    text = _strings_in_store(db)
    for raw in ("Jane Roe", "Baker Street", "Bob Smith"):
        assert raw not in text


def test_quarantine_reasons_quote_no_e_mail_or_phone_number(tmp_path, db):
    f = tmp_path / "o.csv"
    f.write_text(
        "order_id,sku,quantity,unit_price,ts\n1,S,jane.roe@example.com,2,2010-12-01\n2,S,1,2,call +44 20 7946 0958\n"
    )
    with Store(db) as st:
        ingest(st, f, "orders")
        reasons = st.query("SELECT reason FROM quarantine ORDER BY src_row").reason.tolist()
    assert reasons[0].startswith("quantity is not a number: ") and reasons[1].startswith("unparsable ts: call ")
    text = _strings_in_store(db)
    assert "jane.roe@example.com" not in text and "7946 0958" not in text


def test_an_events_files_name_is_the_events_and_other_personal_columns_are_hidden(tmp_path, db):
    f = tmp_path / "events.csv"
    f.write_text(
        "name,start,kind,organiser_name\n"
        "Spring sale,2011-03-01,promotion,Bob Jones\n"
        "Bad,2011-13-01,promotion,Bob Jones\n"
    )
    with Store(db) as st:
        report = ingest(st, f, "events")
        assert report.personal == ["organiser_name"] and (report.stored, report.quarantined) == (1, 1)
        assert st.events().name.tolist() == ["Spring sale"]
    assert "Bob Jones" not in _strings_in_store(db)
