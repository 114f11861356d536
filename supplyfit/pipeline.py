"""The main job: every stage in order on one store (store → voice → demand → supply → match → trust → monitor).

Stages read the store's tables and write result tables; the report reads only tables, so a stage that has
not run shows as such in the report instead of breaking it. Each stage's contract (what it needs, reads and
writes, in which order it runs) is declared once in :mod:`supplyfit.assets`; this module runs them. A stage whose
input is missing raises :class:`MissingInput`, whose message names the command to run first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib import resources
from pathlib import Path

import duckdb

from .assets import RESULTS, SOURCES, STAGES, MissingInput, Stage, check_input, producer, rows, stage
from .store import Store, ingest

__all__ = [  # the stage contracts are re-exported: callers know them as supplyfit.pipeline's
    "DASHBOARD_TABLES",
    "SOURCES",
    "STAGES",
    "MissingInput",
    "Progress",
    "Stage",
    "check_input",
    "load_sample",
    "producer",
    "rows",
    "run_all",
    "run_demo",
    "run_optional",
    "sample_path",
    "stage",
    "stages",
    "write_dashboard_data",
]
Progress = Callable[[str], None]


def sample_path(name: str) -> Path:
    """Path of a bundled sample file (``sample_orders.parquet``, ``sample_reviews.csv``)."""
    return Path(str(resources.files("supplyfit") / "data" / name))


def load_sample(store: Store) -> str:
    orders = ingest(store, sample_path("sample_orders.parquet"), "orders", preset="uci-online-retail")
    reviews = ingest(store, sample_path("sample_reviews.csv"), "reviews", preset="reviews-10cats")
    return (
        f"{orders.stored:,} order lines stored ({orders.quarantined:,} quarantined, {orders.duplicates:,} "
        f"duplicates); {reviews.stored:,} reviews"
    )


def run_optional(store: Store, name: str) -> str:
    """Run a stage with its default options; a missing input is a summary ('skipped: …'), not an error."""
    try:
        return stage(name).run(store)
    except MissingInput as e:
        return f"skipped: {e}"


def stages() -> list[tuple[str, Callable[[Store], str]]]:
    """The analysis stages in chain order, each as (name, run(store) -> summary); missing inputs are skipped."""
    return [(s.name, partial(run_optional, name=s.name)) for s in STAGES]


def run_all(store: Store, progress: Progress | None = None) -> dict[str, str]:
    """Every stage in order; those whose inputs are missing are skipped with a note in the summary."""
    say = progress or (lambda _m: None)
    summary = {}
    for name, run in stages():
        say(name)
        summary[name] = run(store)
    return summary


def run_demo(db: str | Path, out: str | Path, progress: Progress | None = None) -> dict[str, str]:
    """Recreate ``db`` from the bundled sample, run every stage, write ``out/report.html``."""
    from .monitor.report import write_report

    say = progress or (lambda _m: None)
    db, out = Path(db), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _not_in_use(db)
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


class StoreInUse(RuntimeError):
    """The demo's store is held by another process."""


def _not_in_use(db: Path) -> None:
    """Refuse to recreate a store another process holds (a running `supplyfit serve`): it would go on serving the
    deleted file, and the keys made for it would be gone from the new one."""
    if not db.is_file():
        return
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise StoreInUse(
                f"{db} is in use by another process (a running `supplyfit serve`?): stop it first, or give the demo "
                "another --db"
            ) from None
    except duckdb.Error:
        return  # not a store this DuckDB reads (another version, a damaged file): the demo replaces it


DASHBOARD_TABLES = tuple(name for name, r in RESULTS.items() if r.dashboard)  # declared in assets


def write_dashboard_data(store: Store, folder: Path) -> str:
    """The tables the dashboard shows, as JSON files (what `supplyfit serve` serves live from the store)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARD_TABLES:
        if store.has_table(name):
            store.table(name).to_json(folder / f"{name}.json", orient="records", date_format="iso", force_ascii=False)
            written.append(name)
    return (
        f"{len(written)} tables in {folder}/; live: pip install -e '.[serve]' (in a checkout; else "
        f"'supplyfit[serve]'), then supplyfit keys create --tenant default --role admin --db {store.path} && "
        f"supplyfit serve --db {store.path}"
    )
