"""A load killed with SIGKILL mid-transaction leaves the store as it was; the next run completes."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from supplyfit.store import Store, ingest_orders

# The progress callback is the test's own: it announces the stage and then hangs there until killed.
CHILD = textwrap.dedent("""
    import sys, time
    from supplyfit.store import Store, ingest_orders
    stop_at = sys.argv[3]
    def progress(stage):
        print(stage, flush=True)
        if stage == stop_at:
            time.sleep(600)
    with Store(sys.argv[1]) as st:
        ingest_orders(st, sys.argv[2], preset="uci-online-retail", progress=progress)
""")


@pytest.mark.parametrize("stop_at", ["quarantining", "storing", "refreshing products and customers"])
def test_sigkill_mid_load_then_clean_rerun(tmp_path, sample_orders, stop_at):
    db = tmp_path / "s.duckdb"
    with Store(db) as st:  # an earlier, committed load must survive the crash untouched
        ingest_orders(st, sample_orders, preset="uci-online-retail")
    import pandas as pd

    more = pd.read_parquet(sample_orders)
    more["Invoice"] = "X" + more["Invoice"]
    more.to_parquet(tmp_path / "more.parquet")
    before = _snapshot(db)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(tmp_path / "more.parquet"), stop_at],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in child.stdout:
        if line.strip() == stop_at:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _snapshot(db) == before
    with Store(db) as st:
        status = st.query("SELECT status FROM loads ORDER BY load_id").status.tolist()
        assert status == ["ok", "aborted"]
        r = ingest_orders(st, tmp_path / "more.parquet", preset="uci-online-retail")
        assert r.status == "ok" and r.rows_read == r.stored + r.quarantined + r.duplicates
        assert st.con.execute("SELECT count(*) FROM orders").fetchone()[0] == before["orders"] + r.stored


def _snapshot(db):
    with Store(db, read_only=True) as st:
        return {
            t: st.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("orders", "quarantine", "products", "customers")
        }
