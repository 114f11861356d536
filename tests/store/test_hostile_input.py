"""Hostile and careless input files, each with its exact outcome: stored values, quarantined lines and reasons,
or the error message. For every load: rows read = stored + quarantined + duplicates, and rows read counts every
physical record of the file (nothing merged, nothing skipped silently)."""

import datetime as dt
import io
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supplyfit.store import IngestError, Store, ingest_orders, ingest_reviews

H = "order_id,sku,description,quantity,price,ts\n"
EU = "order_id;sku;description;quantity;price;ts\n"


def load(tmp_path, content, name="in.csv", kind="orders", **kw):
    """Load ``content`` (str as UTF-8, or bytes); return the report, stored rows and quarantine."""
    f = tmp_path / name
    f.write_bytes(content.encode() if isinstance(content, str) else content)
    with Store(tmp_path / "s.duckdb") as st:
        r = (ingest_orders if kind == "orders" else ingest_reviews)(st, f, **kw)
        table = "orders" if kind == "orders" else "reviews"
        rows = st.query(f"SELECT * FROM {table} ORDER BY src_row")
        q = st.query("SELECT src_row, reason, raw FROM quarantine ORDER BY src_row")
    assert r.rows_read == r.stored + r.quarantined + r.duplicates
    assert (len(rows), len(q)) == (r.stored, r.quarantined)
    return r, rows, q


def fails(tmp_path, content, match, name="in.csv", **kw):
    with pytest.raises(IngestError, match=match):
        load(tmp_path, content, name, **kw)
    with Store(tmp_path / "s.duckdb") as st:  # nothing half-written
        assert st.con.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
        assert st.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def line(i, price="3", ts="2024-01-01", qty="1", desc="mug"):
    return f"A{i},S{i},{desc},{qty},{price},{ts}\n"


# ---- numbers ---------------------------------------------------------------------------------------------------
NUMBERS = {
    "decimal comma decided by 2,5": (['"2,5"', "4"], [2.5, 4.0]),
    "european grouping": (['"1.234,50"', '"2,5"'], [1234.5, 2.5]),
    "space grouping with decimal comma": (['"12 345,67"', '"1,5"'], [12345.67, 1.5]),
    "english grouping": (['"1,234.50"', "7"], [1234.5, 7.0]),
    "currency marks": (['"¥1,299.00"', "RMB 12.50", "12.50元", "$3.5", "€ 4"], [1299.0, 12.5, 12.5, 3.5, 4.0]),
    "exponent": (["1e3", "2.5"], [1000.0, 2.5]),
    "non-breaking space grouping": (['"1\u00a0234,5"', '"3,25"'], [1234.5, 3.25]),
}


@pytest.mark.parametrize("prices,expected", NUMBERS.values(), ids=NUMBERS.keys())
def test_number_conventions_decided_per_column(tmp_path, prices, expected):
    r, rows, _ = load(tmp_path, H + "".join(line(i, p) for i, p in enumerate(prices)))
    assert rows.unit_price.tolist() == expected


def test_ambiguous_thousands_fail_and_name_the_option(tmp_path):
    fails(
        tmp_path,
        H + line(1, '"1,234"') + line(2, "3"),
        r"in.csv, column 'price': ambiguous: '1,234' reads with a decimal point and with a decimal comma.*"
        r"--decimal \. or --decimal ,",
    )


@pytest.mark.parametrize("decimal,expected", [(",", 1.234), (".", 1234.0)])
def test_decimal_option_settles_it(tmp_path, decimal, expected):
    r, rows, _ = load(tmp_path, H + line(1, '"1,234"') + line(2, "3"), decimal=decimal)
    assert rows.unit_price.tolist() == [expected, 3.0]


def test_mixed_conventions_in_one_column_fail(tmp_path):
    fails(
        tmp_path,
        H + line(1, '"1,5"') + line(2, "2.5"),
        r"column 'price': mixes conventions: '2.5' reads only with a decimal point, '1,5' only with a decimal comma",
    )


def test_a_column_without_evidence_follows_the_files_other_columns(tmp_path):
    r, rows, _ = load(tmp_path, H + line(1, '"1,299.00"', qty='"1,200"') + line(2, "3", qty="2"))
    assert rows.quantity.tolist() == [1200.0, 2.0] and "quantity: . as in unit_price" in r.note


def test_with_decimal_comma_a_point_number_is_quarantined_not_misread(tmp_path):
    r, rows, q = load(tmp_path, H + line(1, '"2,5"') + line(2, "2.5"), decimal=",")
    assert rows.unit_price.tolist() == [2.5] and q.reason.tolist() == ["unit_price is not a number: 2.5"]


def test_semicolon_file_with_decimal_commas(tmp_path):
    text = EU + "A1;S1;Tasse;2;3,50;01.02.2024\nA2;S2;Teller;1;1.299,00;13.02.2024\n"
    r, rows, _ = load(tmp_path, text)
    assert rows.unit_price.tolist() == [3.5, 1299.0]
    assert rows.ts.tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-13")]


def test_full_width_digits_and_accounting_negatives_are_quarantined(tmp_path):
    r, rows, q = load(tmp_path, H + line(1, "１２") + line(2, "(3)") + line(3, "4"))
    assert rows.unit_price.tolist() == [4.0]
    assert q.reason.tolist() == ["unit_price is not a number: １２", "unit_price is not a number: (3)"]


# ---- dates and time zones --------------------------------------------------------------------------------------
DATES = {
    "day-first decided by 13/01": (["13/01/2024", "12/01/2024 08:30"], ["2024-01-13", "2024-01-12 08:30"]),
    "month-first decided by 01/13": (["01/13/2024", "12/01/2024"], ["2024-01-13", "2024-12-01"]),
    "dotted day-first": (["01.02.2024", "2024-03-04"], ["2024-02-01", "2024-03-04"]),
    "chinese": (["2024年3月1日", "2024年3月2日 10:05"], ["2024-03-01", "2024-03-02 10:05"]),
    "compact": (["20240301", "20240302"], ["2024-03-01", "2024-03-02"]),
    "iso with T and seconds": (
        ["2024-03-01T10:00:05", "2024/03/02 10:00"],
        ["2024-03-01 10:00:05", "2024-03-02 10:00"],
    ),
    "offsets converted to UTC": (
        ["2024-03-01T10:00:00+08:00", "2024-03-01 10:00:00Z"],
        ["2024-03-01 02:00", "2024-03-01 10:00"],
    ),
    "negative offset": (["2024-03-01T20:00:00-0500"], ["2024-03-02 01:00"]),
    "hour-only offsets, as PostgreSQL writes them": (
        ["2024-03-01 10:00:00+08", "2024-03-01 10:00-05", "2024-03-01 10:00:00.5 +05:30"],
        ["2024-03-01 02:00", "2024-03-01 15:00", "2024-03-01 04:30:00.5"],
    ),
    "UTC and GMT suffixes": (
        ["2024-03-01 10:00:00 UTC", "2024-03-01 11:00 GMT"],
        ["2024-03-01 10:00", "2024-03-01 11:00"],
    ),
    "an offset after a day-first date": (["13/01/2024 10:00 +01:00"], ["2024-01-13 09:00"]),
}


@pytest.mark.parametrize("values,expected", DATES.values(), ids=DATES.keys())
def test_date_formats_decided_from_all_values(tmp_path, values, expected):
    r, rows, _ = load(tmp_path, H + "".join(line(i, ts=v) for i, v in enumerate(values)))
    assert rows.ts.tolist() == [pd.Timestamp(e) for e in expected]


def test_day_first_evidence_late_in_the_file_counts(tmp_path):
    body = "".join(line(i, ts=f"{1 + i % 12:02d}/01/2024") for i in range(5000)) + line(9999, ts="25/01/2024")
    r, rows, _ = load(tmp_path, H + body)
    assert rows.ts.iloc[11] == pd.Timestamp("2024-01-12") and rows.ts.iloc[-1] == pd.Timestamp("2024-01-25")


def test_every_day_at_most_12_fails_and_asks_for_date_format(tmp_path):
    fails(
        tmp_path,
        H + line(1, ts="12/01/2024") + line(2, ts="11/02/2024"),
        r"in.csv, column 'ts': ambiguous: '1[12]/0[12]/2024' reads with day-first and with month-first.*"
        r"--date-format day-first, month-first",
    )


@pytest.mark.parametrize(
    "fmt,expected", [("day-first", "2024-01-12"), ("month-first", "2024-12-01"), ("%d/%m/%Y", "2024-01-12")]
)
def test_date_format_option_settles_it(tmp_path, fmt, expected):
    r, rows, _ = load(tmp_path, H + line(1, ts="12/01/2024"), date_format=fmt)
    assert rows.ts.tolist() == [pd.Timestamp(expected)]


@pytest.mark.parametrize(
    "fmt,values,expected",
    [
        ("month-first", ["12/1/10 8:26", "12/13/10"], ["2010-12-01 08:26", "2010-12-13"]),
        ("day-first", ["01.12.10", "13/12/10 9:00"], ["2010-12-01", "2010-12-13 09:00"]),
    ],
)
def test_two_digit_years_are_this_century_not_the_year_10(tmp_path, fmt, values, expected):
    """Excel's short dates ('12/1/10 8:26'): "%Y" reads 10 as the year 10; a two-digit year is 19xx/20xx."""
    r, rows, _ = load(tmp_path, H + "".join(line(i, ts=v) for i, v in enumerate(values)), date_format=fmt)
    assert rows.ts.tolist() == [pd.Timestamp(e) for e in expected]


def test_two_digit_years_are_not_read_year_first(tmp_path):
    fails(tmp_path, H + line(1, ts="12/1/10 8:26") + line(2, ts="11/2/10"), r"column 'ts': ambiguous")


def test_a_date_outside_1900_2199_is_quarantined_not_stored(tmp_path):
    r, rows, q = load(tmp_path, H + line(1, ts="0012-01-10") + line(2, ts="2024-01-02") + line(3, ts="9999-12-31"))
    assert rows.ts.tolist() == [pd.Timestamp("2024-01-02")]
    assert q.reason.tolist() == ["implausible ts (year 12): 0012-01-10", "implausible ts (year 9999): 9999-12-31"]


def test_preset_says_month_first(tmp_path):
    text = (
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,LIGHTS,12,12/1/2009 7:45,6.95,13085,United Kingdom\n"
    )
    r, rows, _ = load(tmp_path, text, preset="uci-online-retail")
    assert rows.ts.tolist() == [pd.Timestamp("2009-12-01 07:45")]


def test_mixed_day_and_month_first_fail(tmp_path):
    fails(tmp_path, H + line(1, ts="13/01/2024") + line(2, ts="01/13/2024"), r"column 'ts': mixes conventions")


def test_tenant_time_zone(tmp_path):
    r, rows, _ = load(
        tmp_path, H + line(1, ts="2024-03-01T10:00:00+00:00") + line(2, ts="2024-03-01 10:00"), tz="Asia/Shanghai"
    )
    assert rows.ts.tolist() == [pd.Timestamp("2024-03-01 18:00"), pd.Timestamp("2024-03-01 10:00")]


def test_the_tenants_time_zone_is_kept_for_later_loads_and_never_mixed(tmp_path):
    load(tmp_path, H + line(1, ts="2024-03-01T10:00:00+00:00"), tz="Asia/Shanghai")
    later, london = tmp_path / "later.csv", tmp_path / "london.csv"
    later.write_text(H + line(2, ts="2024-03-02T10:00:00+00:00"))
    london.write_text(H + line(3))
    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, later)  # no time zone said: the tenant's
        assert st.query("SELECT ts FROM orders ORDER BY ts").ts.tolist() == [
            pd.Timestamp("2024-03-01 18:00"),
            pd.Timestamp("2024-03-02 18:00"),
        ]
        with pytest.raises(IngestError, match="stored in Asia/Shanghai; a load in Europe/London would mix"):
            ingest_orders(st, london, tz="Europe/London")


def test_unknown_time_zone_is_an_error(tmp_path):
    fails(tmp_path, H + line(1), r"unknown time zone 'Mars/Olympus'", tz="Mars/Olympus")


def test_parquet_timestamps_with_a_zone_are_converted(tmp_path):
    ts = pa.array([dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC"))
    table = pa.table({"order_id": ["A1"], "sku": ["S1"], "quantity": [1], "price": [2.0], "ts": ts})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    r, rows, _ = load(tmp_path, buf.getvalue(), name="in.parquet", tz="Asia/Shanghai")
    assert rows.ts.tolist() == [pd.Timestamp("2024-03-01 18:00")]


# ---- lines, quotes, blanks -------------------------------------------------------------------------------------
def test_stray_quotes_quarantine_each_line_they_swallow(tmp_path):
    text = H + line(1) + 'A2,S2,"stray,1,2,2024-01-01\n' + line(3) + 'A4,S4,end",1,2,2024-01-01\n' + line(5)
    r, rows, q = load(tmp_path, text)
    assert rows.order_id.tolist() == ["A1", "A5"] and r.rows_read == 5
    assert q.src_row.tolist() == [2, 3, 4]
    assert set(q.reason) == {"unbalanced quote: a quoted field runs from line 2 to line 4 across whole records"}


def test_quote_never_closed_quarantines_to_the_end(tmp_path):
    r, rows, q = load(tmp_path, H + line(1) + 'A2,S2,"open,1,2,2024-01-01\n' + line(3))
    assert rows.order_id.tolist() == ["A1"] and q.src_row.tolist() == [2, 3]
    assert q.reason[0] == "unbalanced quote: a quoted field opened on line 2 is not closed by line 3"


def test_a_quoted_line_break_inside_a_field_is_one_record(tmp_path):
    r, rows, q = load(tmp_path, H + 'A1,S1,"two\nlines, one mug",2,3,2024-01-01\n' + line(2))
    assert rows.description.tolist() == ["two\nlines, one mug", "mug"] and r.rows_read == 2
    assert rows.src_row.tolist() == [1, 3]  # the record's first line


def test_escaped_quotes_are_text(tmp_path):
    r, rows, _ = load(tmp_path, H + 'A1,S1,"12"" ""big"" mug",2,3,2024-01-01\n')
    assert rows.description.tolist() == ['12" "big" mug']


@pytest.mark.parametrize(
    "bad,reason",
    [
        ("A2,S2,mug,1,3,2024-01-01,extra\n", "expected 6 fields, found 7"),
        ("A2,S2,mug,1\n", "expected 6 fields, found 4"),
    ],
)
def test_wrong_field_counts_are_quarantined_with_their_line(tmp_path, bad, reason):
    r, rows, q = load(tmp_path, H + line(1) + bad + line(3))
    assert rows.order_id.tolist() == ["A1", "A3"] and q.src_row.tolist() == [2]
    assert q.reason[0] == f"malformed CSV line: {reason}"


def test_blank_lines_and_crlf(tmp_path):
    r, rows, q = load(tmp_path, (H + line(1) + "\n\n" + line(2) + "   \n").replace("\n", "\r\n"))
    assert rows.order_id.tolist() == ["A1", "A2"] and r.rows_read == 2 and rows.src_row.tolist() == [1, 4]


def test_huge_field(tmp_path):
    r, rows, _ = load(tmp_path, H + line(1, desc="x" * 2_000_000))
    assert len(rows.description[0]) == 2_000_000


def test_duplicate_header_names(tmp_path):
    fails(tmp_path, "order_id,sku,sku,quantity,price,ts\n", "duplicate column names in header: sku")


def test_a_folder_is_not_a_file(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    with Store(tmp_path / "s.duckdb") as st, pytest.raises(IngestError, match="is a folder"):
        ingest_orders(st, tmp_path / "dir.csv")


def test_tab_separated(tmp_path):
    r, rows, _ = load(tmp_path, (H + line(1)).replace(",", "\t"), name="in.tsv")
    assert rows.sku.tolist() == ["S1"]


# ---- encodings -------------------------------------------------------------------------------------------------
def test_gbk_lines_after_the_first_megabyte_are_quarantined_not_mojibake(tmp_path):
    body = "".join(f"A{i},S{i % 50},保温杯,1,3,2024-01-01\n" for i in range(40_000)).encode()
    tail = "B1,S1,雨伞,1,3,2024-01-01\n".encode("gbk") + "B2,S1,伞,1,3,2024-01-01\n".encode()
    r, rows, q = load(tmp_path, H.encode() + body + tail)
    assert len(body) > 1 << 20 and r.encoding == "utf-8" and r.stored == 40_001
    assert rows.description.iloc[-1] == "伞" and set(rows.description) == {"保温杯", "伞"}
    assert q.src_row.tolist() == [40_001]
    assert q.reason[0].startswith("line 40001 does not decode as utf-8")


def test_a_gbk_file_is_read_as_gb18030(tmp_path):
    r, rows, _ = load(tmp_path, (H + line(1, desc="保温杯 不锈钢") + line(2, desc="雨伞")).encode("gbk"))
    assert r.encoding == "gb18030" and rows.description.tolist() == ["保温杯 不锈钢", "雨伞"]


def test_a_single_byte_code_page_is_never_guessed(tmp_path):
    fails(
        tmp_path,
        (H + line(1, desc="café crème")).encode("cp1252"),
        r"the file is not UTF-8 \(line 2 is not\) nor GB18030.*--encoding",
    )


@pytest.mark.parametrize("enc,text", [("cp1250", "Łódź kubek"), ("cp1252", "café crème"), ("latin-1", "Müller")])
def test_a_named_code_page_is_read_exactly(tmp_path, enc, text):
    r, rows, _ = load(tmp_path, (H + line(1, desc=text)).encode(enc), encoding=enc)
    assert rows.description.tolist() == [text]


def test_lines_that_do_not_decode_in_the_named_encoding_are_quarantined(tmp_path):
    content = H.encode() + line(1).encode() + "A2,S2,茶,1,3,2024-01-01\n".encode("gbk") + line(3).encode()
    r, rows, q = load(tmp_path, content, encoding="utf-8")
    assert rows.order_id.tolist() == ["A1", "A3"] and q.src_row.tolist() == [2]


def test_unknown_encoding_name(tmp_path):
    fails(tmp_path, H + line(1), "unknown encoding 'klingon'", encoding="klingon")


@pytest.mark.parametrize("enc", ["utf-16", "utf-8-sig"])
def test_boms(tmp_path, enc):
    r, rows, _ = load(tmp_path, (H + line(1, desc="杯")).encode(enc))
    assert rows.description.tolist() == ["杯"] and r.mapping["order_id"] == "order_id"


# ---- Excel -----------------------------------------------------------------------------------------------------
def test_not_a_zip_xlsx(tmp_path):
    fails(tmp_path, H + line(1), "not an Excel workbook", name="in.xlsx")


def test_decompression_bomb_xlsx_is_refused_before_unpacking(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<c>0</c>" * 20_000_000)
    fails(tmp_path, buf.getvalue(), r"the workbook unpacks to 160,000,000 bytes", name="in.xlsx")


def test_excel_typed_cells_and_two_sheets(tmp_path):
    f = tmp_path / "in.xlsx"
    a = pd.DataFrame(
        {"order_id": ["A1"], "sku": ["S1"], "quantity": [2], "price": [3.5], "ts": [pd.Timestamp("2024-03-01 10:00")]}
    )
    with pd.ExcelWriter(f) as w:
        a.to_excel(w, sheet_name="Jan", index=False)
        a.assign(order_id="A2").to_excel(w, sheet_name="Feb", index=False)
    r, rows, _ = load(tmp_path, f.read_bytes(), name="in.xlsx")
    assert rows.order_id.tolist() == ["A1", "A2"] and rows.quantity.tolist() == [2.0, 2.0]
    assert rows.ts.tolist() == [pd.Timestamp("2024-03-01 10:00")] * 2


# ---- reviews ---------------------------------------------------------------------------------------------------
def test_reviews_with_line_breaks_and_contacts(tmp_path):
    text = 'cat,label,review\n书籍,1,"很好看\n第二行"\n手机,0,"电话13800138000 退货"\n'
    r, rows, _ = load(tmp_path, text, kind="reviews")
    assert rows.text.tolist() == ["很好看\n第二行", "电话[phone] 退货"] and r.rows_read == 2


def test_idempotent_rerun_after_hostile_file(tmp_path):
    text = H + line(1) + 'A2,S2,"stray,1,2,2024-01-01\n' + line(3)
    r1, _, _ = load(tmp_path, text)
    with Store(tmp_path / "s.duckdb") as st:
        r2 = ingest_orders(st, tmp_path / "in.csv")
        counts = st.con.execute("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM quarantine)").fetchone()
    assert r2.status == "skipped" and r2.rows_read == r1.rows_read == r2.duplicates
    assert counts == (r1.stored, r1.quarantined) == (1, 2)


def test_float32_prices_keep_the_value_written_and_match_the_same_lines_as_text(tmp_path):
    """A float32 2.55 is 2.5499999523 as a double: stored so, the same line from a CSV was not a duplicate."""
    table = pa.table(
        {
            "order_id": ["A1", "A2"],
            "sku": ["S1", "S2"],
            "quantity": [1, 2],
            "price": pa.array([2.55, 0.1], pa.float32()),
            "ts": ["2024-01-01", "2024-01-02"],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    r, rows, _ = load(tmp_path, buf.getvalue(), name="in.parquet")
    assert rows.unit_price.tolist() == [2.55, 0.1]
    with Store(tmp_path / "s.duckdb") as st:
        again = ingest_orders(
            st, _write(tmp_path / "again.csv", "order_id,sku,quantity,price,ts\nA1,S1,1,2.55,2024-01-01\n")
        )
    assert (again.stored, again.duplicates) == (0, 1)


def test_a_nan_in_a_float_id_column_is_a_missing_id(tmp_path):
    table = pa.table(
        {
            "order_id": pa.array([1.0, float("nan")]),
            "sku": ["S1", "S2"],
            "quantity": [1, 2],
            "price": [2.0, 3.0],
            "ts": ["2024-01-01", "2024-01-02"],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    r, rows, q = load(tmp_path, buf.getvalue(), name="in.parquet")
    assert rows.order_id.tolist() == ["1"] and q.reason.tolist() == ["missing order_id"]


def _write(path, text):
    path.write_text(text)
    return path


def test_a_nan_quantity_or_price_in_a_float_column_is_missing_not_stored(tmp_path):
    table = pa.table(
        {
            "order_id": ["A1", "A2", "A3"],
            "sku": ["S1", "S2", "S3"],
            "quantity": pa.array([1.0, float("nan"), 2.0]),
            "price": pa.array([2.0, 3.0, float("nan")]),
            "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    r, rows, q = load(tmp_path, buf.getvalue(), name="in.parquet")
    assert rows.order_id.tolist() == ["A1"] and q.reason.tolist() == ["missing quantity", "missing unit_price"]


@pytest.mark.parametrize(
    "fmt,value,expected",
    [
        ("%Y%d%m", "20101201", "2010-01-12"),
        ("%Y.%d.%m", "2010.12.01", "2010-01-12"),
        ("%d/%m/%Y", "12/01/2024", "2024-01-12"),
    ],
)
def test_an_explicit_format_comes_before_the_year_first_forms(tmp_path, fmt, value, expected):
    r, rows, _ = load(tmp_path, H + line(1, ts=value), date_format=fmt)
    assert rows.ts.tolist() == [pd.Timestamp(expected)]


def test_offset_names_in_any_case(tmp_path):
    r, rows, _ = load(
        tmp_path, H + line(1, ts="2024-03-01 10:00:00 utc") + line(2, ts="2024-03-01 10:00:00z"), tz="Asia/Shanghai"
    )
    assert rows.ts.tolist() == [pd.Timestamp("2024-03-01 18:00")] * 2


def test_a_failed_load_leaves_the_tenants_time_zone_as_it_was(tmp_path):
    fails(tmp_path, "order_id,sku\nA1,S1\n", "required column", tz="Asia/Tokyo")
    with Store(tmp_path / "s.duckdb") as st:
        assert st.timezone == "UTC"


def test_written_out_missing_values_are_missing_ids_and_numbers_but_words_in_names(tmp_path):
    """NA is how R writes a missing value, and Namibia's region code; "None" can be a product's name. N/A, NULL
    and NaN are markers wherever they are."""
    text = (
        "order_id,sku,description,quantity,price,ts,region,channel\n"
        "A1,S1,None,1,2,2024-01-01,NA,None\n"
        "A2,NA,mug,1,2,2024-01-01,GB,web\n"
        "A3,S3,mug,N/A,2,2024-01-01,GB,web\n"
        "A4,S4,mug,1,NULL,2024-01-01,GB,web\n"
        "A5,S5,NaN,1,2,2024-01-01,null,n/a\n"
    )
    r, rows, q = load(tmp_path, text)
    assert rows[["description", "region", "channel"]].values.tolist() == [["None", "NA", None], [None, None, None]]
    assert q.reason.tolist() == ["missing sku", "missing quantity", "missing unit_price"]
    assert '"sku":"NA"' in q.raw.iloc[0]  # the quarantined line as it was written


def test_a_category_column_in_parquet_is_read_as_text(tmp_path):
    """pandas writes a category column as a dictionary: its markers and bad numbers are quarantined as a plain
    string column's are (a NOT NULL failure had stopped the whole load)."""
    path = tmp_path / "o.parquet"
    pd.DataFrame(
        {
            "order_id": ["A1", "A2", "A3"],
            "sku": ["S1", "S2", "S3"],
            "quantity": pd.Categorical(["1", "NA", "two"]),
            "price": ["2", "2", "2"],
            "ts": pd.Categorical(["2024-01-01", "2024-01-02", "NULL"]),
        }
    ).to_parquet(path)
    with Store(tmp_path / "s.duckdb") as st:
        r = ingest_orders(st, path)
    assert (r.stored, r.quarantined) == (1, 2)
    assert r.reasons == {"missing quantity": 1, "missing ts; quantity is not a number: two": 1}


def test_a_malformed_line_already_quarantined_is_a_duplicate_wherever_it_is(tmp_path):
    """Its reason names its line ("expected 6 fields, found 3" at line 2); the same line at line 3 of a later file
    is the same bad line, counted as a duplicate, not quarantined again."""
    header = "order_id,sku,description,quantity,price,ts\n"
    (tmp_path / "a.csv").write_text(header + "A1,S1,x\n" + line(2))
    (tmp_path / "b.csv").write_text(header + line(3) + "A1,S1,x\n" + line(2))
    with Store(tmp_path / "s.duckdb") as st:
        first = ingest_orders(st, tmp_path / "a.csv")
        second = ingest_orders(st, tmp_path / "b.csv")
        kept = st.query("SELECT count(*) AS n FROM quarantine").n[0]
    assert (first.stored, first.quarantined) == (1, 1)
    assert (second.stored, second.quarantined, second.duplicates) == (1, 0, 2)
    assert kept == 1


def test_no_contact_in_a_file_name_or_a_number_column_is_kept(tmp_path):
    """A file named after a person, a phone number in an integer column of a bad row: masked as in text."""
    path = tmp_path / "orders_jane.doe@example.com.parquet"
    pd.DataFrame(
        {"order_id": ["A1", "A2"], "sku": ["S1", "S2"], "quantity": [1, 0], "price": [2.0, 2.0],
         "ts": ["2024-01-01"] * 2, "ref": [5, 13912345678]}
    ).to_parquet(path)  # fmt: skip
    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, path)
        kept = " ".join(st.query("SELECT file FROM loads").file) + " ".join(st.query("SELECT raw FROM quarantine").raw)
    assert "jane.doe@example.com" not in kept and "13912345678" not in kept
    assert '"quantity":"0"' in kept  # a small number is kept as written


def test_extreme_and_float_numbers_in_a_bad_row_are_kept_masked(tmp_path):
    """The smallest 64-bit integer (no absolute value) and a phone number in a float column (an id column with a
    gap) on a quarantined row: the load runs, the number is masked."""
    path = tmp_path / "o.parquet"
    pd.DataFrame(
        {"order_id": ["A1", "A2"], "sku": ["S1", "S2"], "quantity": [1, 0], "price": [2.0, 2.0],
         "ts": ["2024-01-01"] * 2, "ref": [2, -(2**63)], "note": [None, 13912345678.0]}
    ).to_parquet(path)  # fmt: skip
    with Store(tmp_path / "s.duckdb") as st:
        r = ingest_orders(st, path)
        raw = st.query("SELECT raw FROM quarantine").raw[0]
    assert (r.stored, r.quarantined) == (1, 1) and "13912345678" not in raw
