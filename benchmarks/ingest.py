"""Ingest speed: supplyfit's validated, idempotent load vs a bare DuckDB copy of the same Parquet file.

    python benchmarks/ingest.py [PATH]

Both write a fresh DuckDB file; best of 3 runs each, in the same process.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb

from _common import UCI, best_of
from supplyfit.store import Store, ingest_orders


def bare_copy(path: Path, db: Path) -> int:
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_parquet('{path}')")
    n = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    con.close()
    return n


def supplyfit_load(path: Path, db: Path):
    db.unlink(missing_ok=True)
    with Store(db) as st:
        return ingest_orders(st, path, preset="uci-online-retail")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else UCI
    with tempfile.TemporaryDirectory() as tmp:
        t_bare, n = best_of(lambda: bare_copy(path, Path(tmp) / "bare.duckdb"))
        t_ours, report = best_of(lambda: supplyfit_load(path, Path(tmp) / "ours.duckdb"))
        with Store(Path(tmp) / "ours.duckdb") as st:
            t_again, again = best_of(lambda: ingest_orders(st, path, preset="uci-online-retail"))
    print(f"file: {path} ({n:,} rows)")
    print(f"{'method':<38}{'seconds':>9}{'rows/s':>12}")
    print(f"{'duckdb CREATE TABLE AS read_parquet':<38}{t_bare:>9.3f}{n / t_bare:>12,.0f}")
    print(f"{'supplyfit ingest (validate+quarantine)':<38}{t_ours:>9.3f}{n / t_ours:>12,.0f}")
    print(f"{'supplyfit re-ingest (same file)':<38}{t_again:>9.3f}{n / t_again:>12,.0f}")
    print(f"ratio supplyfit / bare copy: {t_ours / t_bare:.2f}x (target <= 3x)")
    print(f"stored {report.stored:,} + quarantined {report.quarantined:,} + duplicates {report.duplicates:,} "
          f"= {report.rows_read:,} read; re-run: {again.status}")


if __name__ == "__main__":
    main()
