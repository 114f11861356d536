"""The asset registry: every stage's contract in one declaration, and what is derived from it.

A stage declares the tables it needs (this tenant's rows must exist), the tables it reads when present, the result
tables it writes (columns and DuckDB types) and whether it is cheap or expensive. From :data:`STAGES` come the run
order (a topological order of the needs/uses → writes graph), ``supplyfit run``, the export allowlist, the
dashboard's tables, ``Store.write_result``'s schema check, the stale results and the graph in docs/architecture.md.
Adding a stage is one :class:`Stage` entry here and a ``supplyfit.<name>.stage.run(store, **options)``.
This module imports nothing from the store, so that the store can check its writes against it.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from graphlib import TopologicalSorter
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

if TYPE_CHECKING:
    from .store import Store

SOURCES = {  # loaded, not made
    "orders": "supplyfit ingest orders FILE",
    "reviews": "supplyfit ingest reviews FILE",
    "events": "supplyfit ingest events FILE",
}


class MissingInput(LookupError):
    """A stage's input is absent for this tenant (no data loaded, or an earlier stage not run); the message says
    what is missing and which command provides it."""


@dataclass(frozen=True)
class Result:
    """A result table: its columns as ``"name TYPE, …"`` (DuckDB types, without the store's ``tenant``);
    ``extra`` allows columns beyond those (which vary with the data); ``dashboard`` ships it to the dashboard."""

    name: str
    schema: str
    extra: bool = False
    dashboard: bool = False

    @property
    def columns(self) -> dict[str, str]:
        """Declared column -> DuckDB type, in declaration order."""
        return dict(col.split() for col in self.schema.split(","))


@dataclass(frozen=True)
class Stage:
    """One stage: ``supplyfit.<name>.stage.run(store, **options)``, run by ``supplyfit <command>``. It needs rows
    of this tenant in each table of ``needs``, reads ``uses`` when they exist, writes ``writes``; ``sections``
    are the report sections that show its results."""

    name: str
    command: str
    cost: Literal["cheap", "expensive"]
    needs: tuple[str, ...]
    writes: tuple[Result, ...]
    uses: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.needs + self.uses

    def check(self, store: Store) -> None:
        """Raise :class:`MissingInput` for the first of the stage's inputs that has no rows for the tenant."""
        for table in self.needs:
            check_input(store, table)

    def run(self, store: Store, **options: Any) -> str:
        """Check the inputs, run the stage, return its one-line summary."""
        self.check(store)
        return import_module(f"supplyfit.{self.name}.stage").run(store, **options)


DECLARED = (
    Stage(
        "voice",
        "voice",
        "expensive",
        needs=("reviews",),
        sections=("voice",),
        writes=(
            Result(
                "review_scores",
                "review_id VARCHAR, category VARCHAR, p_positive DOUBLE, predicted BIGINT, label INTEGER",
            ),
            Result(
                "aspects",
                "category VARCHAR, aspect VARCHAR, mentions BIGINT, share DOUBLE, positive_share DOUBLE, "
                "negative_share DOUBLE, positive_examples VARCHAR, negative_examples VARCHAR",
            ),
            Result(
                "design_brief",
                "category VARCHAR, kind VARCHAR, rank BIGINT, aspect VARCHAR, mentions BIGINT, "
                "share DOUBLE, example VARCHAR",
            ),
            Result(
                "complaints",
                "rank BIGINT, review_id VARCHAR, category VARCHAR, urgency DOUBLE, reason VARCHAR, "
                "matched VARCHAR, p_negative DOUBLE, text VARCHAR",
                dashboard=True,
            ),
        ),
    ),
    Stage(
        "demand",
        "forecast",
        "expensive",
        needs=("orders",),
        uses=("events",),
        sections=("demand",),
        writes=(
            Result(
                "demand_panel",
                "unique_id VARCHAR, ds TIMESTAMP_NS, y DOUBLE, revenue DOUBLE, price DOUBLE, category VARCHAR",
            ),
            Result(
                "forecasts",
                "unique_id VARCHAR, ds TIMESTAMP_NS, yhat DOUBLE, yhat_q10 DOUBLE, yhat_q50 DOUBLE, "
                "yhat_q90 DOUBLE, level VARCHAR",
                dashboard=True,
            ),
            Result(
                "backtest",
                "cutoff TIMESTAMP_NS, level VARCHAR, model VARCHAR, series BIGINT, wrmsse DOUBLE, "
                "mase DOUBLE, bias DOUBLE, pinball_q10 DOUBLE, pinball_q50 DOUBLE, pinball_q90 DOUBLE, "
                "coverage_80 DOUBLE, band_width DOUBLE",
            ),
        ),
    ),
    Stage(
        "supply",
        "plan",
        "expensive",
        needs=("demand_panel", "forecasts"),
        sections=("supply",),
        writes=(
            Result("production_plan", "unique_id VARCHAR, ds TIMESTAMP_NS, qty DOUBLE", dashboard=True),
            Result(
                "policy_comparison",
                "policy VARCHAR, service_level DOUBLE, fill_rate DOUBLE, lost_units DOUBLE, "
                "leftover_units DOUBLE, leftover_rate DOUBLE, avg_inventory DOUBLE, production_runs BIGINT, "
                "units_made DOUBLE",
            ),
        ),
    ),
    Stage(
        "match",
        "match",
        "expensive",
        needs=("orders",),
        sections=("match",),
        writes=(
            Result(
                "rules",
                "antecedents VARCHAR, consequents VARCHAR, antecedent_support DOUBLE, "
                "consequent_support DOUBLE, support DOUBLE, confidence DOUBLE, lift DOUBLE, leverage DOUBLE, "
                "conviction DOUBLE",
            ),
            Result("recommendations", "customer_id VARCHAR, rank BIGINT, sku VARCHAR"),
            Result(
                "segments",
                "customer_id VARCHAR, recency_days BIGINT, frequency BIGINT, monetary DOUBLE, r BIGINT, "
                "f BIGINT, m BIGINT, segment VARCHAR",
            ),
            Result(
                "segment_summary",
                "segment VARCHAR, customers BIGINT, revenue DOUBLE, customer_share DOUBLE, revenue_share DOUBLE",
                dashboard=True,
            ),
            Result(
                "segment_structure", "segment VARCHAR, dimension VARCHAR, value VARCHAR, revenue DOUBLE, share DOUBLE"
            ),
            Result(
                "group_demand", "group VARCHAR, period TIMESTAMP_NS, units DOUBLE, revenue DOUBLE, revenue_share DOUBLE"
            ),
        ),
    ),
    Stage(
        "trust",
        "verify",
        "cheap",
        needs=("orders",),
        uses=("reviews", "review_scores", "complaints"),
        sections=("trust",),
        writes=(
            Result(
                "verification",
                "finding_id BIGINT, kind VARCHAR, severity VARCHAR, sku VARCHAR, reason VARCHAR, "
                "lines BIGINT, evidence VARCHAR",
            ),
            # first column: merchant or category (the unit scored); then basis and each component's columns
            Result("credit", "score DOUBLE, grade VARCHAR", extra=True),
        ),
    ),
    Stage(
        "monitor",
        "monitor",
        "expensive",
        needs=("orders",),
        uses=("demand_panel", "forecasts", "review_scores", "events"),
        sections=("consumption", "hotspots"),
        writes=(
            Result(
                "ind_totals",
                "period TIMESTAMP_NS, revenue DOUBLE, units DOUBLE, orders BIGINT, customers BIGINT, "
                "returned_units DOUBLE, avg_basket DOUBLE, return_rate DOUBLE, revenue_pop DOUBLE, units_pop DOUBLE, "
                "orders_pop DOUBLE, customers_pop DOUBLE, revenue_yoy DOUBLE, units_yoy DOUBLE, orders_yoy DOUBLE, "
                "customers_yoy DOUBLE, complete BOOLEAN, freq VARCHAR",
                dashboard=True,
            ),
            Result(
                "ind_by_dimension",
                "value VARCHAR, period TIMESTAMP_NS, revenue DOUBLE, units DOUBLE, orders DOUBLE, "
                "customers DOUBLE, returned_units DOUBLE, avg_basket DOUBLE, return_rate DOUBLE, revenue_pop DOUBLE, "
                "units_pop DOUBLE, orders_pop DOUBLE, customers_pop DOUBLE, revenue_yoy DOUBLE, units_yoy DOUBLE, "
                "orders_yoy DOUBLE, customers_yoy DOUBLE, share DOUBLE, dimension VARCHAR, freq VARCHAR",
                dashboard=True,
            ),
            Result(
                "ind_contribution",
                "period TIMESTAMP_NS, category VARCHAR, revenue_change DOUBLE, contribution DOUBLE, freq VARCHAR",
            ),
            Result(
                "ind_concentration", "period TIMESTAMP_NS, top10_share DOUBLE, hhi DOUBLE, skus BIGINT, freq VARCHAR"
            ),
            Result(
                "ind_price_bands",
                "period TIMESTAMP_NS, band VARCHAR, revenue DOUBLE, units DOUBLE, share DOUBLE, freq VARCHAR",
            ),
            Result(
                "ind_customers",
                "period TIMESTAMP_NS, new_customers BIGINT, returning_customers BIGINT, "
                "new_revenue DOUBLE, returning_revenue DOUBLE, freq VARCHAR",
            ),
            Result(
                "ind_sentiment",
                "period TIMESTAMP_NS, category VARCHAR, reviews BIGINT, positive_share DOUBLE, "
                "index DOUBLE, freq VARCHAR",
            ),
            Result(
                "ind_forecast",
                "metric VARCHAR, period TIMESTAMP_NS, yhat DOUBLE, yhat_q10 DOUBLE, yhat_q90 DOUBLE, freq VARCHAR",
                dashboard=True,
            ),
            Result("ind_notes", "note VARCHAR"),
            Result(
                "hotspots",
                "unique_id VARCHAR, score DOUBLE, reason VARCHAR, last_units DOUBLE, category VARCHAR, "
                "age BIGINT, s4 DOUBLE, s4_prev DOUBLE, ya_rise DOUBLE, reach DOUBLE, rank BIGINT",
                dashboard=True,
            ),
        ),
    ),
)


def _producers(stages: tuple[Stage, ...]) -> dict[str, Stage]:
    """Result table -> the stage that writes it; ValueError when two stages write one table or a name is taken."""
    made: dict[str, Stage] = {}
    for s in stages:
        for r in s.writes:
            if r.name in made or r.name in SOURCES or r.name in {t.name for t in stages}:
                raise ValueError(f"result table {r.name!r} of stage {s.name!r} is already an asset's name")
            made[r.name] = s
    return made


def _ordered(stages: tuple[Stage, ...]) -> tuple[Stage, ...]:
    """The stages in a topological order of the graph input → stage → output; among the stages ready at a time,
    the first declared runs first (so the order is stable). ValueError for an input nobody provides or a cycle."""
    made = _producers(stages)
    graph = TopologicalSorter[str]()
    for s in stages:
        for table in s.inputs:
            if table not in made and table not in SOURCES:
                raise ValueError(f"stage {s.name!r} reads {table!r}, which no source or stage provides")
        graph.add(s.name, *(made[t].name for t in s.inputs if t in made))
    graph.prepare()  # raises graphlib.CycleError naming the cycle
    rank = {s.name: i for i, s in enumerate(stages)}
    ready: set[str] = set()
    order: list[str] = []
    while graph.is_active():
        ready.update(graph.get_ready())
        first = min(ready, key=rank.__getitem__)
        ready.remove(first)
        order.append(first)
        graph.done(first)
    return tuple(stages[rank[name]] for name in order)


STAGES = _ordered(DECLARED)  # the run order
PRODUCERS = _producers(STAGES)
RESULTS = {r.name: r for s in STAGES for r in s.writes}  # every result table a stage writes, in run order


def declared(name: str) -> Result | None:
    """The declaration of result table ``name``, or None for an ad-hoc table (tests, ``supplyfit scale load``)."""
    return RESULTS.get(name)


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
    """The command that provides ``table`` (``supplyfit forecast`` for forecasts), for 'run X first' messages;
    None for a table no source or stage provides."""
    if table in SOURCES:
        return SOURCES[table]
    return f"supplyfit {PRODUCERS[table].command}" if table in PRODUCERS else None


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


# ---- stale results --------------------------------------------------------------------------------------------
def _changed(store: Store) -> dict[str, dt.datetime]:
    """When each source last changed for the tenant: the end of its latest ok load that stored or quarantined rows."""
    loads = store.query(
        "SELECT kind, max(finished) AS t FROM loads WHERE tenant = $tenant AND status = 'ok' "
        "AND stored + quarantined > 0 GROUP BY kind"
    )
    return dict(zip(loads.kind, loads.t))


def _written(store: Store) -> dict[str, dt.datetime]:
    """When each of the tenant's result tables was last written (``result_meta``, kept by ``write_result``)."""
    if not store.has_table("result_meta"):  # a read-only store from before the tracking
        return {}
    meta = store.query("SELECT name, written FROM result_meta WHERE tenant = $tenant")
    return dict(zip(meta.name, meta.written))


def stale(store: Store) -> list[str]:
    """The tenant's result tables, in run order, that are older than an input: a source loaded since, an upstream
    result written since, or an upstream result that is itself stale. A result with rows but no write time (written
    before the store tracked them) counts as stale; a result never written is missing, not stale."""
    changed, written = _changed(store), _written(store)
    out: list[str] = []
    for s in STAGES:
        newest = max((changed[t] for t in s.inputs if t in changed), default=None)
        upstream_stale = any(t in out for t in s.inputs)
        for r in s.writes:
            when = written.get(r.name)
            if when is None:
                if store.has_result(r.name):
                    out.append(r.name)
                continue
            changed[r.name] = when
            if upstream_stale or (newest is not None and newest > when):
                out.append(r.name)
    return out


def results_status(store: Store) -> pd.DataFrame:
    """Every result table the tenant has, in run order: its stage, the command that refreshes it, when it was
    written (None when before the store tracked it) and whether it is stale."""
    written, old = _written(store), set(stale(store))
    return pd.DataFrame(
        [
            (r.name, s.name, f"supplyfit {s.command}", written.get(r.name), r.name in old)
            for s in STAGES
            for r in s.writes
            if store.has_result(r.name)
        ],
        columns=["table", "stage", "command", "written", "stale"],
    )


def stale_stages(store: Store, old: list[str] | None = None) -> pd.DataFrame:
    """:func:`stale` by stage: stage, cost, stale results, and the command that refreshes them (``old``: the
    stale results, when the caller has read them already)."""
    old = stale(store) if old is None else old
    found = [(s, [r.name for r in s.writes if r.name in old]) for s in STAGES]
    return pd.DataFrame(
        [(s.name, s.cost, ", ".join(names), f"supplyfit run {s.name}") for s, names in found if names],
        columns=["stage", "cost", "stale results", "refresh"],
    )


# ---- the picture -----------------------------------------------------------------------------------------------
def asset_graph_mermaid() -> str:
    """The asset graph as a Mermaid flowchart: sources, each stage as a box of the tables it writes, an arrow from
    each input to the stage (dashed: read when present). docs/architecture.md includes this text verbatim."""
    lines = ["flowchart LR"]
    lines += [f'    {name}[("{name}")]' for name in SOURCES]
    for s in STAGES:
        lines.append(f'    subgraph {s.name}["{s.name} · supplyfit {s.command} · {s.cost}"]')
        lines += [f"        {r.name}" for r in s.writes]
        lines.append("    end")
    for s in STAGES:
        lines += [f"    {t} --> {s.name}" for t in s.needs]
        lines += [f"    {t} -.-> {s.name}" for t in s.uses]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m supplyfit.assets [--mermaid]
    if sys.argv[1:] == ["--mermaid"]:
        print(asset_graph_mermaid())
    else:
        for s in STAGES:
            print(f"{s.name:8} {s.cost:9} needs {', '.join(s.needs)}; writes {', '.join(r.name for r in s.writes)}")
