"""Personal data: column classes, the per-store secret, and keyed pseudonyms (HMAC-SHA256).

Customer identifiers and any source column marked personal are replaced at ingest by
``c_`` + the first 16 hex digits of HMAC-SHA256(secret, tenant + US + raw value). Analytics and
recommendations still join on them; the raw value is never stored. The secret lives outside the DuckDB
file: ``$SUPPLYFIT_SECRET`` or a key file ``<store>.secret`` (mode 600, created on first use). The store
keeps only the secret's fingerprint, so opening it with another secret fails instead of splitting customers.
Review text is scrubbed of e-mail addresses and phone numbers.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
from pathlib import Path

SECRET_ENV = "SUPPLYFIT_SECRET"
PSEUDONYM_PREFIX = "c_"
PSEUDONYM_HEX = 16

# Store columns by data class. personal: identifies a person (stored only as a pseudonym);
# business: the tenant's commercial data; public: catalogue facts anyone can see on a listing.
COLUMN_CLASSES: dict[str, dict[str, str]] = {
    "orders": {"customer_id": "personal", "order_id": "business", "line_no": "business", "quantity": "business",
               "unit_price": "business", "ts": "business", "region": "business", "channel": "business",
               "merchant": "business", "is_return": "business", "is_product": "business", "load_id": "business",
               "src_row": "business", "sku": "public", "description": "public", "category": "public"},
    "customers": {"customer_id": "personal", "region": "business", "first_order": "business",
                  "last_order": "business", "orders": "business", "revenue": "business"},
    "products": {"sku": "public", "name": "public", "category": "public", "attributes": "public",
                 "is_product": "business", "avg_price": "business", "first_sold": "business",
                 "last_sold": "business"},
    "reviews": {"review_id": "business", "sku": "public", "category": "public", "merchant": "business",
                "text": "public", "label": "business", "rating": "business", "ts": "business", "lang": "business",
                "load_id": "business", "src_row": "business"},
    "quarantine": {"raw": "business (personal columns pseudonymised)", "reason": "business",
                   "load_id": "business", "src_row": "business", "merchant": "business"},
}

# Source headers that hold personal data even when no store field takes them (they still reach quarantine).
PERSONAL_HEADER = re.compile(
    r"e-?mail|邮箱|phone|mobile|\btel\b|telephone|手机|电话|联系方式|address|地址|收货人|姓名|"
    r"(customer|buyer|user|member|recipient|contact)[ _-]?(name|id|no)|^name$|身份证|id[ _-]?card|\bip\b|昵称|nickname",
    re.IGNORECASE,
)
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE = r"\b(1[3-9][0-9]{9}|\+?[0-9]{1,3}[ -][0-9]{3,4}[ -][0-9]{3,4}[ -]?[0-9]{0,4})\b"


def load_secret(store_path: str, create: bool = True) -> bytes | None:
    """The store's secret: ``$SUPPLYFIT_SECRET``, else ``<store>.secret`` (created when ``create``)."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return hashlib.sha256(env.encode()).digest()
    if store_path in ("", ":memory:"):
        return os.urandom(32) if create else None
    key_file = Path(store_path + ".secret")
    if key_file.exists():
        return bytes.fromhex(key_file.read_text().strip())
    if not create:
        return None
    secret = os.urandom(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex())
    return secret


def fingerprint(secret: bytes) -> str:
    """A public fingerprint of the secret, kept in the store to catch a wrong or lost secret."""
    return hashlib.sha256(b"supplyfit-fingerprint:" + secret).hexdigest()[:16]


def pseudonym(secret: bytes, tenant: str, raw: str) -> str:
    """The pseudonym of one raw identifier (what ingest computes in SQL)."""
    digest = hmac.new(secret, f"{tenant}\x1f{raw}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keyed pads, so that SQL can compute the same pseudonym as :func:`pseudonym`."""
    key = secret.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym_sql(value_sql: str, tenant_sql: str, pads_table: str = "_pii_key") -> str:
    """SQL for :func:`pseudonym` of a VARCHAR expression (NULL stays NULL); pads come from a one-row table."""
    inner = f"unhex(sha256((SELECT ipad FROM {pads_table}) || encode({tenant_sql} || chr(31) || ({value_sql}))))"
    return (f"CASE WHEN ({value_sql}) IS NULL THEN NULL ELSE "
            f"'{PSEUDONYM_PREFIX}' || left(sha256((SELECT opad FROM {pads_table}) || {inner}), {PSEUDONYM_HEX}) END")


def scrub_sql(text_sql: str) -> str:
    """SQL that masks e-mail addresses and phone numbers in free text."""
    return (f"regexp_replace(regexp_replace({text_sql}, '{EMAIL}', '[email]', 'g'), '{PHONE}', '[phone]', 'g')")


def scrub(text: str) -> str:
    """Python twin of :func:`scrub_sql`, for text that never passes through SQL."""
    return re.sub(PHONE, "[phone]", re.sub(EMAIL, "[email]", text))


def is_personal_header(name: str) -> bool:
    return bool(PERSONAL_HEADER.search(str(name)))


def protect_line(line: str, delimiter: str, personal: list[int], secret: bytes, tenant: str) -> str:
    """A CSV line that could not be parsed, with its personal fields (by position) pseudonymised."""
    try:
        fields = next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return scrub(line)
    for i in personal:
        if i < len(fields) and fields[i].strip():
            fields[i] = pseudonym(secret, tenant, fields[i].strip())
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow([scrub(f) for f in fields])
    return buf.getvalue()


def protect_raw_json(raw: str, personal_keys: set[str], secret: bytes, tenant: str) -> str:
    """A quarantined row (JSON object) with personal keys pseudonymised and text scrubbed."""
    try:
        row = json.loads(raw)
    except (TypeError, ValueError):
        return scrub(raw or "")
    if not isinstance(row, dict):
        return scrub(raw)
    out = {k: (pseudonym(secret, tenant, str(v)) if k in personal_keys and v not in (None, "") else
               scrub(v) if isinstance(v, str) else v) for k, v in row.items()}
    return json.dumps(out, ensure_ascii=False)
