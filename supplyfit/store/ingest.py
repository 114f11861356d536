"""Atomic, idempotent loads of order and review files into the store.

A file streams in bounded batches into a temporary staging table (outside any transaction and any write lock);
each text column's number and date conventions are decided from all its values (:mod:`.parsing`). Then one short
transaction validates every row in SQL, quarantines bad rows with a reason, counts rows already stored (by natural
key) as duplicates, inserts the rest tagged with the load id, and marks the load ok. Invariant, per load:
rows read = stored + quarantined + duplicates. A process killed at any instant leaves the data as it was: the next
open undoes every row of a load not marked ok (:meth:`.Store.recover`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from . import catalog, parsing
from .db import STORE_MEMORY, Store
from .dimensions import refresh_dimensions
from .encoding import canonical
from .errors import IngestError
from .mapping import FIELDS, PRESET_OPTIONS, Mapping, resolve
from .privacy import is_personal_header, protect_line, pseudonym_sql, scrub, scrub_sql
from .quarantine import quarantine_new
from .readers import Source, content_hash, read_source
from .sql import scalar

NUMBER_FIELDS = ("quantity", "unit_price", "rating")
# DuckDB's memory during a load (it spills beyond it): 5M lines peaked at 2.5 GB RSS with DuckDB's default (80% of
# RAM) and 1.4 GB with 1 GB, at ~1.4x the time. Set $SUPPLYFIT_LOAD_MEMORY to trade memory for speed.
LOAD_MEMORY = os.environ.get("SUPPLYFIT_LOAD_MEMORY", "1GB")
DATE_FIELDS = ("ts", "start", "end")
POSITIVE_LABELS = ("1", "1.0", "pos", "positive", "true", "yes", "正面", "好评", "积极")
NEGATIVE_LABELS = ("0", "0.0", "neg", "negative", "false", "no", "负面", "差评", "消极")

Progress = Callable[[str], None]


@dataclass
class LoadReport:
    """What one load did. ``rows_read == stored + quarantined + duplicates`` always holds."""

    load_id: int
    file: str
    kind: str
    rows_read: int
    stored: int
    quarantined: int
    duplicates: int
    status: str
    mapping: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    encoding: str | None = None
    note: str | None = None
    personal: list[str] = field(default_factory=list)  # source columns stored only as pseudonyms

    def as_dict(self) -> dict:
        return self.__dict__.copy()


# A list lookup, not `x IN (...)`: DuckDB turns an IN of 5 or more constants into a join, and this test is inlined
# dozens of times per load (a 7-line load took 5 s, a 1M-line one 2.6x as long)
_MISSING = "[" + ", ".join(f"'{m}'" for m in parsing.MISSING_MARKERS) + "]"
_MISSING_IN_NAMES = "[" + ", ".join(f"'{m}'" for m in parsing.MARKERS_IN_NAMES) + "]"
LITERAL_FIELDS = frozenset({"description", "region", "name"})


def _is_text_type(t: pa.DataType) -> bool:
    """Strings, including dictionary-encoded ones (a pandas category column written to Parquet)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Staging:
    """Builds the SQL that turns source columns into typed store fields plus a rejection reason."""

    def __init__(self, store: Store, schema: pa.Schema, mapping: Mapping, tz: str):
        self.store, self.mapping, self.tz = store, mapping, tz
        self.types = {f.name: f.type for f in schema}
        self.lookups: dict[str, tuple[str, list[str]]] = {}  # lookup table -> (raw expression joined on, columns)
        self.decimal: dict[str, str] = {}  # field -> '.' or ',' (text columns), decided by decide()
        self.date_order: dict[str, str | None] = {}  # field -> day-first, month-first, a format, or None
        self.notes: list[str] = []
        self.pseudonymised: set[str] = set()  # personal columns mapped to a field other than customer_id

    def is_text(self, fld: str) -> bool:
        col = self.mapping.columns.get(fld)
        return col is not None and _is_text_type(self.types[col])

    def decide(self, decimal: str | None, date_format: str | None) -> None:
        """Each text number and date column's convention, from all staged values (see :mod:`.parsing`)."""
        numbers = [f for f in NUMBER_FIELDS if self.is_text(f)]
        if decimal:
            self.decimal = dict.fromkeys(numbers, decimal)
        else:
            found = [parsing.number_evidence(self.store.con, f, self.raw(f)) for f in numbers]
            choices = "CLI: --decimal . or --decimal ,; API/dashboard: decimal field"
            decided, note = parsing.settle(found, ".", ",", choices)
            self.decimal = {f: decided.get(f, ".") for f in numbers}
            self.notes += [f"decimal {note}"] if note else []
        dates = [f for f in DATE_FIELDS if self.is_text(f)]
        if date_format:
            self.date_order = dict.fromkeys(dates, date_format)
            return
        found = [parsing.date_evidence(self.store.con, f, self.raw(f)) for f in dates]
        decided, note = parsing.settle(
            found,
            parsing.DAY_FIRST,
            parsing.MONTH_FIRST,
            "CLI: --date-format day-first, month-first or a format such as %d/%m/%Y; API/dashboard: date_format field",
        )
        self.date_order = {f: decided.get(f) for f in dates}
        self.notes += [f"dates {note}"] if note else []

    def lookup(self, fld: str, **exprs: str) -> dict[str, str]:
        """Expressions of ``v`` computed once per distinct value of the field, in a lookup joined onto the rows.

        Orders repeat a few thousand customers, SKUs and descriptions over millions of lines: hashing, masking and
        matching each distinct value once, then joining, made a 5M-line load's validation several times faster
        than doing it per row. Returns {name: column of the joined lookup}."""
        table, raw = f"_lk_{fld}", self.raw(fld)
        cols = ", ".join(f"{sql} AS {table}_{name}" for name, sql in exprs.items())
        self.store.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT v AS {table}_v, {cols} "
            f"FROM (SELECT DISTINCT {raw} AS v FROM _src) WHERE v IS NOT NULL"
        )
        self.lookups[table] = (raw, [f"{table}_v", *(f"{table}_{n}" for n in exprs)])
        return {name: f"{table}_{name}" for name in exprs}

    def personal(self, fld: str) -> str:
        """The field as its keyed pseudonym; the raw value never leaves the database."""
        return self.lookup(fld, p=pseudonym_sql("v", _lit(self.store.tenant)))["p"]

    def joins(self) -> str:
        """The lookups' joins onto ``_src``."""
        return " ".join(f"LEFT JOIN {t} ON {t}_v = {raw}" for t, (raw, _) in self.lookups.items())

    def lookup_columns(self) -> list[str]:
        """The lookups' own columns, not kept in the staged rows."""
        return [c for _, cols in self.lookups.values() for c in cols]

    def raw(self, fld: str) -> str:
        """The field as trimmed text (NULL when blank, a missing-value marker or unmapped); a personal column's as
        its pseudonym."""
        col = self.mapping.columns.get(fld)
        if col is None:
            return "NULL::VARCHAR"
        text = self._text(col, markers=fld not in LITERAL_FIELDS)
        return pseudonym_sql(text, _lit(self.store.tenant)) if col in self.pseudonymised else text

    def _text(self, col: str, markers: bool = True) -> str:
        """A source column as trimmed text, NULL when blank or a written-out missing value (N/A, NULL, NaN, and
        with ``markers`` NA and None too)."""
        t = self.types[col]
        if pa.types.is_floating(t):  # ids stored as floats (13085.0) read back as 13085; NaN is a blank cell
            return (
                f"CASE WHEN isnan({_q(col)}) THEN NULL WHEN {_q(col)} = floor({_q(col)}) AND abs({_q(col)}) < 1e15 "
                f"THEN CAST(CAST({_q(col)} AS BIGINT) AS VARCHAR) ELSE CAST({_q(col)} AS VARCHAR) END"
            )
        blank, cell = _MISSING if markers else _MISSING_IN_NAMES, f"trim({_q(col)}::VARCHAR)"
        return f"CASE WHEN list_contains({blank}, lower({cell})) THEN NULL ELSE {cell} END"

    def present(self, fld: str) -> str:
        """SQL that is true when the source cell of ``fld`` is not blank (cheap on typed columns)."""
        col = self.mapping.columns.get(fld)
        if col is None:
            return "false"
        if self.is_text(fld):
            return f"({self.raw(fld)} IS NOT NULL)"
        if pa.types.is_floating(self.types[col]):  # NaN is a blank cell of a float column
            return f"({_q(col)} IS NOT NULL AND NOT isnan({_q(col)}))"
        return f"({_q(col)} IS NOT NULL)"

    def number(self, fld: str) -> str:
        col = self.mapping.columns.get(fld)
        if col is None:
            return "NULL::DOUBLE"
        t = self.types[col]
        if pa.types.is_float32(t) or pa.types.is_float16(t):  # 2.55 as a float32 is 2.5499999523 as a double:
            return f"CAST(CAST({_q(col)} AS VARCHAR) AS DOUBLE)"  # its shortest text is the value that was meant
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            return f"CAST({_q(col)} AS DOUBLE)"
        return parsing.number_sql(self.raw(fld), self.decimal.get(fld, "."))

    def timestamp(self, fld: str) -> str:
        """The field as a TIMESTAMP in the tenant's time zone (values with an offset are converted)."""
        col = self.mapping.columns.get(fld)
        if col is None:
            return "NULL::TIMESTAMP"
        t = self.types[col]
        if pa.types.is_timestamp(t) and t.tz is not None:
            return f"timezone({_lit(self.tz)}, {_q(col)})"
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return f"CAST({_q(col)} AS TIMESTAMP)"
        # once per distinct text (an order's lines share their time): the parse runs a few regexes per value
        return self.lookup(fld, t=parsing.date_sql("v", self.date_order.get(fld), self.tz))["t"]


def _quarantined_cell(s: _Staging, col: str, personal: bool) -> str:
    """A source cell as kept in quarantine: personal columns as pseudonyms, free text scrubbed."""
    t = s.types[col]
    if personal:
        cell = f"nullif(trim(_src.{_q(col)}::VARCHAR), '')"
        return pseudonym_sql(cell, _lit(s.store.tenant))
    if _is_text_type(t):
        return scrub_sql(f"_src.{_q(col)}::VARCHAR")
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):  # a phone number in a number
        cell = f"_src.{_q(col)}"  # column is masked as in text (a pandas id column with a gap is a float one)
        small = f"{cell} BETWEEN -999999 AND 999999"  # no abs(): the smallest BIGINT has no absolute value
        return f"CASE WHEN {small} THEN {cell}::VARCHAR ELSE {scrub_sql(f'{cell}::VARCHAR')} END"
    return f"_src.{_q(col)}"


def _orders_select(s: _Staging, options: dict[str, str]) -> tuple[str, str, str]:
    """SELECT list of typed order fields, the rejection reason, and derived columns."""
    prefix = options.get("return_prefix")
    is_return = "quantity < 0" + (f" OR starts_with(order_id, {_lit(prefix)})" if prefix else "")
    text = s.lookup(
        "description",
        masked=scrub_sql("v"),
        non_product=f"regexp_matches(v, {_lit(catalog.NON_PRODUCT_TEXT.pattern)}, 'i')",
    )
    code = s.lookup("sku", non_product=f"regexp_matches(v, {_lit(catalog.NON_PRODUCT_SKU.pattern)}, 'i')")
    cols = f"""
        {s.raw("order_id")} AS order_id, {s.raw("sku")} AS sku, {text["masked"]} AS description,
        {s.number("quantity")} AS quantity, {s.number("unit_price")} AS unit_price, {s.timestamp("ts")} AS ts,
        {s.personal("customer_id")} AS customer_id, {s.raw("region")} AS region, {s.raw("channel")} AS channel,
        {s.raw("category")} AS category, {s.raw("merchant")} AS merchant"""
    said = {f: scrub_sql(s.raw(f)) for f in ("ts", "quantity", "unit_price")}  # a cell as a reason quotes it
    reason = f"""concat_ws('; ',
        CASE WHEN order_id IS NULL THEN 'missing order_id' END,
        CASE WHEN sku IS NULL THEN 'missing sku' END,
        CASE WHEN ts IS NULL THEN CASE WHEN {s.present("ts")} THEN 'unparsable ts: ' || {said["ts"]}
                                       ELSE 'missing ts' END
             WHEN {parsing.implausible_sql("ts")} THEN 'implausible ts (year ' || year(ts) || '): ' || {said["ts"]} END,
        CASE WHEN quantity IS NULL OR NOT isfinite(quantity)
                  THEN CASE WHEN {s.present("quantity")} THEN 'quantity is not a number: ' || {said["quantity"]}
                            ELSE 'missing quantity' END
             WHEN quantity = 0 THEN 'zero quantity' END,
        CASE WHEN unit_price IS NULL OR NOT isfinite(unit_price)
                  THEN CASE WHEN {s.present("unit_price")}
                            THEN 'unit_price is not a number: ' || {said["unit_price"]}
                            ELSE 'missing unit_price' END
             WHEN unit_price = 0 THEN 'zero unit_price'
             WHEN unit_price < 0 THEN 'negative unit_price' END)"""
    derived = (
        f"({is_return}) AS is_return, "
        f"NOT (coalesce({code['non_product']}, false) OR coalesce({text['non_product']}, false)) AS is_product"
    )
    return cols, reason, derived


def _reviews_select(s: _Staging, options: dict[str, str]) -> tuple[str, str, str]:
    pos = ", ".join(_lit(v) for v in POSITIVE_LABELS)
    neg = ", ".join(_lit(v) for v in NEGATIVE_LABELS)
    cols = f"""
        {s.raw("review_id")} AS given_id, {s.raw("sku")} AS sku, {s.raw("category")} AS category,
        {scrub_sql(s.raw("text"))} AS text, lower({s.raw("label")}) AS label_raw, {s.raw("merchant")} AS merchant,
        {s.raw("rating")} AS rating_raw, {s.number("rating")} AS rating,
        {s.raw("ts")} AS ts_raw, {s.timestamp("ts")} AS ts, {s.raw("lang")} AS lang_raw"""
    ts_said = scrub_sql("ts_raw")  # a cell as a reason quotes it: no e-mail or phone number in it
    reason = f"""concat_ws('; ',
        CASE WHEN text IS NULL THEN 'missing text' END,
        CASE WHEN label_raw IS NOT NULL AND label_raw NOT IN ({pos}, {neg})
             THEN 'label is not 1/0 or positive/negative: ' || {scrub_sql("label_raw")} END,
        CASE WHEN rating_raw IS NOT NULL AND rating IS NULL THEN 'rating is not a number: ' || {scrub_sql("rating_raw")}
             WHEN rating < 0 OR rating > 5 THEN 'rating outside 0-5: ' || rating_raw END,
        CASE WHEN ts_raw IS NOT NULL AND ts IS NULL THEN 'unparsable ts: ' || {ts_said}
             WHEN {parsing.implausible_sql("ts")} THEN 'implausible ts (year ' || year(ts) || '): ' || {ts_said} END)"""
    derived = f"""
        CASE WHEN label_raw IN ({pos}) THEN 1 WHEN label_raw IN ({neg}) THEN 0
             WHEN rating >= 4 THEN 1 WHEN rating <= 2 THEN 0 END AS label,
        coalesce(lang_raw, CASE WHEN regexp_matches(text, '[\\x{{4e00}}-\\x{{9fff}}]') THEN 'zh' ELSE 'en' END)
            AS lang,
        coalesce(given_id, md5(concat_ws(chr(31), category, sku, text, ts_raw)) || '-' ||
            row_number() OVER (PARTITION BY md5(concat_ws(chr(31), category, sku, text, ts_raw)) ORDER BY _row))
            AS review_id"""
    return cols, reason, derived


EVENT_SCOPES = ("all", "category", "sku")
EVENT_KINDS = ("promotion", "closure", "launch")


def _events_select(s: _Staging, options: dict[str, str]) -> tuple[str, str, str]:
    """A tenant's calendar events: name, first and last day, scope (all, category or sku) with its target, kind."""
    scopes, kinds = ", ".join(map(_lit, EVENT_SCOPES)), ", ".join(map(_lit, EVENT_KINDS))
    cols = f"""
        {scrub_sql(s.raw("name"))} AS name, date_trunc('day', {s.timestamp("start")}) AS start,
        date_trunc('day', {s.timestamp("end")}) AS end_given, coalesce(lower({s.raw("scope")}), 'all') AS scope,
        coalesce({s.raw("target")}, '') AS target, coalesce(lower({s.raw("kind")}), 'promotion') AS kind,
        NULL::VARCHAR AS merchant"""
    said = {f: scrub_sql(s.raw(f)) for f in ("start", "end")}  # a cell as a reason quotes it
    reason = f"""concat_ws('; ',
        CASE WHEN name IS NULL THEN 'missing name' END,
        CASE WHEN start IS NULL THEN CASE WHEN {s.present("start")} THEN 'unparsable start: ' || {said["start"]}
                                               ELSE 'missing start' END
             WHEN {parsing.implausible_sql("start")} THEN 'implausible start (year ' || year(start) || ')' END,
        CASE WHEN end_given IS NULL AND {s.present("end")} THEN 'unparsable end: ' || {said["end"]}
             WHEN end_given < start THEN 'end before start'
             WHEN {parsing.implausible_sql("end_given")} THEN 'implausible end (year ' || year(end_given) || ')' END,
        CASE WHEN scope NOT IN ({scopes}) THEN 'scope is not all, category or sku: ' || {scrub_sql("scope")}
             WHEN scope <> 'all' AND target = '' THEN 'scope ' || scope || ' without a target'
             WHEN scope = 'all' AND target <> '' THEN 'scope all with a target (say category or sku): ' ||
                  {scrub_sql("target")} END,
        CASE WHEN kind NOT IN ({kinds}) THEN 'kind is not promotion, closure or launch: ' || {scrub_sql("kind")} END)"""
    return cols, reason, 'coalesce(end_given, start) AS "end"'


# kind -> (select builder, natural key, INSERT of the rows in ``_new`` into the store table)
_KINDS = {
    # line_no is the line's place in its file: it orders an order's lines without a per-order pass over the load
    # and over every stored order (two group-bys that cost a third of a 5M-line load)
    "orders": (
        _orders_select,
        ("order_id", "sku", "quantity", "unit_price"),
        """
        INSERT INTO orders
        SELECT $tenant, order_id, _row::INTEGER, sku, description, quantity, unit_price, ts, customer_id, region,
               channel, category, is_return, is_product, $load_id, _row, merchant
        FROM _new""",
    ),
    "reviews": (
        _reviews_select,
        ("review_id",),
        """
        INSERT INTO reviews
        SELECT $tenant, review_id, sku, category, text, label, rating, ts, lang, $load_id, _row, merchant
        FROM _new""",
    ),
    "events": (
        _events_select,
        ("name", "start", "scope", "target", "kind"),
        """
        INSERT INTO events
        SELECT $tenant, name, start, "end", scope, target, kind, $load_id, _row FROM _new""",
    ),
}


def _previous_load(store: Store, kind: str, digest: str) -> tuple[int, int] | None:
    return store.con.execute(
        "SELECT load_id, rows_read FROM loads WHERE tenant = ? AND kind = ? AND content_hash = ? AND status = 'ok' "
        "ORDER BY load_id LIMIT 1",
        [store.tenant, kind, digest],
    ).fetchone()


def _skipped(store: Store, load_id: int, kind: str, file: str, previous: tuple[int, int]) -> LoadReport:
    """Mark ``load_id`` as skipped: its content was stored by load ``previous``."""
    rows, note = previous[1], f"same content as load {previous[0]}; nothing to do"
    store.con.execute(
        "UPDATE loads SET status = 'skipped', rows_read = ?, stored = 0, quarantined = 0, "
        "duplicates = ?, finished = ?, note = ? WHERE load_id = ?",
        [rows, rows, _now(), note, load_id],
    )
    return LoadReport(load_id, file, kind, rows, 0, 0, rows, "skipped", note=note)


def mark_failed(store: Store, load_id: int, error: BaseException, lock: AbstractContextManager) -> None:
    """Record that load ``load_id`` failed (after its transaction was rolled back), with the error as its note."""
    with lock:
        store.con.execute(
            "UPDATE loads SET status = 'failed', finished = ?, note = ? WHERE load_id = ?",
            [_now(), scrub(f"{type(error).__name__}: {error}")[:500], load_id],  # it may quote the file's name
        )


def _new_load(store: Store, kind: str, file: str, digest: str, status: str = "running") -> int:
    # The id comes from the table, not a sequence: DuckDB does not always persist a sequence's advance
    # before a crash, and a killed load's row (kept, marked aborted) must never see its id reused.
    return scalar(
        store.con,
        "INSERT INTO loads (load_id, tenant, kind, file, content_hash, started, status) "
        "SELECT coalesce(max(load_id), 0) + 1, ?, ?, ?, ?, ?, ? FROM loads RETURNING load_id",
        [store.tenant, kind, scrub(file), digest, _now(), status],  # a file named after a person's e-mail or phone
    )


def _now() -> dt.datetime:
    return dt.datetime.now()


def _stage(store: Store, src: Source, slot: dict[str, str], say: Progress) -> pa.Schema:
    """Make ``_src``: the file's rows with source columns renamed to slots, plus ``_row``.

    Parquet is a view DuckDB scans itself, streaming (no copy); other files stream their batches into a temporary
    table, which DuckDB keeps in its buffer pool and spills to disk. Either way memory stays bounded."""
    con = store.con
    schema = pa.schema([pa.field(slot[f.name], f.type) for f in src.schema] + [pa.field("_row", pa.int64())])
    if src.parquet is not None:
        cols = ", ".join(f"{_q(n)} AS {slot[n]}" for n in src.names)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _src AS SELECT {cols}, file_row_number + 1 AS _row "
            f"FROM read_parquet({_lit(str(src.parquet))}, file_row_number = true)"
        )
        src.records = scalar(con, "SELECT count(*) FROM _src")
        return schema
    con.register("_batch", pa.table({f.name: pa.array([], f.type) for f in schema}, schema=schema))
    con.execute("CREATE OR REPLACE TEMP TABLE _src AS SELECT * FROM _batch")
    con.unregister("_batch")
    for i, (table, rows) in enumerate(src.batches, 1):
        batch = table.rename_columns([slot[n] for n in src.names]).append_column("_row", pa.array(rows))
        con.register("_batch", batch)
        con.execute("INSERT INTO _src SELECT * FROM _batch")
        con.unregister("_batch")
        say(f"reading batch {i} ({src.rows_read:,} rows)")
    return schema


def ingest(
    store: Store,
    path: str | Path,
    kind: str,
    *,
    preset: str | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    personal: list[str] | None = None,
    progress: Progress | None = None,
    decimal: str | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    name: str | None = None,
    write_lock: AbstractContextManager | None = None,
) -> LoadReport:
    """Load one file of ``kind`` ('orders' or 'reviews') into the store; see the module docstring.

    ``personal`` names further source columns holding personal data; the mapped ``customer_id`` and headers
    such as e-mail, phone, address or name are personal anyway. They are stored only as pseudonyms.
    ``decimal`` ('.' or ',') and ``date_format`` ('day-first', 'month-first' or a strftime format) settle what a
    file's values leave ambiguous; ``tz`` is the time zone stored times are in (default: the store's, UTC),
    values with an offset are converted to it. ``name`` is the file name to record (default: ``path``).
    ``write_lock`` is held only around the short transaction, not while the file is read.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}")
    if decimal not in (None, ".", ","):
        raise IngestError(str(path), f"--decimal must be '.' or ',', not {decimal!r}")
    if encoding:
        encoding = canonical(encoding, name or str(path))
    say = progress or (lambda _msg: None)
    file = name or str(path)
    zone = _check_tz(store, tz or store.timezone, file)
    say("hashing")
    digest = content_hash(path) if Path(path).is_file() else ""
    previous = _previous_load(store, kind, digest) if digest else None
    lock = write_lock or contextlib.nullcontext()
    _check_zone_kept(store, zone, file)  # fails early; checked again, and kept, in the load's transaction
    if previous:
        with lock:
            return _skipped(store, _new_load(store, kind, file, digest, status="skipped"), kind, file, previous)

    say("reading")
    src = read_source(path, encoding)
    names = src.names
    unknown = sorted(set(personal or ()) - set(names))
    if unknown:
        raise IngestError(file, f"--personal names column(s) the file does not have: {', '.join(unknown)}")
    personal_cols = {c for c in names if c in (personal or ()) or is_personal_header(c)}
    resolved = resolve(names, kind, preset, mapping, personal_cols if kind != "events" else ())
    if kind == "events":  # an event's name is not a person's
        personal_cols.discard(resolved.columns.get("name", ""))
    missing = resolved.missing_required()
    if missing:
        hints = {f: FIELDS[kind][f][1][:4] for f in missing}
        raise IngestError(
            file,
            "required column(s) not found: "
            + "; ".join(f"{f} (e.g. {', '.join(h)})" for f, h in hints.items())
            + f". Columns in the file: {', '.join(names)}. Map a column to {missing[0]} "
            + f"(CLI: --map SOURCE={missing[0]}; API/dashboard: mapping field SOURCE={missing[0]})",
            column=missing[0],
        )
    customer = resolved.columns.get("customer_id")
    protected = [c for c in names if c in personal_cols or c == customer]
    options = PRESET_OPTIONS.get(preset or "", {})
    select, key, insert_sql = _KINDS[kind]
    date_format = date_format or options.get("date_format")

    with lock:
        load_id = _new_load(store, kind, file, digest)
    con = store.con
    con.execute(f"SET memory_limit = {_lit(LOAD_MEMORY)}")
    slot = {name: f"_c{i}" for i, name in enumerate(names)}  # source headers may clash with field names
    stg = None
    in_transaction = False
    try:
        schema = _stage(store, src, slot, say)
        store.install_pseudonym_key()
        stg = _Staging(store, schema, Mapping(kind, {f: slot[c] for f, c in resolved.columns.items()}), zone)
        stg.pseudonymised = {slot[c] for c in protected if c != customer}
        say("deciding number and date formats")
        try:
            stg.decide(decimal, date_format)
        except IngestError as e:
            raise IngestError(file, str(e).split(": ", 1)[-1], column=_source_column(e.column, resolved)) from None
        # Validation writes only temporary tables: it runs before the transaction and the write lock (inside
        # a transaction DuckDB keeps them as uncommitted local storage, and storing from it took twice as long).
        say("validating")
        cols, reason, derived = select(stg, options)
        hidden = ", ".join([*slot.values(), *stg.lookup_columns()])
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _stg AS
            SELECT * EXCLUDE ({hidden}), {derived} FROM (
                SELECT *, NULLIF({reason}, '') AS reason FROM (SELECT *, {cols} FROM _src {stg.joins()}))""")
        with lock:
            again = _previous_load(store, kind, digest) if digest else None
            if again:  # the same file, loaded by another request while this one was reading it
                return _skipped(store, load_id, kind, file, again)
            con.execute("BEGIN TRANSACTION")
            in_transaction = True
            _check_zone_kept(store, zone, file)
            if zone != store.timezone:
                store.set_timezone(zone)
            say("quarantining")
            raw_cols = ", ".join(f"{_lit(c)}: {_quarantined_cell(stg, slot[c], c in protected)}" for c in names)
            quarantine_new(
                con,
                store.tenant,
                load_id,
                f"""(SELECT s._row, to_json({{{raw_cols}}})::VARCHAR AS raw, s.reason, s.merchant
                     FROM _stg s JOIN _src USING (_row) WHERE s.reason IS NOT NULL)""",
            )
            if src.malformed:
                positions = [names.index(c) for c in protected]
                rows, texts, whys = (list(part) for part in zip(*src.malformed, strict=True))
                whole = store.whole_ids  # a query: read once, not per malformed line
                raws = [
                    json.dumps(
                        {
                            "line": protect_line(
                                text,
                                src.delimiter,
                                positions,
                                store.key,
                                store.tenant,
                                expected_fields=len(names),
                                whole=whole,
                            )
                        },
                        ensure_ascii=False,
                    )
                    for text in texts
                ]
                merchants = pa.nulls(len(rows), pa.string())
                con.register("_malformed", pa.table({"_row": rows, "raw": raws, "reason": whys, "merchant": merchants}))
                quarantine_new(con, store.tenant, load_id, "_malformed", numbered=True)
                con.unregister("_malformed")
            say("storing")
            keys = ", ".join(key)
            # Not materialised: one pass less (measured 19 s -> 13-18 s storing 5M lines)
            new_rows = f"""
                WITH _new AS (
                    SELECT * FROM _stg SEMI JOIN (SELECT min(_row) AS _row FROM _stg WHERE reason IS NULL
                                                  GROUP BY {keys}) first USING (_row)
                    ANTI JOIN (SELECT {keys} FROM {kind} WHERE tenant = $tenant) t USING ({keys}))"""
            stored = scalar(con, new_rows + insert_sql, {"tenant": store.tenant, "load_id": load_id})
            if kind == "orders":
                say("refreshing products and customers")
                refresh_dimensions(con, store.tenant, load_id)
            reasons = dict(
                con.execute(
                    "SELECT reason, count(*) FROM quarantine WHERE load_id = ? GROUP BY 1 ORDER BY 2 DESC", [load_id]
                ).fetchall()
            )
            quarantined = sum(reasons.values())
            duplicates = src.rows_read - stored - quarantined
            if duplicates < 0:
                raise RuntimeError(
                    f"load accounting: {src.rows_read} read < {stored} stored + {quarantined} quarantined"
                )
            note = "; ".join([*stg.notes, *([] if src.rows_read else ["header only: no data rows"])]) or None
            con.execute(
                "UPDATE loads SET rows_read = ?, stored = ?, quarantined = ?, duplicates = ?, finished = ?, "
                "status = 'ok', note = ? WHERE load_id = ?",
                [src.rows_read, stored, quarantined, duplicates, _now(), note, load_id],
            )
            say("committing")
            con.execute("COMMIT")
            in_transaction = False
        say("committed")
    except BaseException as e:
        if in_transaction:
            con.execute("ROLLBACK")
        mark_failed(store, load_id, e, lock)
        raise
    finally:
        con.execute(f"SET memory_limit = {_lit(STORE_MEMORY)}")  # not the rounded text DuckDB reports
        con.execute("DROP VIEW IF EXISTS _src" if src.parquet else "DROP TABLE IF EXISTS _src")
        for name_ in ["_stg", *(stg.lookups if stg else [])]:
            con.execute(f"DROP TABLE IF EXISTS {name_}")
        store.drop_pseudonym_key()
    return LoadReport(
        load_id,
        file,
        kind,
        src.rows_read,
        stored,
        quarantined,
        duplicates,
        "ok",
        mapping=resolved.columns,
        reasons=reasons,
        encoding=src.encoding,
        note=note,
        personal=protected,
    )


def _source_column(fld: str | None, resolved: Mapping) -> str | None:
    """The file's own name for a store field (what the user sees in the file)."""
    return resolved.columns.get(fld or "", fld)


def _check_tz(store: Store, tz: str, file: str) -> str:
    try:
        store.con.execute("SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')", [tz]).fetchone()
    except duckdb.Error:
        raise IngestError(file, f"unknown time zone {tz!r} (e.g. UTC, Asia/Shanghai, Europe/London)") from None
    return tz


def _check_zone_kept(store: Store, tz: str, file: str) -> None:
    """IngestError when times of the tenant are stored in another zone than ``tz``: one shop's times in two zones
    would put the same hour in two places. A load in a new zone (none stored yet) makes it the tenant's, in the
    load's own transaction, so a failed load leaves the tenant's zone as it was."""
    if tz == store.timezone:
        return
    held = [
        t
        for t in ("orders", "reviews", "events")
        if scalar(store.con, f"SELECT EXISTS (SELECT 1 FROM {t} WHERE tenant = ?)", [store.tenant])
    ]
    if held:
        raise IngestError(
            file,
            f"tenant {store.tenant!r} has its {' and '.join(held)} stored in {store.timezone}; a load in {tz} would "
            f"mix two time zones (convert the file's times, or load it as another tenant)",
        )


def ingest_orders(store: Store, path: str | Path, **kw) -> LoadReport:
    """Load an orders file (CSV/Parquet/XLSX); keyword options as for :func:`ingest`."""
    return ingest(store, path, "orders", **kw)


def ingest_reviews(store: Store, path: str | Path, **kw) -> LoadReport:
    """Load a reviews file (CSV/Parquet/XLSX); keyword options as for :func:`ingest`."""
    return ingest(store, path, "reviews", **kw)


def load_frame(store: Store, df: pd.DataFrame, kind: str, name: str, workdir: str | Path, **kw) -> LoadReport:
    """Load a DataFrame by writing it to Parquet first, so it gets the same checks, hash and idempotency."""
    out = Path(workdir) / f"{name}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out, index=False)
    return ingest(store, out, kind, **kw)
