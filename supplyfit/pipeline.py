"""The main job: every stage in order on one store (store → voice → demand → supply → match → trust → monitor).

Stages read the store's tables and write result tables; the report reads only tables, so a stage that has
not run shows as such in the report instead of breaking it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Callable

from .store import Store, ingest

Progress = Callable[[str], None]


def sample_path(name: str) -> Path:
    """Path of a bundled sample file (``sample_orders.parquet``, ``sample_reviews.csv``)."""
    return Path(str(resources.files("supplyfit") / "data" / name))


def load_sample(store: Store) -> str:
    orders = ingest(store, sample_path("sample_orders.parquet"), "orders", preset="uci-online-retail")
    reviews = ingest(store, sample_path("sample_reviews.csv"), "reviews", preset="reviews-10cats")
    return (f"{orders.stored:,} order lines stored ({orders.quarantined:,} quarantined, {orders.duplicates:,} "
            f"duplicates); {reviews.stored:,} reviews")


def stages() -> list[tuple[str, Callable[[Store], str]]]:
    """The analysis stages, in chain order."""
    from .demand import stage as demand
    from .match import stage as match
    from .monitor import stage as monitor
    from .supply import stage as supply
    from .trust import stage as trust
    from .voice import stage as voice

    return [("voice", voice.run), ("demand", demand.run), ("supply", supply.run), ("match", match.run),
            ("trust", trust.run), ("monitor", monitor.run)]


def run_all(store: Store, progress: Progress | None = None) -> dict[str, str]:
    say = progress or (lambda _m: None)
    summary = {}
    for name, stage in stages():
        say(name)
        summary[name] = stage(store)
    return summary


def run_demo(db: str | Path, out: str | Path, progress: Progress | None = None) -> dict[str, str]:
    """Recreate ``db`` from the bundled sample, run every stage, write ``out/report.html``."""
    from .monitor.report import write_report

    say = progress or (lambda _m: None)
    db, out = Path(db), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    with Store(db) as store:
        say("loading the bundled sample")
        summary = {"store": load_sample(store)}
        summary.update(run_all(store, say))
        say("writing the report and the dashboard data")
        summary["report"] = str(write_report(store, out / "report.html"))
        summary["dashboard"] = write_dashboard_data(store, out / "dashboard")
    return summary


DASHBOARD_TABLES = ("ind_totals", "ind_by_dimension", "ind_forecast", "hotspots", "complaints", "forecasts",
                    "production_plan", "segment_summary")


def write_dashboard_data(store: Store, folder: Path) -> str:
    """The tables the dashboard shows, as JSON files (what `supplyfit serve` serves live from the store)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARD_TABLES:
        if store.has_table(name):
            store.table(name).to_json(folder / f"{name}.json", orient="records", date_format="iso",
                                      force_ascii=False)
            written.append(name)
    return (f"{len(written)} tables in {folder}/; live: supplyfit keys create --tenant default --db "
            f"{store.path} && supplyfit serve --db {store.path}")
