"""Text masks on a corpus of contact formats and look-alikes: Python's scrub and DuckDB's scrub_sql agree exactly.

Decisions pinned here: an EAN-13 barcode (13 digits) is never a phone or ID by length, so it survives in any
context; an 11-digit number starting 13-19 is masked even when it is an order number (it cannot be told from a
mobile); a number after "1." or "1," is the tail of a decimal, not a phone; phones one character apart are masked
as one.
"""

import random

import duckdb
import pytest

from supplyfit.store.privacy import scrub, scrub_sql

MASKED = [
    # CN mobiles
    ("13800138000", "[phone]"),
    ("138 0013 8000", "[phone]"),
    ("138-0013-8000", "[phone]"),
    ("+86 138 0013 8000", "[phone]"),
    ("+86-138-0013-8000", "[phone]"),
    ("+8613800138000", "[phone]"),
    ("8613800138000", "[phone]"),
    ("86 138 0013 8000", "[phone]"),
    ("0086 138 0013 8000", "[phone]"),
    ("１３８００１３８０００", "[phone]"),
    ("电话：１３８-００１３-８０００。", "电话：[phone]。"),
    ("请联系13800138000谢谢", "请联系[phone]谢谢"),
    ("我电话13718139512等看见信息来电话", "我电话[phone]等看见信息来电话"),
    ("Tel:13800138000", "Tel:[phone]"),
    ("Tel.13800138000", "Tel.[phone]"),
    ("tel13800138000", "tel[phone]"),
    ("(13800138000)", "([phone])"),
    ("订单号：19513967161", "订单号：[phone]"),
    # CN landlines and hotlines
    ("010-12345678", "[phone]"),
    ("0755-1234567", "[phone]"),
    ("(021) 6234 5678", "[phone]"),
    ("(021)62345678", "[phone]"),
    ("021 6234 5678", "[phone]"),
    ("02162345678", "[phone]"),
    ("+86 21 6234 5678", "[phone]"),
    ("传真至：010-59222799，我们", "传真至：[phone]，我们"),
    ("400-820-8820", "[phone]"),
    ("4008208820", "[phone]"),
    ("800 820 8820", "[phone]"),
    ("售后:8009908888)", "售后:[phone])"),
    # international
    ("+1 (415) 555-0100", "[phone]"),
    ("+1-415-555-0100", "[phone]"),
    ("+14155550100", "[phone]"),
    ("(415) 555-0100", "[phone]"),
    ("415-555-0100", "[phone]"),
    ("415.555.0100", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("+44 7700 900123", "[phone]"),
    ("+49 30 901820", "[phone]"),
    ("0049 30 901820", "[phone]"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("+852 2345 6789", "[phone]"),
    ("＋86 138 0013 8000", "[phone]"),
    # e-mails
    ("anna.lee+orders@mail.shop.example.co.uk", "[email]"),
    ("13800138000@qq.com", "[email]"),
    ("联系邮箱anna@example.com谢谢", "联系邮箱[email]谢谢"),
    ("我的EMAIL:HRZJQ@163.COM我可以", "我的EMAIL:[email]我可以"),
    ("anna＠example.com", "[email]"),
    ("write to a_b-c%d@sub-1.example.org.", "write to [email]."),
    # resident ID numbers
    ("110105194912310029", "[id]"),
    ("11010519491231002X", "[id]"),
    ("11010519491231002x", "[id]"),
    ("110105491231002", "[id]"),
    ("身份证号110105194912310029。", "身份证号[id]。"),
    ("１１０１０５１９４９１２３１００２Ｘ", "[id]"),
    ("ID:440301200001011234;", "ID:[id];"),
    # several in one text
    ("13800138000/13900139000", "[phone]"),
    ("13800138000, 13900139000", "[phone], [phone]"),
    ("张三 13800138000 zhang@example.com 110105194912310029", "张三 [phone] [email] [id]"),
    ("手机13800138000，身份证110105194912310029", "手机[phone]，身份证[id]"),
    ("胡永利 010-87860230    北京", "胡永利 [phone]    北京"),
    ("call +44 20 7946 0958 or (415) 555-0100\n", "call [phone] or [phone]\n"),
    # national forms with a trunk 0, and Indian mobiles
    ("mob 07700 900123", "mob [phone]"),
    ("0113 496 0000", "[phone]"),
    ("Tel. 030 901820", "Tel. [phone]"),
    ("+49 (0)30 901820", "[phone]"),
    ("089/12345678", "[phone]"),
]

KEPT = [
    "489434",
    "C489434",
    "2010120112345678",
    "85123A",
    "1,234.50",
    "¥12.50",
    "价格¥1,299.00元",
    "2010-12-01",
    "2010/12/01 08:26",
    "2010-12-01 08:26:00",
    "12/01/2010 08:26",
    "20101201",
    "20101201082600",
    "2010年12月1日",
    "08:26:00",
    "Quantity 12",
    "WHITE HANGING HEART T-LIGHT HOLDER",
    "SET 3 RETROSPOT TEA/COFFEE/SUGAR",
    "PADS TO MATCH ALL CUSHIONS 494914 PADS 0.001 1 2010-01-19 17:04:00 16705.0",
    "536365 85123A 6 2.55 17850.0 United Kingdom",
    "orders 536365-536370",
    "1.234.567,89",
    "+12.50",
    "+5%",
    "v2.0.1",
    "192.168.100.200",
    "ISBN 978-7-111-12345-6",
    "京东订单号：12235689503",
    "6901234567892",
    "barcode: 6901234567892",
    "EAN 4006381333931",
    "500ml 1.5L 3M 8210",
    "sizes 6 8 10 12 14",
    "size 06 08 10 12 14",
    "60000-70000 BTU",
    "12 34 56",
    "SET OF 12 IN 3 SIZES 10 20 30",
    "",
]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _sql(con, text):
    return con.execute(f"SELECT {scrub_sql('$1::VARCHAR')}", [text]).fetchone()[0]


@pytest.mark.parametrize(("text", "want"), MASKED + [(t, t) for t in KEPT])
def test_python_and_sql_masks_agree_on_the_corpus(con, text, want):
    assert scrub(text) == want
    assert _sql(con, text) == want
    assert scrub(want) == want  # masking twice changes nothing


def test_corpus_is_broad_and_null_stays_null(con):
    assert len(MASKED) >= 30 and len(KEPT) >= 20
    assert _sql(con, None) is None


def test_a_column_of_text_is_masked_in_one_query(con):
    rows = [t for t, _ in MASKED] + KEPT
    got = con.execute(
        f"SELECT {scrub_sql('t')} FROM unnest($1::VARCHAR[]) WITH ORDINALITY AS u(t, i) ORDER BY i", [rows]
    ).fetchall()
    assert [g for (g,) in got] == [w for _, w in MASKED] + KEPT


def test_python_and_sql_agree_on_corpus_pieces_glued_together(con):
    """Fragments joined by separators and digits: boundaries (where the two engines could differ) everywhere."""
    rng = random.Random(7)
    pieces = [t for t, _ in MASKED] + KEPT
    glue = ["", " ", ",", ".", "-", "/", "，", "谢", "a", "+", "(", ")", "\n", "1", "０", "@"]
    texts = ["".join(rng.choice(pieces) + rng.choice(glue) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    got = con.execute(
        f"SELECT {scrub_sql('t')} FROM unnest($1::VARCHAR[]) WITH ORDINALITY AS u(t, i) ORDER BY i", [texts]
    ).fetchall()
    assert [g for (g,) in got] == [scrub(t) for t in texts]
