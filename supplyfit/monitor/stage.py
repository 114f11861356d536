"""The monitor stage of the pipeline: indicator tables (weekly and monthly) and hotspots, written to the store."""

from __future__ import annotations

import pandas as pd

from ..store import Store
from .hotspots import hotspots
from .indicators import indicators


def run(store: Store, k: int = 20) -> str:
    """Write ``ind_<name>`` tables (both frequencies, told apart by ``freq``) and ``hotspots``."""
    if store.sales().empty:
        return "no product sales to monitor"
    per_freq = [indicators(store, freq=f) for f in ("W", "M")]
    tables = [ind.tables() for ind in per_freq]
    for name in tables[0]:
        store.write_result(f"ind_{name}", pd.concat([t[name] for t in tables], ignore_index=True))
    notes = sorted({n for ind in per_freq for n in ind.notes})
    store.write_result("ind_notes", pd.DataFrame({"note": notes}, dtype=str))
    panel = store.table("demand_panel") if store.has_table("demand_panel") else None
    if panel is None or panel.empty:
        from ..demand import weekly_panel

        panel = weekly_panel(store)
    hs = hotspots(panel, k=k)
    store.write_result("hotspots", hs.assign(rank=range(1, len(hs) + 1)))
    weeks = per_freq[0].totals
    return (f"{len(weeks)} weeks of indicators, {len(per_freq[1].totals)} months; {len(hs)} hotspots "
            f"(top: {hs.unique_id.iloc[0] if len(hs) else '-'})")
