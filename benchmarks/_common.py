"""Shared bits of the benchmark scripts: data paths and a best-of-N timer."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
UCI = SHARED / "online_retail" / "online_retail_II_2009_2010.parquet"
REVIEWS = SHARED / "reviews_zh" / "online_shopping_10_cats_dev.csv"


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Fastest wall time of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def load_uci_panel():
    """Weekly SKU panel of the UCI 2009–2010 orders, loaded through the store as a user would."""
    from supplyfit.demand import weekly_panel
    from supplyfit.store import Store, ingest_orders

    with tempfile.TemporaryDirectory() as tmp, Store(f"{tmp}/s.duckdb") as st:
        ingest_orders(st, UCI, preset="uci-online-retail")
        return weekly_panel(st)
