"""The local engine's out-of-core paths (DuckDB panel, forecasts by chunks of series) equal the in-memory ones."""

import numpy as np
import pandas as pd

from supplyfit.demand import weekly_panel
from supplyfit.scale import build_panel, forecast


def test_out_of_core_panel_equals_weekly_panel(lines, tmp_path):
    out = build_panel(lines, output=tmp_path / "panel.parquet")
    got = pd.read_parquet(out).sort_values(["unique_id", "ds"], ignore_index=True)
    want = weekly_panel(pd.read_parquet(lines))
    got["ds"] = got["ds"].astype(want["ds"].dtype)
    pd.testing.assert_frame_equal(got[want.columns], want, check_exact=False, rtol=1e-9)
    assert want["y"].sum() < weekly_panel(pd.read_parquet(lines).drop(columns="customer_id"))["y"].sum()


def test_chunked_forecasts_equal_one_fit(lines, tmp_path):
    panel = build_panel(lines, output=tmp_path / "panel.parquet")
    whole = forecast(pd.read_parquet(panel), h=4, model="ses", calibrate=False)
    out = forecast(panel, h=4, model="ses", calibrate=False, output=tmp_path / "fc.parquet", chunk_series=40)
    got = pd.read_parquet(out).sort_values(["unique_id", "ds"], ignore_index=True)
    want = whole.sort_values(["unique_id", "ds"], ignore_index=True)
    assert got.unique_id.tolist() == want.unique_id.tolist() and got.unique_id.nunique() > 100
    np.testing.assert_allclose(got.iloc[:, 2:].to_numpy(), want.iloc[:, 2:].to_numpy(), atol=1e-6)


def test_scale_forecasts_load_into_the_stores_forecasts_table(lines, tmp_path):
    """The README's `supplyfit scale load forecasts/ --table forecasts`: SKU forecasts meet the declared table."""
    import subprocess
    import sys

    from supplyfit.store import Store

    panel = build_panel(lines, output=tmp_path / "panel.parquet")
    forecast(panel, h=4, model="ses", calibrate=False, output=tmp_path / "fc.parquet")
    db = tmp_path / "s.duckdb"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "supplyfit.cli",
            "scale",
            "load",
            str(tmp_path / "fc.parquet"),
            "--table",
            "forecasts",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    with Store(db, read_only=True) as st:
        assert st.table("forecasts").level.unique().tolist() == ["sku"]
