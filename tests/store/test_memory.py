"""DuckDB's memory limit: the store's setting, lowered for a load or a stage and set back exactly (not from the
rounded text DuckDB reports, which crept the limit down load after load)."""

import pandas as pd

from supplyfit.store import Store, load_frame
from supplyfit.store.sql import memory_limit


def _limit(st: Store) -> str:
    return st.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_lowered_limit_is_set_back_and_never_raised(tmp_path):
    with Store(tmp_path / "s.duckdb") as st:
        before = _limit(st)
        with memory_limit(st.con, 256 * 2**20, "2GB"):
            assert _limit(st).startswith("256")  # e.g. 256.0 MiB
            with memory_limit(st.con, 2**40, "256MiB"):  # never raised
                assert _limit(st).startswith("256")
        assert _limit(st) == before


def test_loads_leave_the_limit_as_they_found_it(tmp_path):
    lines = pd.DataFrame(
        {"order_id": ["1", "2"], "sku": ["A", "B"], "quantity": [1, 2], "unit_price": [1.5, 2.0]}
    ).assign(ts="2024-01-01 10:00")
    with Store(tmp_path / "s.duckdb") as st:
        before = _limit(st)
        for i in range(3):
            load_frame(st, lines.assign(order_id=lines.order_id + f"-{i}"), "orders", f"f{i}", tmp_path)
        assert _limit(st) == before
