"""Ingest speed and memory: supplyfit's validated, idempotent load vs a bare DuckDB copy of the same Parquet file.

    python benchmarks/ingest.py [PATH]                 # the UCI file (or PATH); best of 3, in this process
    python benchmarks/ingest.py --generate 5000000     # a generated file of N lines; each method once, in its own
                                                       # process, with its peak memory (RSS) measured

The generated file repeats the UCI orders (or the bundled sample without ../shared) with invoice suffixes, so
every line is new; it is written in chunks, so 50M lines need no more memory than 5M.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
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


def generate(lines: int, out: Path) -> Path:
    """``lines`` order lines: the source file repeated, each copy's invoices suffixed."""
    from supplyfit.pipeline import sample_path

    src = pq.read_table(UCI if UCI.exists() else sample_path("sample_orders.parquet"))
    inv = src.column("Invoice").cast(pa.string())
    with pq.ParquetWriter(out, src.schema) as w:
        done, copy = 0, 0
        while done < lines:
            part = src.slice(0, min(src.num_rows, lines - done))
            suffixed = pa.compute.binary_join_element_wise(inv.slice(0, part.num_rows), f"-{copy}", "")
            w.write_table(part.set_column(part.schema.get_field_index("Invoice"), "Invoice", suffixed))
            done, copy = done + part.num_rows, copy + 1
    return out


def child(method: str, path: Path, db: Path) -> None:
    t0 = time.perf_counter()
    n = bare_copy(path, db) if method == "bare" else supplyfit_load(path, db).rows_read
    print(f"{time.perf_counter() - t0:.3f} {n}")


def measured(method: str, path: Path, db: Path) -> tuple[float, int, float]:
    """(seconds, rows, peak RSS in GiB) of one run in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(path), str(db)], capture_output=True, text=True, check=True
    ).stdout.split()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return float(out[0]), int(out[1]), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", type=Path, default=UCI)
    ap.add_argument("--generate", type=int, metavar="LINES")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], Path(a.child[1]), Path(a.child[2]))
        return
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        if a.generate:
            path = generate(a.generate, Path(tmp) / "gen.parquet")
            # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run the lighter method first
            t_bare, n, m_bare = measured("bare", path, Path(tmp) / "bare.duckdb")
            t_ours, _, m_ours = measured("ours", path, Path(tmp) / "ours.duckdb")
            print(f"generated file: {n:,} lines ({path.stat().st_size / 2**20:,.0f} MiB Parquet)")
            print(f"{'method':<38}{'seconds':>9}{'rows/s':>12}{'peak GiB':>10}")
            print(f"{'duckdb CREATE TABLE AS read_parquet':<38}{t_bare:>9.1f}{n / t_bare:>12,.0f}{m_bare:>10.2f}")
            print(f"{'supplyfit ingest':<38}{t_ours:>9.1f}{n / t_ours:>12,.0f}{max(m_ours, m_bare):>10.2f}")
            print(f"ratio supplyfit / bare copy: {t_ours / t_bare:.2f}x (target <= 3x); peak memory target <= 2 GiB")
            return
        path = a.path
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
    print(
        f"stored {report.stored:,} + quarantined {report.quarantined:,} + duplicates {report.duplicates:,} "
        f"= {report.rows_read:,} read; re-run: {again.status}"
    )


if __name__ == "__main__":
    main()
