"""Bad input: each case gets a clear error or a quarantine reason, and rows in = stored + quarantined + dups."""

import subprocess
import sys

import pytest

from supplyfit.store import IngestError, Store, ingest_orders, ingest_reviews

HEADER_ZH = "订单号,商品编码,商品名称,数量,单价,下单时间,客户编号,地区\n"
ROWS_ZH = [
    "A001,S1,保温杯,2,39.9,2024-03-01 10:00:00,C01,浙江\n",
    "A001,S2,雨伞,1,59,2024-03-01 10:00:00,C01,浙江\n",
    "A002,S1,保温杯,1,39.9,2024-03-02 11:30:00,C02,广东\n",
]


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _load(tmp_path, text, encoding="utf-8", **kw):
    f = _write(tmp_path / "in.csv", text, encoding)
    with Store(tmp_path / "s.duckdb") as st:
        r = ingest_orders(st, f, **kw)
        rows = st.query("SELECT * FROM orders ORDER BY src_row")
        quarantine = st.query("SELECT * FROM quarantine ORDER BY src_row")
    assert r.rows_read == r.stored + r.quarantined + r.duplicates
    assert (len(rows), len(quarantine)) == (r.stored, r.quarantined)
    return r, rows, quarantine


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8", "utf-16"])
def test_chinese_headers_in_any_common_encoding(tmp_path, encoding):
    r, rows, _ = _load(tmp_path, HEADER_ZH + "".join(ROWS_ZH), encoding)
    assert r.stored == 3 and r.mapping["order_id"] == "订单号" and r.mapping["ts"] == "下单时间"
    assert rows.description.tolist() == ["保温杯", "雨伞", "保温杯"] and rows.region[0] == "浙江"


def test_missing_required_column_names_file_and_column(tmp_path):
    text = "订单号,商品编码,数量,下单时间\nA1,S1,2,2024-03-01\n"
    with pytest.raises(IngestError) as e:
        _load(tmp_path, text)
    msg = str(e.value)
    assert "in.csv" in msg and "unit_price" in msg and "--map" in msg
    with Store(tmp_path / "s.duckdb") as st:  # nothing half-written
        assert st.con.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_renamed_columns_with_explicit_mapping(tmp_path):
    text = "bill,article,pieces,cost,when\nB1,X1,3,2.5,2024-01-05 09:00\n"
    with pytest.raises(IngestError):
        _load(tmp_path, text)
    r, rows, _ = _load(
        tmp_path,
        text,
        mapping={"bill": "order_id", "article": "sku", "pieces": "quantity", "cost": "unit_price", "when": "ts"},
    )
    assert r.stored == 1 and rows.quantity[0] == 3 and rows.unit_price[0] == 2.5


@pytest.mark.parametrize(
    "text",
    [
        "order_id,sku,quantity,unit_price,ts,\n1,S,1,2,2010-12-01,\n",  # a trailing comma
        "order_id,sku,quantity,unit_price,ts,,\n1,S,1,2,2010-12-01,,\n",  # two
        ",order_id,sku,quantity,unit_price,ts\n0,1,S,1,2,2010-12-01\n",  # pandas' to_csv() with its index
    ],
)
def test_a_blank_column_name_is_a_column_without_a_name_not_an_error(tmp_path, text):
    r, rows, _ = _load(tmp_path, text)
    assert r.stored == 1 and rows.sku.tolist() == ["S"]


def test_an_override_replaces_the_presets_choice_for_its_field():
    from supplyfit.store.mapping import resolve

    cols = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    mapped = resolve(cols, "orders", "uci-online-retail", {"Country": "channel", "StockCode": "description"}).columns
    assert (mapped["channel"], mapped["description"]) == ("Country", "StockCode")
    assert "region" not in mapped and "sku" not in mapped  # the columns moved; nothing else took them
    with pytest.raises(ValueError, match="preset 'reviews-10cats' is not for orders"):
        resolve(["cat", "label", "review"], "orders", "reviews-10cats")


def test_two_columns_mapped_to_one_field_is_an_error(tmp_path):
    text = "a,b,quantity,unit_price,ts,order_id\nX,Y,1,2,2010-12-01,1\n"
    with pytest.raises(ValueError, match="gives field 'sku' two columns, 'a' and 'b'"):
        _load(tmp_path, text, mapping={"a": "sku", "b": "sku"})


def test_wrong_types_zero_and_negative_values_are_quarantined_with_reasons(tmp_path):
    text = HEADER_ZH + "".join(
        [
            "A1,S1,杯,abc,10,2024-03-01,C1,浙江\n",  # text in quantity
            "A2,S1,杯,1,十元,2024-03-01,C1,浙江\n",  # text in price
            "A3,S1,杯,0,10,2024-03-01,C1,浙江\n",  # zero quantity
            "A4,S1,杯,1,0,2024-03-01,C1,浙江\n",  # zero price
            "A5,S1,杯,1,-3,2024-03-01,C1,浙江\n",  # negative price
            "A6,S1,杯,1,10,not a date,C1,浙江\n",  # bad date
            ",S1,杯,1,10,2024-03-01,C1,浙江\n",  # missing order id
            "A8,S1,杯,-2,10,2024-03-01,C1,浙江\n",  # negative quantity: a return, stored
            'A9,S1,杯,"1,200","¥1,299.00",2024-03-01,C1,浙江\n',  # thousands separators and currency
        ]
    )
    r, rows, q = _load(tmp_path, text)
    assert r.stored == 2 and r.quarantined == 7
    reasons = dict(zip(q.src_row, q.reason))
    assert reasons == {
        1: "quantity is not a number: abc",
        2: "unit_price is not a number: 十元",
        3: "zero quantity",
        4: "zero unit_price",
        5: "negative unit_price",
        6: "unparsable ts: not a date",
        7: "missing order_id",
    }
    assert '"数量":"abc"' in q.raw[0]  # the raw row is kept as read
    ret = rows.set_index("order_id").loc["A8"]
    assert ret.is_return and ret.quantity == -2
    assert rows.set_index("order_id").loc["A9", "unit_price"] == 1299.0


def test_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="in.csv: the file is empty"):
        _load(tmp_path, "")


def test_header_only_file_loads_nothing_and_says_so(tmp_path):
    r, rows, _ = _load(tmp_path, HEADER_ZH)
    assert (r.rows_read, r.stored) == (0, 0) and "no data rows" in r.note


def test_duplicate_lines_are_counted_not_stored_twice(tmp_path):
    r, rows, _ = _load(tmp_path, HEADER_ZH + "".join(ROWS_ZH) + ROWS_ZH[0] + ROWS_ZH[2])
    assert (r.rows_read, r.stored, r.duplicates) == (5, 3, 2)


def test_truncated_file_quarantines_the_broken_line(tmp_path):
    text = HEADER_ZH + "".join(ROWS_ZH) + "A003,S9,台"  # cut mid-line
    r, rows, q = _load(tmp_path, text)
    assert r.rows_read == 4 and r.stored == 3 and r.quarantined == 1
    assert q.src_row[0] == 4 and "malformed CSV line" in q.reason[0] and "A003" in q.raw[0]


def test_day_first_dates_are_detected(tmp_path):
    text = "order_id,sku,qty,price,date\n1,S,1,2,25/12/2023 10:00\n2,S,1,2,03/01/2024 09:00\n"
    _, rows, _ = _load(tmp_path, text)
    assert [t.strftime("%Y-%m-%d") for t in rows.ts] == ["2023-12-25", "2024-01-03"]


def test_xlsx_with_chinese_headers(tmp_path):
    import pandas as pd

    df = pd.DataFrame([r.strip().split(",") for r in ROWS_ZH], columns=HEADER_ZH.strip().split(","))
    df.to_excel(tmp_path / "orders.xlsx", index=False)
    with Store(tmp_path / "s.duckdb") as st:
        r = ingest_orders(st, tmp_path / "orders.xlsx")
    assert r.stored == 3


def test_a_shopify_orders_export_is_recognised_but_for_its_personal_name_column(tmp_path):
    """Shopify's line-item headers feed their fields; its "Name" (the order number) reads as personal, so the order
    id must be mapped, and is then kept as a pseudonym (a personal column never lands raw)."""
    text = (
        "Name,Email,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Country\n"
        "#1001,a@example.com,2024-03-01 10:00:00 +0800,2,Blue mug,9.5,MUG-B,CN\n"
        "#1002,b@example.com,2024-03-02 11:00:00 +0800,1,Red mug,9.5,MUG-R,GB\n"
    )
    with pytest.raises(IngestError, match="order_id"):
        _load(tmp_path, text)
    r, rows, _ = _load(tmp_path, text, mapping={"Name": "order_id"})
    kept = rows[["sku", "description", "quantity", "unit_price", "region"]].values.tolist()
    assert r.stored == 2 and kept == [["MUG-B", "Blue mug", 2, 9.5, "CN"], ["MUG-R", "Red mug", 1, 9.5, "GB"]]
    assert not rows.order_id.isin(["#1001", "#1002"]).any()


def test_reviews_bad_rows(tmp_path):
    text = "类别,标签,评论\n手机,1,很好用\n手机,2,标签不对\n手机,0,\n水果,负面,不新鲜\n"
    f = _write(tmp_path / "r.csv", text, "gbk")
    with Store(tmp_path / "s.duckdb") as st:
        r = ingest_reviews(st, f)
        q = st.query("SELECT reason FROM quarantine ORDER BY src_row")
        labels = st.query("SELECT label FROM reviews ORDER BY src_row").label.tolist()
    assert (r.rows_read, r.stored, r.quarantined) == (4, 2, 2)
    assert q.reason.tolist() == ["label is not 1/0 or positive/negative: 2", "missing text"]
    assert labels == [1, 0]


def test_cli_bad_input_exits_2_with_message(tmp_path):
    f = _write(tmp_path / "bad.csv", "订单号,数量\nA,1\n", "gbk")
    p = subprocess.run(
        [sys.executable, "-m", "supplyfit.cli", "ingest", "orders", str(f), "--db", str(tmp_path / "s.duckdb")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert "bad.csv" in p.stderr and "sku" in p.stderr
