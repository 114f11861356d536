"""Local and Spark (``local[2]``) engines give the same panel, forecasts, review scores and rules."""

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark")

from supplyfit.scale import build_panel, forecast, mine_rules, score_reviews, spark_session  # noqa: E402
from supplyfit.store import Store  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]")
    yield session
    session.stop()


def _sorted(df, keys):
    return df.sort_values(keys, ignore_index=True)


def test_panel_equal(spark, lines, tmp_path):
    local = build_panel(lines)
    remote = build_panel(lines, engine="spark", spark=spark, output=tmp_path / "panel").toPandas()
    assert len(local) > 1000
    remote["ds"] = pd.to_datetime(remote["ds"]).astype(local["ds"].dtype)
    a, b = _sorted(local, ["unique_id", "ds"]), _sorted(remote[local.columns], ["unique_id", "ds"])
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert len(pd.read_parquet(tmp_path / "panel")) == len(local)  # written back as Parquet
    uncancelled = build_panel(pd.read_parquet(lines).drop(columns="customer_id"))
    assert local["y"].sum() < uncancelled["y"].sum()  # the sample has cancelled sales, netted alike


@pytest.mark.parametrize("model", ["ses", "tsb"])
def test_forecasts_equal_for_per_series_models(spark, lines, model):
    panel = build_panel(lines)
    local = forecast(panel, h=4, model=model, calibrate=False)
    remote = forecast(panel, h=4, model=model, calibrate=False, engine="spark", spark=spark, shards=5).toPandas()
    remote["ds"] = pd.to_datetime(remote["ds"]).astype(local["ds"].dtype)
    a, b = _sorted(local, ["unique_id", "ds"]), _sorted(remote[local.columns], ["unique_id", "ds"])
    assert a.unique_id.tolist() == b.unique_id.tolist()
    np.testing.assert_allclose(a.drop(columns=["unique_id", "ds"]), b.drop(columns=["unique_id", "ds"]), atol=1e-6)


def test_review_scores_equal(spark, sample_reviews):
    reviews = pd.read_csv(sample_reviews).rename(columns={"review": "text"}).head(400)
    reviews["row"] = range(len(reviews))
    local = score_reviews(reviews)
    remote = score_reviews(reviews, engine="spark", spark=spark).toPandas().sort_values("row")
    np.testing.assert_allclose(local.p_positive.to_numpy(), remote.p_positive.to_numpy(), atol=1e-12)
    assert (local.predicted.to_numpy() == remote.predicted.to_numpy()).all()


def test_rules_equal(spark, lines):
    local = mine_rules(lines, 0.02, 0.2)
    remote = mine_rules(lines, 0.02, 0.2, engine="spark", spark=spark)
    assert len(local) > 10
    key = lambda r: {
        (a, c): (round(s, 12), round(cf, 12))
        for a, c, s, cf in zip(r.antecedents, r.consequents, r.support, r.confidence)  # noqa: E731
    }
    assert key(local) == key(remote)


def test_cli_spark_engine_and_load_into_store(tmp_path, lines):
    import subprocess
    import sys

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "supplyfit.cli", "scale", *map(str, args)], capture_output=True, text=True
        )

    p = run("panel", lines, "--output", tmp_path / "panel", "--engine", "spark", "--master", "local[2]")
    assert p.returncode == 0, p.stderr[-2000:]
    p = run("forecast", tmp_path / "panel", "--output", tmp_path / "fc.parquet", "--h", "4")
    assert p.returncode == 0 and "rows" in p.stdout, p.stderr[-2000:]
    db = tmp_path / "s.duckdb"
    p = run("load", tmp_path / "fc.parquet", "--table", "forecasts_spark", "--db", db)
    assert p.returncode == 0, p.stderr[-2000:]
    with Store(db, read_only=True) as st:
        assert len(st.table("forecasts_spark")) == len(pd.read_parquet(tmp_path / "fc.parquet")) > 100
    p = run("panel", lines, "--output", tmp_path / "x", "--engine", "flink")
    assert p.returncode == 2 and "local or spark" in p.stderr
