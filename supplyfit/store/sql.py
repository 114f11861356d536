"""Small typed helpers: queries that always return one row (counts, settings, INSERT ... RETURNING), transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb


def one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...]:
    """The row a query that always returns one row returns."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"expected one row from: {' '.join(sql.split())[:200]}")
    return row


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The one value such a query returns."""
    return one(con, sql, params)[0]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolled back on any exception (a KeyboardInterrupt included)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


_UNITS = {"bytes": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}  # DuckDB's words for its memory limit
_UNITS |= {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit_bytes: int, restore: str) -> Iterator[None]:
    """DuckDB's memory limit lowered to ``limit_bytes`` (never raised) while the block runs, then set to
    ``restore`` (the store's own setting): queries spill to disk beyond it. Restored from the setting, not from
    what DuckDB reports (rounded to one decimal, e.g. '1.8 GiB' for 2 GB: restoring that crept the limit down)."""
    number, unit = scalar(con, "SELECT current_setting('memory_limit')").split()
    if float(number) * _UNITS[unit] <= limit_bytes:
        yield
        return
    con.execute(f"SET memory_limit = '{limit_bytes}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{restore}'")
