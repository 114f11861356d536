"""Numbers and dates written as text: the convention of each column decided from all its values, never guessed.

"2,5" is 2.5 in a file that writes decimals with a comma and a malformed 25 in one that groups thousands with it;
"12/01/2024" is 12 January or 1 December. A column's convention is read off every value that only one
convention can parse. When none decides it, another column of the same file may (a file has one locale), else the
load fails naming the column and the option that settles it (CLI ``--decimal``, ``--date-format``; API and
dashboard ``decimal``, ``date_format``). Decisions run as SQL aggregates over the staged rows, so the whole column
counts, not a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .errors import IngestError
from .sql import one

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
_TIMES = ["", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M", "T%H:%M:%S"]
_YEAR_FIRST = ["%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d"]
# Two-digit years first: "%Y" also reads "10" (as the year 10), "%y" reads no four-digit year.
DATE_FORMATS = {
    DAY_FIRST: [d + t for y in ("%y", "%Y") for d in (f"%d/%m/{y}", f"%d.%m.{y}", f"%d-%m-{y}") for t in _TIMES],
    MONTH_FIRST: [d + t for y in ("%y", "%Y") for d in (f"%m/%d/{y}", f"%m-%d-{y}") for t in _TIMES],
}
YEAR_FIRST = [d + t for d in _YEAR_FIRST for t in _TIMES] + ["%Y年%m月%d日 %H时%M分", "%Y年%m月%d日%H:%M"]
LABELS = {".": "a decimal point", ",": "a decimal comma", DAY_FIRST: DAY_FIRST, MONTH_FIRST: MONTH_FIRST}
# A time followed by its offset from UTC: 10:00Z, 10:00:00+08:00, 10:00:00.5 -0530, 10:00 +08 (PostgreSQL), 10:00 UTC
_ZONED = r"(?i)^(.*[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)\s*(Z|UTC|GMT|[+-][0-9]{2}(:?[0-9]{2})?)$"
_YEAR_FIRST_TEXT = r"^\s*[0-9]{4}([^0-9]|[0-9]{4}([^0-9]|$))"  # 2010-12-01, 2010年, 20101201; not 10-12-01
# Written-out missing values, as exports write a missing id, number or date; NA and None only where a field is no
# name (NA is Namibia's region code, None a possible description): see store.ingest and scale.sensing
MISSING_MARKERS = ("", "n/a", "nan", "null", "na", "none")
MARKERS_IN_NAMES = ("", "n/a", "nan", "null")
PLAUSIBLE_YEARS = (1900, 2199)  # a parsed year outside these is a misread (a two-digit year read as the year 12)

# A number's text after trimming currency marks. Dot style: 1,234.5 / 1 234.5 / 1234.5; comma style: 1.234,5 / ...
_SIGN = r"^[+-]?"
_DOT = (
    _SIGN
    + r"([0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|\.[0-9]+"
    + r"|[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?|[0-9]{1,3}( [0-9]{3})+(\.[0-9]*)?)$"
)
_COMMA = _SIGN + r"([0-9]+(,[0-9]*)?|,[0-9]+|[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?|[0-9]{1,3}( [0-9]{3})+(,[0-9]*)?)$"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def clean_number_sql(text_sql: str) -> str:
    """Text without currency marks, with non-breaking and thin spaces as plain spaces."""
    return (
        f"trim(regexp_replace(regexp_replace({text_sql}, '[\\x{{a0}}\\x{{202f}}\\x{{2009}}]', ' ', 'g'), "
        "'^\\s*(RMB|CNY|USD|EUR|GBP)?\\s*[¥￥$£€]?\\s*|\\s*[¥￥$£€元]\\s*$', '', 'g'))"
    )


def number_sql(text_sql: str, decimal: str) -> str:
    """SQL parsing cleaned text in one style; NULL when the text is not a number in that style."""
    c = clean_number_sql(text_sql)
    if decimal == ",":
        return (
            f"CASE WHEN regexp_matches({c}, {_lit(_COMMA)}) THEN TRY_CAST(replace(replace(replace({c}, '.', ''), "
            f"' ', ''), ',', '.') AS DOUBLE) END"
        )
    return (
        f"CASE WHEN regexp_matches({c}, {_lit(_DOT)}) THEN TRY_CAST(replace(replace({c}, ',', ''), ' ', '') "
        "AS DOUBLE) END"
    )


@dataclass
class Evidence:
    """What a column's values say about a convention: counts of values only one side reads, and an example."""

    column: str
    first: int  # values only the first convention reads ('.' decimals, day-first)
    second: int  # values only the second reads
    ambiguous: int  # values both read, differently
    examples: tuple[str | None, str | None, str | None]

    def decided(self, first: str, second: str) -> str | None:
        if self.first and self.second:
            raise IngestError(
                "",
                f"mixes conventions: {self.examples[0]!r} reads only with {LABELS[first]}, "
                f"{self.examples[1]!r} only with {LABELS[second]}",
                column=self.column,
            )
        return first if self.first else second if self.second else None


def _evidence(con: duckdb.DuckDBPyConnection, column: str, a: str, b: str, values: str) -> Evidence:
    """Counts of values only ``a`` reads, only ``b`` reads, and both read differently (with an example each), over
    ``values`` (a query yielding ``v``); ``a`` and ``b`` are SQL of ``v``."""
    row = one(
        con,
        f"""
        SELECT count(*) FILTER (a IS NOT NULL AND b IS NULL), count(*) FILTER (b IS NOT NULL AND a IS NULL),
               count(*) FILTER (a <> b), any_value(v) FILTER (a IS NOT NULL AND b IS NULL),
               any_value(v) FILTER (b IS NOT NULL AND a IS NULL), any_value(v) FILTER (a <> b)
        FROM (SELECT v, {a} AS a, {b} AS b FROM ({values}))
    """,
    )
    return Evidence(column, row[0], row[1], row[2], (row[3], row[4], row[5]))


def number_evidence(con: duckdb.DuckDBPyConnection, column: str, text_sql: str, table: str = "_src") -> Evidence:
    values = f"SELECT v FROM (SELECT {text_sql} AS v FROM {table}) WHERE v IS NOT NULL"
    return _evidence(con, column, number_sql("v", "."), number_sql("v", ","), values)


def _year_first_sql(text_sql: str) -> str:
    """SQL parsing ISO and year-first texts (those that begin with a four-digit year), else NULL."""
    formats = "[" + ", ".join(_lit(f) for f in YEAR_FIRST) + "]"
    return (
        f"CASE WHEN regexp_matches({text_sql}, {_lit(_YEAR_FIRST_TEXT)}) "
        f"THEN coalesce(TRY_CAST({text_sql} AS TIMESTAMP), try_strptime({text_sql}, {formats})) END"
    )


def _local_sql(text_sql: str, order: str | None) -> str:
    """SQL parsing a date-time text without an offset: year-first forms, then the column's day/month order."""
    if order and order not in DATE_FORMATS:  # an explicit strftime format comes first (%Y%d%m is year-first too)
        return f"coalesce(try_strptime({text_sql}, {_lit(order)}), {_year_first_sql(text_sql)})"
    formats = DATE_FORMATS.get(order or "", [])
    parsed = _year_first_sql(text_sql)
    if formats:
        parsed = f"coalesce({parsed}, try_strptime({text_sql}, [{', '.join(_lit(f) for f in formats)}]))"
    return parsed


def implausible_sql(ts_sql: str) -> str:
    """SQL that is true for a parsed time outside PLAUSIBLE_YEARS (quarantined, not stored as the year 12)."""
    lo, hi = PLAUSIBLE_YEARS
    return f"(year({ts_sql}) NOT BETWEEN {lo} AND {hi})"


def date_sql(text_sql: str, order: str | None, tz: str) -> str:
    """SQL parsing a date-time text (see :func:`_local_sql`) into a TIMESTAMP in ``tz``; a value with an offset
    (``+08:00``, ``+08``, ``Z``, ``UTC``) converted to ``tz``, one without taken as already in ``tz``."""
    zoned = f"regexp_matches({text_sql}, {_lit(_ZONED)})"
    local = _local_sql(f"regexp_extract({text_sql}, {_lit(_ZONED)}, 1)", order)
    offset = f"regexp_extract({text_sql}, {_lit(_ZONED)}, 4)"
    digits = f"replace(ltrim({offset}, '+-'), ':', '')"  # 08, 0800 (from +08, +0800, +08:00)
    hours, mins = (
        f"CAST(left({digits}, 2) AS INTEGER)",
        f"coalesce(TRY_CAST(nullif(substr({digits}, 3), '') AS INTEGER), 0)",
    )
    minutes = (
        f"CASE WHEN upper({offset}) IN ('Z', 'UTC', 'GMT') THEN 0 ELSE "
        f"(CASE WHEN starts_with({offset}, '-') THEN -1 ELSE 1 END) * ({hours} * 60 + {mins}) END"
    )
    utc = f"timezone('UTC', {local} - to_minutes(CAST({minutes} AS BIGINT)))"
    return f"CASE WHEN {zoned} THEN timezone({_lit(tz)}, {utc}) ELSE {_local_sql(text_sql, order)} END"


def date_evidence(con: duckdb.DuckDBPyConnection, column: str, text_sql: str, table: str = "_src") -> Evidence:
    year_first = _year_first_sql("v")
    dmy = f"try_strptime(v, [{', '.join(_lit(f) for f in DATE_FORMATS[DAY_FIRST])}])"
    mdy = f"try_strptime(v, [{', '.join(_lit(f) for f in DATE_FORMATS[MONTH_FIRST])}])"
    body = f"CASE WHEN regexp_matches(t, {_lit(_ZONED)}) THEN regexp_extract(t, {_lit(_ZONED)}, 1) ELSE t END"
    texts = f"SELECT {body} AS v FROM (SELECT {text_sql} AS t FROM {table})"  # an offset tells nothing of the order
    values = f"SELECT v FROM ({texts}) WHERE v IS NOT NULL AND {year_first} IS NULL"
    return _evidence(con, column, dmy, mdy, values)


def settle(evidence: list[Evidence], first: str, second: str, choices: str) -> tuple[dict[str, str], str]:
    """Each column's convention, and a note of columns settled by the file's other columns.

    A column its own values decide keeps that; an undecided column with ambiguous values takes the one
    convention the decided columns agree on, else IngestError naming it and the ``choices`` that settle it.
    """
    decided = {e.column: d for e in evidence if (d := e.decided(first, second))}
    file_wide = set(decided.values())
    notes = []
    for e in evidence:
        if e.column in decided or not e.ambiguous:
            continue
        if len(file_wide) != 1:
            raise IngestError(
                "",
                f"ambiguous: {e.examples[2]!r} reads with {LABELS[first]} and with "
                f"{LABELS[second]}, and no value in the file tells which. Say which ({choices})",
                column=e.column,
            )
        decided[e.column] = next(iter(file_wide))
        notes.append(f"{e.column}: {decided[e.column]} as in {', '.join(c for c in decided if c != e.column)}")
    return decided, "; ".join(notes)
