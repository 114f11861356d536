"""The business clock: an earlier reading only narrows the scan, never changes the answer; the week so far nets
cancelled sales as the panel does."""

import contextlib

import numpy as np
import pandas as pd
import pytest

from supplyfit.demand import weekly_panel
from supplyfit.live.events import store_events
from supplyfit.live.sensing import clock, week
from supplyfit.store import Store

from .conftest import line


def test_clock_since_an_earlier_reading_equals_a_full_reading_even_after_orders_are_removed(store_db):
    db, _ = store_db
    with Store(db) as st:
        full = clock(st.con, "default")
        assert clock(st.con, "default", full[0]) == full
        assert clock(st.con, "default", full[0] - pd.Timedelta(weeks=3)) == full
        # orders at or after the earlier reading are gone (a load undone): the whole table is read again
        st.con.execute("DELETE FROM orders WHERE tenant = 'default' AND ts >= ?", [full[0] - pd.Timedelta(days=3)])
        assert clock(st.con, "default", full[0]) == clock(st.con, "default") < full
        assert week(st.con, "default", full[0]).skus["now"].iloc[0] == clock(st.con, "default")[0]
        assert clock(st.con, "nobody", full[0]) == (None, None)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_complete_week_so_far_equals_the_panels_week_with_cancellations_netted(tmp_path, seed):
    """The server's week so far and the demand panel net the same sales: random sales and returns (at lags from 0
    to 3 days, some exactly 24 h, some across the week boundary, some of no customer), sent in 7 batches."""
    week0 = pd.Timestamp("2024-04-01")
    rng = np.random.default_rng(seed)
    lines = [line("END", sku="Z9", quantity=1, ts=f"{week0 + pd.Timedelta(days=7, seconds=-1):%Y-%m-%dT%H:%M:%S}")]
    for i, m in enumerate(np.sort(rng.integers(0, 10 * 24 * 60 - 1, 600))):
        ts = week0 - pd.Timedelta(days=3) + pd.Timedelta(minutes=int(m))
        q, sku, cust = int(rng.choice([1, 2, 3])), str(rng.choice(["A1", "A2", "B1"])), rng.choice(["c1", "c2", None])
        lines.append(line(f"O{i}", sku=sku, quantity=q, ts=f"{ts:%Y-%m-%dT%H:%M:%S}", customer_id=cust))
        if cust is not None and rng.random() < 0.3:
            back = ts + pd.Timedelta(minutes=int(rng.choice([0, 5, 60, 24 * 60, 24 * 60 + 1, 3 * 24 * 60])))
            if back < week0 + pd.Timedelta(days=7):
                lines.append(line(f"C{i}", sku=sku, quantity=-q, ts=f"{back:%Y-%m-%dT%H:%M:%S}", customer_id=cust))
    lines.sort(key=lambda x: x["ts"])
    with Store(tmp_path / "s.duckdb") as st:
        for part in np.array_split(np.arange(len(lines)), 7):
            store_events(st, [[lines[j] for j in part]], contextlib.nullcontext())
        so_far = week(st.con, st.tenant).skus.set_index("unique_id")["units"]
        panel = weekly_panel(st)
        sold = st.query("SELECT sum(quantity) FROM orders WHERE quantity > 0 AND ts >= $w", {"w": week0}).iloc[0, 0]
    panel = panel[panel["ds"] == week0].set_index("unique_id")["y"]
    assert so_far.sum() < sold  # sales were cancelled
    assert so_far[so_far > 0].sort_index().equals(panel[panel > 0].sort_index())
