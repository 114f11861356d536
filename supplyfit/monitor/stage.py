"""The monitor stage of the pipeline: indicator tables (weekly and monthly) and hotspots, written to the store."""

from __future__ import annotations

import pandas as pd

from ..demand import weekly_panel
from ..store import Store
from .hotspots import COLUMNS, hotspots
from .indicators import indicators, scored_reviews


def _panel(store: Store, sales: pd.DataFrame) -> pd.DataFrame:
    """The demand stage's panel when it ran for this tenant, else one built from ``sales``."""
    stored = store.table("demand_panel") if store.has_table("demand_panel") else pd.DataFrame()
    return stored if len(stored) else weekly_panel(sales)


def run(store: Store, k: int = 20) -> str:
    """Write ``ind_<name>`` tables (both frequencies, told apart by ``freq``), ``ind_notes`` and ``hotspots``
    (empty, with a note, before the first complete week)."""
    sales, reviews = store.sales(), scored_reviews(store)
    per_freq = [indicators(sales, freq=f, reviews=reviews, store=store) for f in ("W", "M")]
    tables = [ind.tables() for ind in per_freq]
    for name in tables[0]:
        store.write_result(f"ind_{name}", pd.concat([t[name] for t in tables], ignore_index=True))
    notes = {n for ind in per_freq for n in ind.notes}
    panel = _panel(store, sales)
    if panel.empty:
        notes.add("no complete week of sales yet: no hotspots")
    hs = hotspots(panel, k=k) if len(panel) else pd.DataFrame(columns=COLUMNS)
    store.write_result("ind_notes", pd.DataFrame({"note": sorted(notes)}, dtype=str))
    store.write_result("hotspots", hs.assign(rank=range(1, len(hs) + 1)))
    top = f"top: {hs.unique_id.iloc[0]}" if len(hs) else "no complete week of sales yet"
    return (
        f"{len(per_freq[0].totals)} weeks of indicators, {len(per_freq[1].totals)} months; {len(hs)} hotspots ({top})"
    )
