"""Sales cancelled within a day by the same customer's return of the same SKU and quantity are not demand,
whichever builder makes the panel (DataFrame, store, out-of-core DuckDB; Spark in tests/scale)."""

import pandas as pd
import pytest

from supplyfit.demand import weekly_panel
from supplyfit.demand.panel import demand_lines, panel_and_cancelled
from supplyfit.scale import build_panel
from supplyfit.store import Store, ingest


def _lines() -> pd.DataFrame:
    """One week of lines, each customer a case; the expected units per SKU are in :data:`EXPECTED`."""
    rows = [
        # order, sku, quantity, ts, customer
        ("1", "BIG", 74215, "2011-01-18 10:01", "c1"),  # cancelled 16 minutes later: not demand
        ("C2", "BIG", -74215, "2011-01-18 10:17", "c1"),
        ("3", "BIG", 10, "2011-01-18 11:00", "c2"),
        ("4", "MUG", 6, "2011-01-17 09:00", "c3"),  # returned five days later: a return, still demand
        ("C5", "MUG", -6, "2011-01-22 09:00", "c3"),
        ("6", "MUG", 4, "2011-01-17 09:00", "c4"),  # two equal orders, one cancelled: one stays
        ("6a", "MUG", 4, "2011-01-17 09:00", "c4"),
        ("C7", "MUG", -4, "2011-01-17 12:00", "c4"),
        ("8", "CUP", 12, "2011-01-18 09:00", "c5"),  # a return of another quantity: not a cancellation
        ("C9", "CUP", -5, "2011-01-18 09:30", "c5"),
        ("10", "CUP", 3, "2011-01-18 09:00", "c6"),  # another customer's return: not a cancellation
        ("C11", "CUP", -3, "2011-01-18 09:30", "c7"),
        ("12", "CUP", 2, "2011-01-19 09:00", None),  # no customer: never matched
        ("C13", "CUP", -2, "2011-01-19 09:10", None),
        ("C14", "JAR", -1, "2011-01-18 08:00", "c8"),  # a return before the sale cancels nothing
        ("15", "JAR", 1, "2011-01-18 09:00", "c8"),
        ("16", "JAR", 5, "2011-01-17 09:00", "c9"),  # two returns of one sale cancel it once
        ("C17", "JAR", -5, "2011-01-17 10:00", "c9"),
        ("C18", "JAR", -5, "2011-01-17 11:00", "c9"),
        ("19", "JAR", 7, "2011-01-23 23:30", "c9"),  # so the panel has a complete week
    ]
    df = pd.DataFrame(rows, columns=["order_id", "sku", "quantity", "ts", "customer_id"])
    return df.assign(
        ts=pd.to_datetime(df["ts"]),
        unit_price=2.5,
        is_return=df["order_id"].str.startswith("C"),
        description="item",
    )


EXPECTED = {"BIG": 10.0, "MUG": 6 + 4, "CUP": 12 + 3 + 2, "JAR": 1 + 7}


def _units(panel: pd.DataFrame) -> dict[str, float]:
    return panel.groupby("unique_id")["y"].sum().to_dict()


def test_cancelled_sales_leave_the_dataframe_panel():
    assert _units(weekly_panel(_lines())) == EXPECTED


def test_without_customers_nothing_is_netted():
    lines = _lines().drop(columns="customer_id")
    assert _units(weekly_panel(lines))["BIG"] == 74215 + 10
    assert len(demand_lines(lines)) == (lines["quantity"] > 0).sum()


@pytest.mark.parametrize("hours", [0.25, 30])
def test_the_day_window(hours):
    lines = _lines()
    late = lines["order_id"] == "C2"
    lines.loc[late, "ts"] = lines.loc[lines["order_id"] == "1", "ts"].iloc[0] + pd.Timedelta(hours=hours)
    assert _units(weekly_panel(lines))["BIG"] == (10 if hours <= 24 else 74215 + 10)


def test_store_and_out_of_core_panels_net_the_same(tmp_path):
    lines = _lines()
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path, index=False)
    with Store(tmp_path / "s.duckdb") as st:
        ingest(st, path, "orders")
        stored = weekly_panel(st)
        assert st.query("SELECT count(*) AS n FROM orders").n.iloc[0] == len(lines)  # every line is kept
        panel, left_out = panel_and_cancelled(st)
        assert left_out == (3, 74215 + 4 + 5)  # what the demand stage reports as left out
        pd.testing.assert_frame_equal(panel, stored)
    assert _units(stored) == EXPECTED
    out = build_panel(path, output=tmp_path / "panel.parquet")
    assert _units(pd.read_parquet(out)) == EXPECTED


@pytest.mark.parametrize("flag", [None, pd.NA])
def test_an_unflagged_line_is_read_by_its_quantity_in_every_builder(flag, tmp_path):
    """``is_return`` missing on some lines (None in an object column, NA in a nullable one): those lines are
    returns when their quantity is negative, sales otherwise, in the DataFrame and the out-of-core panels alike."""
    lines = _lines()
    lines["is_return"] = lines["is_return"].astype("boolean" if flag is pd.NA else object)
    lines.loc[lines.order_id.isin(["C2", "3"]), "is_return"] = flag
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path, index=False)
    assert _units(weekly_panel(lines)) == EXPECTED
    assert _units(pd.read_parquet(build_panel(path, output=tmp_path / "panel.parquet"))) == EXPECTED


def test_times_with_a_time_zone_are_read_as_local_wall_time():
    lines = _lines().assign(ts=lambda d: d.ts.dt.tz_localize("Asia/Shanghai"))
    panel = weekly_panel(lines)
    assert _units(panel) == EXPECTED and panel.ds.dt.tz is None and (panel.ds.dt.weekday == 0).all()
