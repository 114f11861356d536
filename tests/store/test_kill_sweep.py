"""SIGKILL at 30+ instants of a 300k-line load: the store is always as before that load, or has all of it.

The kill points come from the load's own progress messages (each batch read, validating, storing, refreshing,
committing, checkpointing, closing), some with a delay after the message so that the kill lands inside COMMIT,
the checkpoint or the close. After each kill the DuckDB file itself is checked: no load marked ok holds other
rows than it counted, no row belongs to a load that is not ok, and re-running the load stores each row once.
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from supplyfit.store import Store, ingest_orders

LINES = 300_000
CHILD = textwrap.dedent("""
    import sys, time
    from supplyfit.store import Store, ingest_orders, readers
    readers.BATCH_ROWS = 40_000  # more batches, more kill points
    def say(msg):
        print(msg.split(" (")[0], flush=True)
    st = Store(sys.argv[1])
    say("opened")
    ingest_orders(st, sys.argv[2], preset="uci-online-retail", progress=say)
    say("checkpointing")
    st.con.execute("CHECKPOINT")
    say("closing")
    st.close()
    say("closed")
    time.sleep(600)
""")
STEPS = (
    ["opened", "hashing", "reading"]
    + [f"reading batch {i}" for i in range(1, 9)]
    + [
        "deciding number and date formats",
        "validating",
        "quarantining",
        "storing",
        "refreshing products and customers",
        "committing",
        "committed",
        "checkpointing",
        "closing",
    ]
)
# (message, seconds after it): every message at once, and a spread of delays inside the longer steps
POINTS = (
    [(m, 0.0) for m in STEPS]
    + [(m, d) for m in ("storing", "refreshing products and customers") for d in (0.1, 0.3)]
    + [(m, d) for m in ("committing", "checkpointing", "closing") for d in (0.001, 0.005, 0.03)]
)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, sample_orders):
    """A 300k-line CSV file (read in batches, so there are more points to kill at), a base store holding an
    earlier load, and what a clean load of the file stores."""
    root = tmp_path_factory.mktemp("sweep")
    base = pd.read_parquet(sample_orders)
    reps = -(-LINES // len(base))
    big = pd.concat([base.assign(Invoice=base.Invoice + f"-{i}") for i in range(reps)], ignore_index=True)
    big.iloc[:LINES].to_csv(root / "big.csv", index=False)
    with Store(root / "base.duckdb") as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
    clean = _copy(root, "clean")
    with Store(clean) as st:
        r = ingest_orders(st, root / "big.csv", preset="uci-online-retail")
    return root, r


def _copy(root, name):
    for suffix in ("", ".secret"):
        shutil.copy(root / f"base.duckdb{suffix}", root / f"{name}.duckdb{suffix}")
    return root / f"{name}.duckdb"


def _counts(st):
    return {
        t: st.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("orders", "quarantine", "products", "customers")
    }


@pytest.mark.slow
@pytest.mark.parametrize("step,delay", POINTS, ids=[f"{m}+{d}" for m, d in POINTS])
def test_kill_at_any_instant_leaves_the_store_before_or_after(sweep, step, delay):
    root, clean = sweep
    db = _copy(root, f"k{abs(hash((step, delay)))}")
    with Store(db, read_only=True) as st:
        before = _counts(st)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(root / "big.csv")], stdout=subprocess.PIPE, text=True
    )
    for line in child.stdout:
        if line.strip() == step:
            break
    else:
        pytest.fail(f"the load never said {step!r}")
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with Store(db) as st:  # opening recovers
        loads = st.query("SELECT load_id, status, stored, quarantined FROM loads ORDER BY load_id")
        after = _counts(st)
        last = loads.iloc[-1]
        assert len(loads) in (1, 2) and st.integrity().empty
        orphans = st.con.execute(
            "SELECT count(*) FROM orders WHERE load_id NOT IN (SELECT load_id FROM loads WHERE status = 'ok')"
        ).fetchone()[0]
        assert orphans == 0
        if len(loads) == 1:  # killed before the load was registered
            assert after == before
        elif last.status == "ok":
            assert after["orders"] == before["orders"] + clean.stored
        else:
            assert last.status == "aborted" and after == before
        r = ingest_orders(st, root / "big.csv", preset="uci-online-retail")
        assert r.rows_read == r.stored + r.quarantined + r.duplicates
        assert st.con.execute("SELECT count(*) FROM orders").fetchone()[0] == before["orders"] + clean.stored
        assert st.integrity().empty
    for suffix in ("", ".secret", ".wal"):
        if os.path.exists(f"{db}{suffix}"):
            os.remove(f"{db}{suffix}")
