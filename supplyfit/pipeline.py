"""The main job: every stage in order on one store (store → voice → demand → supply → match → trust → monitor).

Stages read the store's tables and write result tables; the report reads only tables, so a stage that has
not run shows as such in the report instead of breaking it. Each stage's contract is here: what it needs
(this tenant's rows in a table), what it writes, and the command that runs it. A stage whose input is missing
raises :class:`MissingInput`, whose message names the command to run first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import partial
from importlib import import_module, resources
from pathlib import Path
from typing import Any

from .store import Store, ingest

Progress = Callable[[str], None]


class MissingInput(LookupError):
    """A stage's input is absent for this tenant (no data loaded, or an earlier stage not run); the message says
    what is missing and which command provides it."""


@dataclass(frozen=True)
class Stage:
    """One stage: ``supplyfit.<name>.stage.run(store, **options)``, run by ``supplyfit <command>``; it needs rows
    of this tenant in each table of ``needs`` and writes the tables ``writes`` matches (glob patterns)."""

    name: str
    command: str
    needs: tuple[str, ...]
    writes: tuple[str, ...]

    def check(self, store: Store) -> None:
        """Raise :class:`MissingInput` for the first of the stage's inputs that has no rows for the tenant."""
        for table in self.needs:
            check_input(store, table)

    def run(self, store: Store, **options: Any) -> str:
        """Check the inputs, run the stage, return its one-line summary."""
        self.check(store)
        return import_module(f"supplyfit.{self.name}.stage").run(store, **options)


STAGES = (
    Stage("voice", "voice", ("reviews",), ("review_scores", "aspects", "design_brief", "complaints")),
    Stage("demand", "forecast", ("orders",), ("demand_panel", "forecasts", "backtest")),
    Stage("supply", "plan", ("demand_panel", "forecasts"), ("production_plan", "policy_comparison")),
    Stage(
        "match",
        "match",
        ("orders",),
        ("rules", "recommendations", "segments", "segment_summary", "segment_structure", "group_demand"),
    ),
    Stage("trust", "verify", ("orders",), ("verification", "credit")),
    Stage("monitor", "monitor", ("orders",), ("ind_*", "hotspots")),
)
SOURCES = {"orders": "supplyfit ingest orders FILE", "reviews": "supplyfit ingest reviews FILE"}


def stage(name: str) -> Stage:
    """A stage by its name or by its command ('demand' or 'forecast'); ValueError for anything else."""
    for s in STAGES:
        if name in (s.name, s.command):
            return s
    raise ValueError(
        f"no stage {name!r}; stages in order: "
        + ", ".join(s.name if s.name == s.command else f"{s.name} ({s.command})" for s in STAGES)
    )


def producer(table: str) -> str | None:
    """The command that writes ``table`` (``supplyfit forecast`` for forecasts), for 'run X first' messages;
    None for a table no stage writes."""
    if table in SOURCES:
        return SOURCES[table]
    for s in STAGES:
        if any(fnmatch(table, pattern) for pattern in s.writes):
            return f"supplyfit {s.command}"
    return None


def rows(store: Store, table: str, where: str = "") -> int:
    """This tenant's rows in ``table`` (0 when the table does not exist)."""
    if not store.has_table(table):
        return 0
    return int(store.table(table, where=where, columns="count(*) AS n")["n"].iloc[0])


def check_input(store: Store, table: str) -> None:
    """Raise :class:`MissingInput` unless this tenant has rows in ``table`` (order lines: product lines)."""
    if rows(store, table, "is_product" if table == "orders" else ""):
        return
    what = {"orders": "no product order lines", "reviews": "no reviews"}.get(table, f"no {table}")
    raise MissingInput(f"{what} for tenant {store.tenant!r}: run `{producer(table) or 'supplyfit run'}` first")


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


DASHBOARD_TABLES = (
    "ind_totals",
    "ind_by_dimension",
    "ind_forecast",
    "hotspots",
    "complaints",
    "forecasts",
    "production_plan",
    "segment_summary",
)


def write_dashboard_data(store: Store, folder: Path) -> str:
    """The tables the dashboard shows, as JSON files (what `supplyfit serve` serves live from the store)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARD_TABLES:
        if store.has_table(name):
            store.table(name).to_json(folder / f"{name}.json", orient="records", date_format="iso", force_ascii=False)
            written.append(name)
    return (
        f"{len(written)} tables in {folder}/; live: supplyfit keys create --tenant default --db "
        f"{store.path} && supplyfit serve --db {store.path}"
    )
