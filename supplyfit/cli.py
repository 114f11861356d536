"""Command line: ``supplyfit --help``. Every command takes ``--db PATH`` and ``--tenant NAME``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # LightGBM/OpenMP busy-waiting is ~10x slower on shared cores

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .store import DEFAULT_DB, IngestError, Store, ingest, parse_overrides

app = typer.Typer(help="supplyfit: orders and reviews in; forecasts, production plans and insights out.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
ingest_app = typer.Typer(help="Load orders or reviews files (CSV, Parquet, XLSX) into the store.",
                         no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
console = Console()
err = Console(stderr=True)

DbOpt = typer.Option(DEFAULT_DB, "--db", help="DuckDB store file (created if missing).")
TenantOpt = typer.Option("default", "--tenant", help="Tenant whose data is read and written.")


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _df_table(df, title: str | None = None, limit: int = 20) -> Table:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col))
    for row in df.head(limit).itertuples(index=False):
        table.add_row(*[f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row])
    return table


def _spinner() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                    transient=True)


def _ingest(kind: str, file: Path, db: Path, tenant: str, preset: Optional[str], mapping: list[str],
            encoding: Optional[str]) -> None:
    try:
        overrides = parse_overrides(mapping)
        with Store(db, tenant=tenant) as store, _spinner() as progress:
            task = progress.add_task(f"loading {file.name}")
            report = ingest(store, file, kind, preset=preset, mapping=overrides, encoding=encoding,
                            progress=lambda msg: progress.update(task, description=f"{file.name}: {msg}"))
    except IngestError as e:
        _fail(str(e))
    except ValueError as e:
        _fail(f"{file}: {e}")
    status = "[yellow]skipped[/] (same content loaded before)" if report.status == "skipped" else "[green]ok[/]"
    console.print(f"load {report.load_id} {status}: {report.rows_read:,} rows read = {report.stored:,} stored + "
                  f"{report.quarantined:,} quarantined + {report.duplicates:,} duplicates")
    if report.mapping:
        console.print("mapping: " + ", ".join(f"{src} → {fld}" for fld, src in report.mapping.items()))
    for reason, n in list(report.reasons.items())[:10]:
        console.print(f"  quarantined {n:,}: {reason}")
    if report.note:
        console.print(f"[yellow]note:[/] {report.note}")


PresetOpt = typer.Option(None, "--preset", help="Column preset: uci-online-retail | reviews-10cats.")
MapOpt = typer.Option([], "--map", help="SOURCE=FIELD column mapping; repeat for several.")
EncodingOpt = typer.Option(None, "--encoding", help="Text encoding of a CSV (detected when omitted).")


@ingest_app.command("orders")
def ingest_orders_cmd(file: Path, db: Path = DbOpt, tenant: str = TenantOpt, preset: Optional[str] = PresetOpt,
                      map: list[str] = MapOpt, encoding: Optional[str] = EncodingOpt) -> None:
    """Load order lines: order_id, sku, quantity, unit_price, ts (+ description, customer_id, region, ...)."""
    _ingest("orders", file, db, tenant, preset, map, encoding)


@ingest_app.command("reviews")
def ingest_reviews_cmd(file: Path, db: Path = DbOpt, tenant: str = TenantOpt, preset: Optional[str] = PresetOpt,
                       map: list[str] = MapOpt, encoding: Optional[str] = EncodingOpt) -> None:
    """Load reviews: text (+ category, sku, label or rating, ts, lang)."""
    _ingest("reviews", file, db, tenant, preset, map, encoding)


@app.command()
def status(db: Path = DbOpt, tenant: str = TenantOpt) -> None:
    """Tables and row counts, recent loads, and why rows were quarantined."""
    try:
        with Store(db, tenant=tenant, read_only=True) as store:
            info = store.status()
    except FileNotFoundError as e:
        _fail(str(e))
    console.print(f"store {info['path']} (schema v{info['schema_version']}), tenant {info['tenant']}")
    counts = Table(title="tables")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for name, n in info["tables"].items():
        counts.add_row(name, f"{n:,}")
    console.print(counts)
    if len(info["loads"]):
        console.print(_df_table(info["loads"], "recent loads"))
    if len(info["quarantine_reasons"]):
        console.print(_df_table(info["quarantine_reasons"], "quarantine reasons"))


@app.command()
def demo(db: Path = typer.Option(Path("out/demo.duckdb"), "--db", help="Store for the demo (recreated)."),
         out: Path = typer.Option(Path("out"), "--out", help="Folder for report.html and dashboard data.")) -> None:
    """Run the whole chain on the bundled sample and write OUT/report.html."""
    from .pipeline import run_demo

    with _spinner() as progress:
        task = progress.add_task("demo")
        summary = run_demo(db, out, progress=lambda msg: progress.update(task, description=msg))
    for stage, text in summary.items():
        console.print(f"[green]✓[/] {stage}: {text}")
    console.print(f"report: {out / 'report.html'}")


if __name__ == "__main__":
    app()
