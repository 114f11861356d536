"""Personal data: column classes, the per-store secret, keyed pseudonyms (HMAC-SHA256) and text masks.

Customer identifiers and any source column marked personal are replaced at ingest by
``c_`` + the first 16 hex digits of HMAC-SHA256(secret, tenant + US + raw value). Analytics and
recommendations still join on them; the raw value is never stored. The secret lives outside the DuckDB
file: ``$SUPPLYFIT_SECRET`` or a key file ``<store>.secret`` (mode 600, created on first use). The store
keeps only the secret's fingerprint, so opening it with another secret fails instead of splitting customers.
Free text (descriptions, reviews, notes, quarantined lines) has e-mail addresses, Chinese resident ID numbers
and phone numbers masked as ``[email]``, ``[id]`` and ``[phone]``, identically in SQL (:func:`scrub_sql`) and
Python (:func:`scrub`); tests/store/test_pii_corpus.py lists the formats masked and the look-alikes kept.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import tempfile
from pathlib import Path

SECRET_ENV = "SUPPLYFIT_SECRET"
PSEUDONYM_PREFIX = "c_"
PSEUDONYM_HEX = 16

# Store columns by data class. personal: identifies a person (stored only as a pseudonym);
# business: the tenant's commercial data; public: catalogue facts anyone can see on a listing.
COLUMN_CLASSES: dict[str, dict[str, str]] = {
    "orders": {
        "customer_id": "personal",
        "order_id": "business",
        "line_no": "business",
        "quantity": "business",
        "unit_price": "business",
        "ts": "business",
        "region": "business",
        "channel": "business",
        "merchant": "business",
        "is_return": "business",
        "is_product": "business",
        "load_id": "business",
        "src_row": "business",
        "sku": "public",
        "description": "public",
        "category": "public",
    },
    "customers": {
        "customer_id": "personal",
        "region": "business",
        "first_order": "business",
        "last_order": "business",
        "orders": "business",
        "revenue": "business",
    },
    "products": {
        "sku": "public",
        "name": "public",
        "category": "public",
        "attributes": "public",
        "is_product": "business",
        "avg_price": "business",
        "first_sold": "business",
        "last_sold": "business",
    },
    "reviews": {
        "review_id": "business",
        "sku": "public",
        "category": "public",
        "merchant": "business",
        "text": "public",
        "label": "business",
        "rating": "business",
        "ts": "business",
        "lang": "business",
        "load_id": "business",
        "src_row": "business",
    },
    "quarantine": {
        "raw": "business (personal columns pseudonymised)",
        "reason": "business",
        "load_id": "business",
        "src_row": "business",
        "merchant": "business",
    },
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Header words, matched whole after splitting snake_case, kebab-case and CamelCase (Chinese: as substrings).
# A header is personal when it names a person and one of their contact/identity attributes, or names either one
# without a business word: customer_id and 收货人 are personal, Customer Segment, seller_phone and 商品名称 are not.
_PERSON_WORDS = _words(
    "customer cust buyer consignee receiver recipient shipper sender contact user member client "
    "purchaser payer guest subscriber uid"
)
_PERSON_ZH = _words("收货人 收件人 寄件人 发件人 发货人 买家 联系人 客户 用户 会员 顾客 购买人 下单人 消费者")
_ATTRIBUTE_WORDS = _words(
    "email mail phone mobile tel telephone cellphone fax address addr street postcode postal zip "
    "zipcode name firstname lastname surname fullname nickname nick username login password ip idcard "
    "card passport ssn birthday birthdate dob wechat whatsapp qq alipay openid unionid"
)
_ATTRIBUTE_ZH = _words("手机 电话 联系方式 地址 邮箱 身份证 证件 姓名 名字 昵称 旺旺 微信 支付宝 账号 邮编 生日 出生")
_BUSINESS_WORDS = _words(
    "segment type group tier level class category count cnt total region country city state province "
    "area district channel source agent rating score status rank since value ltv size product item "
    "sku goods store shop merchant seller vendor supplier brand company warehouse lineitem variant "
    "file sheet campaign courier carrier manufacturer"
)
_BUSINESS_ZH = _words(
    "类型 分群 分层 等级 级别 类别 分类 数 量 地区 区域 省 市 国家 渠道 来源 金额 货款 费 积分 "
    "实付 应付 评分 代理 商品 产品 店铺 商家 卖家 门店 仓库 品牌 供应商 公司 快递 物流"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z]+|[0-9]+")

# Text masks. Each pattern is valid, and matches the same, in Python's re and in RE2 (DuckDB's regexp_replace):
# no lookaround and no \b, \d or \w (Unicode-aware in Python, ASCII in RE2). A number must not touch another
# digit, so a boundary character is consumed and put back (\1, \2); a second number one character after the first
# would lose that boundary, so runs like "13800138000/13900139000" are matched, and masked, as one.
_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def _digit(chars: str) -> str:
    """A class of ASCII digits (ranges allowed, e.g. ``1-8``) and their full-width forms."""
    return f"[{chars}{chars.translate(_WIDE)}]"


def _digits(literal: str) -> str:
    """A literal digit string, each digit in either width."""
    return "".join(_digit(c) for c in literal)


_D = _digit("0-9")
_EDGE = "[^0-9０-９]"
_SEP = "[ -]"
_MONTH = f"(?:{_digits('0')}{_digit('1-9')}|{_digits('1')}{_digit('0-2')})"
_DAY = f"(?:{_digits('0')}{_digit('1-9')}|{_digit('12')}{_D}|{_digits('3')}{_digit('01')})"
# Region code, then birth date and sequence: 18 digits (19xx/20xx, check digit 0-9 or X) or the old 15.
RESIDENT_ID = (
    f"{_digit('1-8')}{_D}{{5}}(?:(?:{_digits('19')}|{_digits('20')}){_D}{{2}}{_MONTH}{_DAY}{_D}{{3}}"
    f"[0-9０-９XxＸｘ]|{_D}{{2}}{_MONTH}{_DAY}{_D}{{3}})"
)
PHONE = "|".join(
    [
        # With a country code (+ or 00): +86 138 0013 8000, +8613800138000, +1 (415) 555-0100, +44 20 7946 0958,
        # +49 30 901820, +33 1 23 45 67 89. After it: six digits in a row, or two groups of three, or five groups.
        (
            f"(?:[+＋]|{_digits('00')}){_digit('1-9')}{_D}{{0,2}}{_SEP}?"
            rf"(?:(?:\({_D}{{1,4}}\){_SEP}?)?(?:(?:{_D}{{1,5}}{_SEP}){{1,3}})?(?:{_D}{{6,12}}|{_D}{{3,6}}{_SEP}{_D}{{3,8}})"
            f"|(?:{_D}{{1,5}}{_SEP}){{3,5}}{_D}{{2,4}})"
        ),
        # CN mobile: 13800138000, 138 0013 8000, 138-0013-8000, 8613800138000.
        f"(?:{_digits('86')}{_SEP}?)?{_digits('1')}{_digit('3-9')}{_D}{_SEP}?{_D}{{4}}{_SEP}?{_D}{{4}}",
        # CN 400/800 hotlines: 400-820-8820, 8008208820.
        f"{_digit('48')}{_digits('00')}{_SEP}?{_D}{{3}}{_SEP}?{_D}{{4}}",
        # CN landline with area code: 010-12345678, (021) 6234 5678, 0755-1234567, 02162345678.
        (
            rf"(?:\({_digits('0')}{_digit('1-9')}{_D}{{1,2}}\)|{_digits('0')}{_digit('1-9')}{_D}{{1,2}})"
            f"{_SEP}?{_D}{{3,4}}{_SEP}?{_D}{{4}}"
        ),
        # National forms with a trunk 0: UK 07700 900123, 01632 960123, 0113 496 0000; German 030 901820,
        # 089/12345678. (French pairs, 06 12 34 56 78, and Indian 98765 43210 were left out: they are also how
        # size runs, 06 08 10 12 14, and ranges, 60000-70000 BTU, are written in product descriptions.)
        f"{_digits('0')}{_D}{{4}}{_SEP}?{_D}{{6}}|{_digits('0')}{_D}{{3}}{_SEP}{_D}{{3}}{_SEP}{_D}{{4}}",
        f"{_digits('0')}{_digit('1-9')}{_D}{{1,3}}[ /]{_D}{{5,8}}",
        # North American without country code: (415) 555-0100, 415-555-0100, 415.555.0100.
        rf"(?:\({_digit('2-9')}{_D}{{2}}\){_SEP}?|{_digit('2-9')}{_D}{{2}}[ .-]){_D}{{3}}[ .-]{_D}{{4}}",
    ]
)
# Lengths bounded as in RFC 5321, which also keeps Python's backtracking linear on long runs without an @.
EMAIL = r"[A-Za-z0-9._%+-]{1,64}[@＠][A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}"


def _standalone(number: str) -> str:
    """``number`` (and any run of them one character apart) not touching another digit nor after "1." or "1,"."""
    start = f"(^[.,]?|[^0-9０-９.,]|{_EDGE}[.,])"
    return f"{start}(?:{number})(?:{_EDGE}(?:{number}))*({_EDGE}|$)"


# Applied in this order: an e-mail's digits (13800138000@qq.com) are part of the e-mail, not a phone. Each mask has
# a cheap gate: every number mask needs three digits in a row or a plus sign, and most product names have neither.
_AT_SIGNS = ("@", "＠")
_EMAIL_MASK = "[email]"
_NUMBER_GATE = "[0-9０-９]{3}|[+＋]"
_NUMBER_MASKS = ((_standalone(RESIDENT_ID), r"\1[id]\2"), (_standalone(PHONE), r"\1[phone]\2"))
_EMAIL_RE = re.compile(EMAIL)
_NUMBER_GATE_RE = re.compile(_NUMBER_GATE)
_NUMBER_RES = [(re.compile(pattern), mask) for pattern, mask in _NUMBER_MASKS]
# Fields of a line that cannot be split that are kept as they are: dates and times cannot hold a customer id.
_DATE_OR_TIME = re.compile(
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{4}年\d{1,2}月\d{1,2}日)"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?",
    re.ASCII,
)


def load_secret(store_path: str, create: bool = True) -> bytes | None:
    """The store's secret: ``$SUPPLYFIT_SECRET``, else ``<store>.secret`` (created when ``create``)."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return hashlib.sha256(env.encode()).digest()
    if store_path in ("", ":memory:"):
        return os.urandom(32) if create else None
    key_file = Path(store_path + ".secret")
    if key_file.exists():
        text = key_file.read_text().strip()
        if not re.fullmatch(r"[0-9a-fA-F]{64}", text):  # an empty key would be a hash anyone can recompute
            raise RuntimeError(
                f"{key_file} is damaged ({len(text)} characters, not the 64 hex digits of a key): restore it from "
                "a backup; if no load has stored personal data yet, delete it and a new key is made"
            )
        return bytes.fromhex(text)
    if not create:
        return None
    secret = os.urandom(32)
    # Written whole to a file of its own, then linked to its name (which fails if another process got there
    # first): a crash leaves no key file, never an empty or half-written one.
    fd, tmp = tempfile.mkstemp(prefix=key_file.name + ".", dir=key_file.parent)
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp's mode is 600
            f.write(secret.hex())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            return load_secret(store_path, create)
        except OSError:  # a file system without hard links: a rename is as whole, if not exclusive
            os.replace(tmp, key_file)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return secret


def fingerprint(secret: bytes) -> str:
    """A public fingerprint of the secret, kept in the store to catch a wrong or lost secret."""
    return hashlib.sha256(b"supplyfit-fingerprint:" + secret).hexdigest()[:16]


# a whole number written as a float: 13085.0 is how a numeric id column with a gap comes out of pandas (a CSV it
# wrote, a JSON float); a typed float column is read as the integer too, so an id is the same customer whichever way
# it was exported. A store pseudonymised before this rule keeps the exact text (``whole=False``, meta ``pii_ids``):
# its stored pseudonyms cannot be recomputed (the raw ids are gone), and new loads must join them.
WHOLE_NUMBER = r"^(-?[0-9]+)\.0+$"


def id_text(raw: str) -> str:
    """An identifier as it is pseudonymised: 13085.0 as 13085 (see WHOLE_NUMBER)."""
    return re.sub(WHOLE_NUMBER, r"\1", raw)


def pseudonym(secret: bytes, tenant: str, raw: str, whole: bool = True) -> str:
    """The pseudonym of one raw identifier (what ingest computes in SQL); ``whole``: the store's id rule."""
    raw = id_text(raw) if whole else raw
    digest = hmac.new(secret, f"{tenant}\x1f{raw}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keyed pads, so that SQL can compute the same pseudonym as :func:`pseudonym`."""
    key = secret.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym_sql(value_sql: str, tenant_sql: str, pads_table: str = "_pii_key") -> str:
    """SQL for :func:`pseudonym` of a VARCHAR expression (NULL stays NULL); pads (and the store's id rule) come
    from a one-row table."""
    whole = f"regexp_replace({value_sql}, '{WHOLE_NUMBER}', '\\1')"  # id_text
    value = f"CASE WHEN (SELECT whole FROM {pads_table}) THEN {whole} ELSE {value_sql} END"
    inner = f"unhex(sha256((SELECT ipad FROM {pads_table}) || encode({tenant_sql} || chr(31) || ({value}))))"
    return (
        f"CASE WHEN ({value_sql}) IS NULL THEN NULL ELSE "
        f"'{PSEUDONYM_PREFIX}' || left(sha256((SELECT opad FROM {pads_table}) || {inner}), {PSEUDONYM_HEX}) END"
    )


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scrub_sql(text_sql: str) -> str:
    """SQL that masks e-mails, resident ID numbers and phone numbers in a VARCHAR expression (same as :func:`scrub`)."""
    has_at = " OR ".join(f"contains({text_sql}, {_sql_str(at)})" for at in _AT_SIGNS)
    mailed = (
        f"CASE WHEN {has_at} THEN regexp_replace({text_sql}, {_sql_str(EMAIL)}, {_sql_str(_EMAIL_MASK)}, 'g') "
        f"ELSE {text_sql} END"
    )
    masked = mailed
    for pattern, mask in _NUMBER_MASKS:
        masked = f"regexp_replace({masked}, {_sql_str(pattern)}, {_sql_str(mask)}, 'g')"
    return f"CASE WHEN regexp_matches({text_sql}, {_sql_str(_NUMBER_GATE)}) THEN {masked} ELSE {mailed} END"


def scrub(text: str) -> str:
    """Python twin of :func:`scrub_sql`, for text that never passes through SQL."""
    if any(at in text for at in _AT_SIGNS):
        text = _EMAIL_RE.sub(_EMAIL_MASK, text)
    if _NUMBER_GATE_RE.search(text):
        for pattern, mask in _NUMBER_RES:
            text = pattern.sub(mask, text)
    return text


def is_personal_header(name: str) -> bool:
    """Whether a source column's header says it holds personal data (see the header word lists above)."""
    name = str(name)
    words = set(_WORD.findall(_CAMEL.sub(" ", name).lower()))
    person = bool(words & _PERSON_WORDS) or any(w in name for w in _PERSON_ZH)
    attribute = bool(words & _ATTRIBUTE_WORDS) or any(w in name for w in _ATTRIBUTE_ZH)
    business = bool(words & _BUSINESS_WORDS) or any(w in name for w in _BUSINESS_ZH)
    return (person and attribute) or ((person or attribute) and not business)


def _split_line(line: str, delimiter: str) -> list[str] | None:
    """The fields of one CSV record, or None when the text is not exactly one well-quoted record."""
    if line.count('"') % 2:
        return None
    try:
        records = list(csv.reader(io.StringIO(line, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return records[0] if len(records) == 1 else None


def protect_line(
    line: str,
    delimiter: str,
    personal: list[int],
    secret: bytes,
    tenant: str,
    expected_fields: int | None = None,
    whole: bool = True,
) -> str:
    """A CSV line that could not be loaded, with nothing personal left raw.

    Fields at the ``personal`` positions are pseudonymised (as at ingest, so they still join) and every other
    field is scrubbed. A line with k fields more or fewer than ``expected_fields`` may have its customer id shifted
    by up to k places, so every field within k of a personal position is pseudonymised. A line that does not split
    (unbalanced or stray quotes) has each delimited piece pseudonymised unless it is empty or a date/time.
    """
    fields = _split_line(line, delimiter)
    if fields is None:
        return _protect_pieces(line, delimiter, secret, tenant, whole)
    shift = 0 if expected_fields is None else abs(len(fields) - expected_fields)
    hidden = {i for p in personal for i in range(p - shift, p + shift + 1)}
    out = [
        pseudonym(secret, tenant, f.strip(), whole) if i in hidden and f.strip() else scrub(f)
        for i, f in enumerate(fields)
    ]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(out)
    return buf.getvalue()


def _protect_pieces(line: str, delimiter: str, secret: bytes, tenant: str, whole: bool) -> str:
    """``line`` cut at delimiters and line breaks, quotes ignored; every piece but dates and times pseudonymised."""
    pieces = re.split(f"({re.escape(delimiter)}|\r\n|\r|\n)", line)
    out = []
    for i, piece in enumerate(pieces):
        value = piece.strip().strip('"').strip()
        keep = i % 2 or not value or _DATE_OR_TIME.fullmatch(value)
        out.append(piece if keep else pseudonym(secret, tenant, value, whole))
    return "".join(out)


def protect_raw_json(raw: str, personal_keys: set[str], secret: bytes, tenant: str, whole: bool = True) -> str:
    """A quarantined row (JSON object) with personal keys pseudonymised and text scrubbed."""
    try:
        row = json.loads(raw)
    except (TypeError, ValueError):
        return scrub(raw or "")
    if not isinstance(row, dict):
        return scrub(raw)
    out = {
        k: (
            pseudonym(secret, tenant, str(v), whole)
            if k in personal_keys and v not in (None, "")
            else scrub(v)
            if isinstance(v, str)
            else v
        )
        for k, v in row.items()
    }
    return json.dumps(out, ensure_ascii=False)
