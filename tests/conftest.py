import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
UCI = SHARED / "online_retail" / "online_retail_II_2009_2010.parquet"
REVIEWS = SHARED / "reviews_zh" / "online_shopping_10_cats_dev.csv"
ARTIFACTS = REPO / "test-artifacts"

needs_shared = pytest.mark.skipif(not UCI.exists() or not REVIEWS.exists(), reason="../shared/data not present")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture(scope="session")
def sample_orders() -> Path:
    from supplyfit.pipeline import sample_path

    return sample_path("sample_orders.parquet")


@pytest.fixture(scope="session")
def sample_reviews() -> Path:
    from supplyfit.pipeline import sample_path

    return sample_path("sample_reviews.csv")


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """A store with the bundled sample loaded and every stage run (shared by read-only tests)."""
    from supplyfit.pipeline import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out / "demo.duckdb", out)
    return out / "demo.duckdb"
