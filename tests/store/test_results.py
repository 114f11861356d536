"""Result tables: tenant-scoped replace, readable in the same connection right after a large write."""

import numpy as np
import pandas as pd
import pytest

from supplyfit.store import Store


def test_large_result_is_readable_right_after_writing(db):
    # more rows than one DuckDB row group (122,880): duckdb 2.0.0 returned none of them here, hence the pin
    n = 200_000
    df = pd.DataFrame({"unique_id": np.arange(n).astype(str), "ds": pd.Timestamp("2024-01-01"), "y": 1.0})
    with Store(db) as st:
        st.write_result("big", df)
        assert len(st.table("big")) == n
        assert st.query("SELECT tenant, count(*) AS n FROM big GROUP BY 1").n.tolist() == [n]


def test_write_result_replaces_only_this_tenant(db):
    with Store(db, tenant="a") as a:
        a.write_result("r", pd.DataFrame({"x": [1, 2]}))
        b = a.scoped("b")
        b.write_result("r", pd.DataFrame({"x": [3]}))
        a.write_result("r", pd.DataFrame({"x": [4]}))
        assert a.table("r").x.tolist() == [4] and b.table("r").x.tolist() == [3]
        with pytest.raises(ValueError, match="source table"):
            a.write_result("orders", pd.DataFrame({"x": [1]}))
        b.close()


def test_an_empty_first_write_does_not_fix_the_types(db):
    """A stage that wrote nothing first (a thin store) must not block later writes of text."""
    with Store(db, tenant="a") as a:
        a.write_result("hot", pd.DataFrame({"unique_id": pd.Series([], dtype=object), "score": []}))
        a.write_result("hot", pd.DataFrame({"unique_id": ["85123A"], "score": [0.5]}))
        a.scoped("b").write_result("hot", pd.DataFrame({"unique_id": pd.Series([], dtype=object), "score": []}))
        assert a.table("hot").unique_id.tolist() == ["85123A"]


def test_a_shared_result_column_is_widened_for_all_tenants_never_narrowed(db):
    with Store(db, tenant="a") as a:
        a.write_result("r", pd.DataFrame({"x": [1, 2]}))
        b = a.scoped("b")
        b.write_result("r", pd.DataFrame({"x": [1.5]}))  # widens INTEGER -> DOUBLE for a's rows too
        a.write_result("r", pd.DataFrame({"x": [3]}))  # stays DOUBLE: b's 1.5 is not rounded
        assert b.table("r").x.tolist() == [1.5] and a.table("r").x.tolist() == [3.0]
        with pytest.raises(ValueError, match="column 'x' is DOUBLE for other tenants and TIMESTAMP_NS here"):
            a.write_result("r", pd.DataFrame({"x": [pd.Timestamp("2024-01-01")]}))
        assert a.table("r").x.tolist() == [3.0]
