"""Command line: ``supplyfit --help``. Every command takes ``--db PATH`` and ``--tenant NAME``.

Every error a command raises ends as one line on stderr (``supplyfit --debug …`` shows the traceback): exit 2
for a missing input or a usage error (no store, a stage not run yet, a file that cannot be read), 1 for the rest.
Commands that only read a store never create one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from .pipeline import STAGES, MissingInput, StoreInUse, producer, rows, stage
from .store import DEFAULT_DB, IngestError, Store, ingest, parse_overrides


class StoreUnusable(Exception):
    """The store cannot be opened as asked: another process holds it, another DuckDB version or secret wrote it."""


INPUT_ERRORS = (
    MissingInput,
    StoreInUse,
    IngestError,
    StoreUnusable,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
)


class OneLineErrors(TyperGroup):
    """The root command group: an error escaping a command becomes one line on stderr and exit status 2 (missing
    input) or 1, unless ``--debug`` asks for the traceback."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Commands in the order they are defined, with ``ingest`` (where every use starts) first."""
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: n != "ingest")

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as e:
            if ctx.meta.get("supplyfit.debug"):
                raise
            where = ctx.invoked_subcommand or "supplyfit"
            if isinstance(e, typer.TyperException) and hasattr(e, "format_message"):  # a usage error
                path = getattr(getattr(e, "ctx", None), "command_path", None) or "supplyfit"
                _say_error(f"{where}: {e.format_message()} (see `{path} --help`)")
                raise typer.Exit(getattr(e, "exit_code", 2)) from None
            if isinstance(e, INPUT_ERRORS):
                _say_error(f"{where}: {e}")
                raise typer.Exit(2) from None
            _say_error(f"{where}: {type(e).__name__}: {e} (`supplyfit --debug {where} …` shows the traceback)")
            raise typer.Exit(1) from None


def _console(stderr: bool = False) -> Console:
    """A terminal gets rich's colours, wrapping and spinners; piped output gets plain lines: no ANSI codes, no
    sentence wrapped at 80 columns (``soft_wrap``), tables as wide as they need to be."""
    out = Console(stderr=stderr)
    if out.is_terminal:
        return out
    return Console(stderr=stderr, soft_wrap=True, width=1000, no_color=True, highlight=False)


console = _console()
err = _console(stderr=True)

# help in rich's boxes on a terminal; piped (``supplyfit --help | less``, a script's log) as plain text
MARKUP: Literal["rich"] | None = "rich" if console.is_terminal else None
app = typer.Typer(
    help="supplyfit: orders and reviews in; forecasts, production plans and insights out.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
    context_settings={"terminal_width": 120},  # plain help: each command's summary unshortened
    pretty_exceptions_show_locals=False,
    cls=OneLineErrors,
)
ingest_app = typer.Typer(
    help="Load orders or reviews files (CSV, Parquet, XLSX) into the store.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
)
app.add_typer(ingest_app, name="ingest")
scale_app = typer.Typer(
    help="Heavy stages on Parquet files, on this machine or on Spark (--engine spark).",
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
)
app.add_typer(scale_app, name="scale")
keys_app = typer.Typer(
    help="API keys for `supplyfit serve` (one tenant and role per key).", no_args_is_help=True, rich_markup_mode=MARKUP
)
app.add_typer(keys_app, name="keys")


DbOpt = typer.Option(DEFAULT_DB, "--db", help="DuckDB store file (`ingest` creates it; other commands need it).")
TenantOpt = typer.Option("default", "--tenant", help="Tenant whose data is read and written.")
DebugOpt = typer.Option(False, "--debug", help="Show the traceback of an error, not one line.")


@app.callback()
def main(ctx: typer.Context, debug: bool = DebugOpt) -> None:
    ctx.meta["supplyfit.debug"] = debug


def _say_error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", soft_wrap=True, highlight=False)


def _fail(message: str) -> None:
    _say_error(message)
    raise typer.Exit(2)


def _need_serve() -> None:
    """One line, not a traceback, when the service's packages (the [serve] extra) are not installed."""
    from importlib.util import find_spec

    missing = [m for m in ("fastapi", "uvicorn", "multipart", "standardwebhooks") if find_spec(m) is None]
    if missing:
        _fail(
            f"the service needs the [serve] extra ({', '.join(missing)} missing): pip install 'supplyfit[serve]' "
            "(in a checkout: pip install -e '.[serve]')"
        )


def _open(db: Path, tenant: str = "default", write: bool = False, create: bool = False) -> Store:
    """The store at ``db``, which must exist unless ``create``: a command that reads a store never creates one
    (nor its secret). A store that cannot be opened (held by a server, written by another DuckDB version or with
    another secret) raises :class:`StoreUnusable` with the store's own explanation."""
    if not create and not Path(db).is_file():
        raise FileNotFoundError(f"no store at {db}; load data first: supplyfit ingest orders FILE --db {db}")
    try:
        return Store(db, tenant=tenant, read_only=not (write or create))
    except (RuntimeError, duckdb.Error) as e:
        raise StoreUnusable(str(e) if str(e).startswith(str(db)) else f"{db}: {e}") from e


def _plain_table(title: str | None = None) -> Table:
    """A table: boxed on a terminal, plain aligned columns when piped (a log or a file gets no box drawing)."""
    return Table(title=title, show_lines=False) if console.is_terminal else Table(title=title, box=None)


def _df_table(df, title: str | None = None, limit: int = 20) -> Table:
    """The first ``limit`` rows of ``df``; a column of whole numbers (counts, units) prints without decimals."""
    from .monitor.sections import is_whole

    table = _plain_table(title)
    formats = [",.0f" if is_whole(df[col]) else ",.3f" for col in df.columns]
    for col in df.columns:
        table.add_column(str(col))
    for row in df.head(limit).itertuples(index=False):
        table.add_row(*[format(v, f) if isinstance(v, float) else str(v) for v, f in zip(row, formats, strict=True)])
    return table


@contextmanager
def _progress(what: str) -> Iterator[Callable[[str], None]]:
    """Yield a function that reports each step of ``what``: a spinner line on a terminal; when stderr is piped, one
    plain line per step on stdout (a log reads one line per step, no control characters, and stderr keeps to the
    one line of an error)."""
    if not err.is_terminal:
        yield lambda step: console.print(f"{what}: {step}")
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task(what)
        yield lambda step: progress.update(task, description=f"{what}: {step}")


def _ingest(kind: str, file: Path, db: Path, tenant: str, mapping: list[str], **options: Any) -> None:
    """Load one file of ``kind`` with ``--map`` pairs and the other options of :func:`supplyfit.store.ingest`, and
    print its load report; an unreadable file or value ends with exit 2."""
    if file.is_dir():
        _fail(f"{file} is a folder; give one file (CSV, TSV, Parquet or XLSX)")
    if not file.is_file():
        _fail(f"no file {file}")
    try:
        overrides = parse_overrides(mapping)
        with _open(db, tenant, create=True) as store, _progress(file.name) as step:
            report = ingest(store, file, kind, mapping=overrides, progress=step, **options)
    except IngestError as e:
        _fail(str(e))
    except ValueError as e:
        _fail(f"{file}: {e}")
    status = "[yellow]skipped[/] (same content loaded before)" if report.status == "skipped" else "[green]ok[/]"
    console.print(
        f"load {report.load_id} {status}: {report.rows_read:,} rows read = {report.stored:,} stored + "
        f"{report.quarantined:,} quarantined + {report.duplicates:,} duplicates"
    )
    if report.mapping:
        console.print("mapping: " + ", ".join(f"{src} → {fld}" for fld, src in report.mapping.items()))
    if report.personal:
        console.print("personal (stored as pseudonyms): " + ", ".join(report.personal))
    for reason, n in list(report.reasons.items())[:10]:
        console.print(f"  quarantined {n:,}: {reason}")
    if report.note:
        console.print(f"[yellow]note:[/] {report.note}")


PresetOpt = typer.Option(None, "--preset", help="Column preset: uci-online-retail | reviews-10cats.")
MapOpt = typer.Option([], "--map", help="SOURCE=FIELD column mapping; repeat for several.")
EncodingOpt = typer.Option(None, "--encoding", help="Text encoding of a CSV (detected when omitted).")
PersonalOpt = typer.Option(
    [],
    "--personal",
    help="Another source column holding personal data (stored only as a "
    "keyed pseudonym); customer ids, e-mail, phone, address and name headers always are.",
)
DecimalOpt = typer.Option(
    None,
    "--decimal",
    help="Decimal separator of text numbers, '.' or ',' (decided from the "
    "values when omitted; asked for when they don't tell).",
)
DateFormatOpt = typer.Option(
    None,
    "--date-format",
    help="day-first, month-first, or a format such as %d/%m/%Y "
    "(decided from the values when omitted; asked for when every day is <= 12).",
)
TimezoneOpt = typer.Option(
    None,
    "--timezone",
    help="Time zone the stored times are in, e.g. Asia/Shanghai "
    "(default UTC, or the tenant's from its first load with this option: later loads keep it); "
    "times with an offset (+08:00, Z) are converted to it.",
)


FileArg = typer.Argument(..., help="File to load: CSV, TSV, Parquet or XLSX.", show_default=False)


def _ingest_command(kind: str, summary: str) -> None:
    """Register ``supplyfit ingest KIND``: orders and reviews take the same file and options."""

    def command(
        file: Path = FileArg,
        db: Path = DbOpt,
        tenant: str = TenantOpt,
        preset: str | None = PresetOpt,
        map: list[str] = MapOpt,
        encoding: str | None = EncodingOpt,
        personal: list[str] = PersonalOpt,
        decimal: str | None = DecimalOpt,
        date_format: str | None = DateFormatOpt,
        timezone: str | None = TimezoneOpt,
    ) -> None:
        options = {"preset": preset, "encoding": encoding, "personal": personal, "decimal": decimal}
        _ingest(kind, file, db, tenant, map, date_format=date_format, tz=timezone, **options)

    command.__doc__ = summary
    ingest_app.command(kind)(command)


_ingest_command(
    "orders",
    "Load order lines: order_id, sku, quantity, unit_price, ts (+ description, customer_id, region, merchant...).",
)
_ingest_command("reviews", "Load reviews: text (+ category, sku, label or rating, ts, lang, merchant).")
_ingest_command(
    "events",
    "Load calendar events: name, start (+ end, scope all|category|sku, target, kind promotion|closure|launch).",
)


@app.command()
def status(db: Path = DbOpt, tenant: str = TenantOpt) -> None:
    """Tables and row counts, recent loads, and why rows were quarantined."""
    with _open(db, tenant) as store:
        info, names = store.status(), store.tenants()
    console.print(f"store {info['path']} (schema v{info['schema_version']}), tenant {info['tenant']}")
    if info["tenant"] not in names:
        others = escape(
            ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "") or "none yet"
        )
        console.print(
            f"[yellow]tenant {escape(info['tenant'])} has no data in this store[/] (tenants with data: {others})"
        )
    counts = _plain_table("tables")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for name, n in info["tables"].items():
        counts.add_row(name, f"{n:,}")
    console.print(counts)
    if len(info["loads"]):
        console.print(_df_table(info["loads"], "recent loads"))
    if len(info["quarantine_reasons"]):
        console.print(_df_table(info["quarantine_reasons"], "quarantine reasons"))
    if len(info["integrity"]):
        console.print(_df_table(info["integrity"], "[red]loads marked ok whose tables hold other rows than counted[/]"))
    if len(info["stale"]):
        console.print(
            _df_table(info["stale"], "[yellow]stale results: their inputs changed after they were written[/]")
        )
    classes = info["column_classes"].groupby(["table", "class"])["column"].agg(", ".join).reset_index()
    console.print(_df_table(classes, "column classes (personal columns hold keyed pseudonyms only)", limit=50))


DemoDbOpt = typer.Option(Path("out/demo.duckdb"), "--db", help="Store for the demo (recreated).")
DemoOutOpt = typer.Option(Path("out"), "--out", help="Folder for report.html and dashboard data.")


@app.command()
def demo(db: Path = DemoDbOpt, out: Path = DemoOutOpt) -> None:
    """Run the whole chain on the bundled sample and write OUT/report.html."""
    from .pipeline import run_demo

    with _progress("demo") as step:
        summary = run_demo(db, out, progress=step)
    for name, text in summary.items():
        console.print(f"[green]✓[/] {name}: {escape(str(text))}")  # '.[serve]' is text, not markup
    console.print(f"report: {out / 'report.html'}")


def _stage(name: str, db: Path, tenant: str, **kw: Any) -> None:
    """Run one pipeline stage on the store and print its summary; a missing input ends with exit 2."""
    with _open(db, tenant, write=True) as store, _progress(f"{name} stage"):
        summary = stage(name).run(store, **kw)
    console.print(f"[green]✓[/] {name}: {escape(str(summary))}")


StagesArg = typer.Argument(
    None,
    metavar="STAGE",
    show_default=False,
    help="Stages (or their commands) to run; "
    "default: all. They run in chain order: " + ", ".join(s.name for s in STAGES) + ".",
)


@app.command("run")
def run_stages(names: list[str] = StagesArg, db: Path = DbOpt, tenant: str = TenantOpt) -> None:
    """Run stages with their default options, in chain order.

    Named stages must have their inputs (exit 2 and what to run first if not); with none named, stages whose
    inputs are missing are skipped with a note."""
    try:
        wanted = {stage(n).name for n in names or ()}
    except ValueError as e:
        _fail(str(e))
    chosen = [s for s in STAGES if not wanted or s.name in wanted]
    ran = 0
    with _open(db, tenant, write=True) as store:
        for s in chosen:
            with _progress(f"{s.name} stage"):
                try:
                    summary = s.run(store)
                except MissingInput as e:
                    if wanted:
                        raise
                    console.print(f"[yellow]–[/] {s.name}: skipped: {escape(str(e))}")
                    continue
            ran += 1
            console.print(f"[green]✓[/] {s.name}: {summary}")
    if not ran:
        _fail("no stage had its inputs; load data first: supplyfit ingest orders FILE")


@app.command()
def voice(db: Path = DbOpt, tenant: str = TenantOpt) -> None:
    """Score and mine reviews: review_scores, aspects, design_brief, complaints tables."""
    _stage("voice", db, tenant)


@app.command()
def forecast(
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    h: int = typer.Option(8, "--h", "--horizon", min=1, max=104, help="Weeks ahead."),
    model: str = typer.Option(
        "auto",
        "--model",
        help="auto | lgbm | ses | tsb | ets | croston | imapa | adida | arima | seasonal_naive | naive",
    ),
    country: str | None = typer.Option(
        None, "--country", help="ISO code (GB, CN, ...): its public holidays enter the forecasts; kept for the tenant."
    ),
) -> None:
    """Weekly forecasts with quantiles for SKUs, categories and total (demand_panel, forecasts, backtest).

    The tenant's calendar counts: close-downs found in its history, its events (`supplyfit ingest events`) and,
    with --country, its public holidays."""
    _check_model(model)
    if country is not None:
        from .demand.calendar import public_holidays

        try:
            public_holidays(country, range(2020, 2021))  # a country without known holidays is a usage error
        except ValueError as e:
            _fail(f"--country: {e}")
        with _open(db, tenant, write=True) as store:
            store.set_country(country)
    _stage("demand", db, tenant, h=h, model=model)


def _check_model(name: str) -> None:
    from .demand.core import make_model

    try:
        make_model(name)
    except ValueError as e:
        _fail(f"--model: {e}")


def _dates(values: list[str], option: str) -> list[str]:
    """Dates given on the command line, as YYYY-MM-DD; a usage error (exit 2) for one that is not a date."""
    import pandas as pd

    out = []
    for v in values:
        try:
            out.append(f"{pd.Timestamp(v):%Y-%m-%d}")
        except (ValueError, TypeError):
            _fail(f"{option} {v!r} is not a date; give YYYY-MM-DD")
    return out


CutoffOpt = typer.Option([], "--cutoff", help="Cut-off date YYYY-MM-DD (repeat); default: up to 3 origins.")


@app.command()
def backtest(
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    cutoff: list[str] = CutoffOpt,
    h: int = typer.Option(8, "--h", "--horizon", min=1, max=104, help="Weeks ahead scored after each cut-off."),
    model: str = typer.Option("auto", "--model", help="Model to backtest (as `forecast --model`)."),
    active_weeks: int = typer.Option(26, help="Score series with a sale in this many weeks before."),
) -> None:
    """Rolling-origin backtest: WRMSSE, MASE, bias, pinball loss and coverage by level."""
    import pandas as pd

    from .demand.backtest import backtest as run_backtest
    from .demand.backtest import default_cutoffs
    from .demand.stage import history

    cutoffs = _dates(cutoff, "--cutoff")
    _check_model(model)
    with _open(db, tenant) as store:
        stage("demand").check(store)  # a backtest needs what forecasts need
        panel, _ = history(store)
    cutoffs = cutoffs or [f"{c:%Y-%m-%d}" for c in default_cutoffs(panel, h)]
    if not cutoffs:
        _fail(
            f"history too short for a backtest with h={h}: {panel['ds'].nunique()} complete week(s), the first "
            f"cut-off needs more than {3 * h} (try a smaller --h)"
        )
    with _progress(f"backtest at {', '.join(cutoffs)}"):
        try:
            res = run_backtest(panel, cutoffs, h=h, model=model, active_weeks=active_weeks)
        except ValueError as e:
            _fail(f"--cutoff: {e}")
    res["cutoff"] = pd.to_datetime(res["cutoff"]).dt.strftime("%Y-%m-%d")
    for level, part in res.groupby("level", sort=False):  # one narrow table per level reads in any terminal
        console.print(
            _df_table(
                part.drop(columns=["level", "model"]).set_index("cutoff").T.reset_index(names="metric"),
                f"backtest {level} level, model {model}, h={h}",
                limit=100,
            )
        )


InventoryOpt = typer.Option(
    None,
    exists=True,
    dir_okay=False,
    help="CSV, Excel or Parquet of stock per SKU (sku, on_hand, optional on_order; Chinese headers too), "
    "netted off the orders (default: no stock on hand).",
)


@app.command()
def plan(
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    policy: str | None = typer.Option(
        None, help="test-and-reorder (default): weekly reorders | season-buy: the season up front | naive-reorder."
    ),
    lead_time: int | None = typer.Option(None, min=0, max=52, help="Weeks from order to arrival (default 1)."),
    service_level: float | None = typer.Option(
        None, min=0.5, max=0.999, help="Chance a week's demand is met from what is made (default 0.9)."
    ),
    moq: float | None = typer.Option(None, min=0, help="Minimum order quantity: orders are rounded up to it."),
    capacity: float | None = typer.Option(
        None, min=0, help="Units that can be made per week, shared by order value (default: no limit)."
    ),
    inventory: Path | None = InventoryOpt,
) -> None:
    """Production plan and a replayed comparison of policies (options as in Python's supplyfit.supply.plan)."""
    from .supply import POLICIES, read_inventory

    if policy is not None and policy not in POLICIES:
        _fail(f"--policy must be one of {', '.join(POLICIES)}")
    try:
        stock = read_inventory(inventory) if inventory is not None else None
    except ValueError as e:
        _fail(f"{inventory}: {e}")
    given = {"policy": policy, "lead_time": lead_time, "service_level": service_level, "moq": moq, "capacity": capacity}
    given["inventory"] = stock
    _stage("supply", db, tenant, **{k: v for k, v in given.items() if v is not None})  # else the stage's default
    with _open(db, tenant) as store:
        orders = store.table("production_plan").sort_values("qty", ascending=False)
        console.print(_df_table(orders, f"production plan: top {min(len(orders), 20)} of {len(orders)} SKUs"))
        comp = store.table("policy_comparison")
        if len(comp):
            comp = comp.rename(
                columns={
                    "service_level": "SL",
                    "fill_rate": "fill",
                    "leftover_rate": "leftover",
                    "production_runs": "runs",
                }
            )
            console.print(
                _df_table(
                    comp[["policy", "SL", "fill", "leftover", "runs"]],
                    "policies replayed on the last 8 weeks (leftover = units left / made)",
                )
            )


DraftsArg = typer.Argument(
    ...,
    help="CSV, Excel or Parquet of new designs: id and description (+ price, category, preorders, preorder_weeks); "
    "English or Chinese headers.",
    show_default=False,
)
LaunchOutOpt = typer.Option(None, "--out", help="CSV to write the weekly forecasts and first batches to.")


@app.command()
def launch(
    drafts: Path = DraftsArg,
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    h: int = typer.Option(8, "--h", "--horizon", min=1, max=26, help="Weeks after launch to forecast."),
    moq: float = typer.Option(0, min=0, help="Minimum order quantity: a first batch is rounded up to it."),
    capacity: float | None = typer.Option(None, min=0, help="Units that can be made for all first batches together."),
    service_level: float = typer.Option(
        0.5, min=0.5, max=0.999, help="Chance the first batch covers its weeks (default the median: a test batch)."
    ),
    weeks_cover: int = typer.Option(2, min=1, max=26, help="Weeks the first batch covers (lead time + review)."),
    out: Path | None = LaunchOutOpt,
) -> None:
    """Launch demand of new designs from their description, price and pre-orders, and a small first batch each.

    Learns from the items whose first weeks the store's history holds (run `supplyfit forecast` first); each
    forecast lists the past launches it leans on."""
    import pandas as pd

    from .supply import MissingForecasts, read_drafts
    from .supply import launch as launch_drafts
    from .supply.launch import WEAK_ANALOG
    from .supply.policies import cover_quantile

    try:
        frame = read_drafts(drafts)
    except FileNotFoundError:
        _fail(f"no file {drafts}")
    except ValueError as e:
        _fail(f"{drafts.name}: {e}")
    try:  # a missing store is said as every command says it (INPUT_ERRORS), not as a missing drafts file
        with _open(db, tenant) as store:
            answer = launch_drafts(store, frame, h, moq, capacity, service_level, weeks_cover)
    except (ValueError, MissingForecasts) as e:
        _fail(f"{drafts.name}: {e}")
    fc, batches = answer.forecast, answer.batches.set_index("unique_id")
    lo, hi = cover_quantile(fc, h, 0.1), cover_quantile(fc, h, 0.9)
    total = fc.groupby("unique_id").yhat.sum()
    top = answer.analogs.drop_duplicates("unique_id").set_index("unique_id")
    names = frame.drop_duplicates("unique_id").set_index("unique_id")["description"]
    table = pd.DataFrame(
        {
            "design": total.index,
            "description": names.reindex(total.index).to_numpy(),
            f"units in {h} weeks": total.round().to_numpy(),
            "80% range": [f"{lo[i]:,.0f} – {hi[i]:,.0f}" for i in total.index],
            "first batch": batches.first_batch.reindex(total.index).to_numpy(),
            "closest past launch": [
                f"{top.analog_id.get(i, '')} {str(top.description.get(i, ''))[:30]} "
                f"({top.first_h_units.get(i, 0):,.0f})"
                for i in total.index
            ],
        }
    )
    console.print(_df_table(table, f"launch forecasts and first batches (MOQ {moq:g}, {weeks_cover} weeks covered)"))
    best = answer.analogs.groupby("unique_id")["similarity"].max().reindex(total.index).fillna(0.0)
    weak = best[best < WEAK_ANALOG]
    if len(weak):
        matches = ", ".join(f"{i} ({s:.0%})" for i, s in weak.items())
        console.print(
            f"[yellow]note:[/] no past design reads like {escape(matches)} (best match in brackets): their forecasts "
            "rest mostly on price and category; treat them as rough and keep the first batch small"
        )
    for uid, note in answer.notes.items():
        console.print(f"[yellow]note:[/] {escape(uid)}: {escape(note)}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        fc.merge(answer.batches, on="unique_id").to_csv(out, index=False)
        console.print(f"weekly forecasts → {out}")


@app.command()
def match(
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    min_support: float = typer.Option(0.01, min=0.0001, max=1.0, help="Share of baskets a rule's items must share."),
    min_confidence: float = typer.Option(
        0.2, min=0.0, max=1.0, help="Share of the antecedent's baskets that hold the consequent."
    ),
) -> None:
    """Basket rules, per-customer recommendations and RFM segments."""
    _stage("match", db, tenant, min_support=min_support, min_confidence=min_confidence)


@app.command()
def verify(
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    examples: int = typer.Option(3, min=0, max=50, help="Findings shown per kind."),
) -> None:
    """Check product information and score merchants or product lines.

    Descriptions, prices, categories, claims and non-product lines are checked; writes the `verification` and
    `credit` tables."""
    from .trust.credit import explain

    _stage("trust", db, tenant)
    with _open(db, tenant) as store:
        findings, credit = store.table("verification"), store.table("credit")
    console.print(
        _df_table(
            findings.groupby(["kind", "severity"]).size().reset_index(name="findings"), "findings by kind", limit=50
        )
    )
    for kind, g in findings.groupby("kind"):
        for r in g.head(examples).itertuples():
            console.print(f"[bold]{r.severity}[/] {kind}: {escape(str(r.reason))}")
    console.print(
        _df_table(
            credit[[credit.columns[0], "score", "grade"]],
            f"credit ({credit.basis.iloc[0]})" if len(credit) else "credit",
        )
    )
    console.print(_df_table(explain(), "how the credit score is made"))


@app.command()
def monitor(
    db: Path = DbOpt, tenant: str = TenantOpt, k: int = typer.Option(20, min=1, max=500, help="Hotspots to rank.")
) -> None:
    """Consumption indicators (weekly and monthly) and hotspots: the items about to rise most, with a reason;
    promotions loaded with `supplyfit ingest events` are features of the hotspot ranker, and past a year of
    history the forecasts of `supplyfit forecast` (when it ran) are blended into its list."""
    _stage("monitor", db, tenant, k=k)


ReportOutOpt = typer.Option(Path("out/report.html"), "--out", help="HTML file to write.")


@app.command()
def report(db: Path = DbOpt, tenant: str = TenantOpt, out: Path = ReportOutOpt) -> None:
    """Write the self-contained HTML report from the store's tables."""
    from .monitor.report import write_report

    with _open(db, tenant) as store:
        path = write_report(store, out)
    console.print(f"report: {path}")


WatchOpt = typer.Option(None, "--watch", help="Watch folder: load each new file put there (see `watch`).")


def _seconds(text: str, option: str) -> float:
    """A duration such as 90s, 30m, 1h or 1d in seconds; a usage error (exit 2) for anything else."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text.lower())
    if not m or float(m.group(1)) <= 0:
        _fail(f"{option} {text!r} is not a duration; give e.g. 90s, 30m, 1h or 1d")
    assert m is not None
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@app.command()
def serve(
    db: Path = DbOpt,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    max_upload_mb: float = typer.Option(512, help="Largest accepted upload."),
    webhook_allow: str = typer.Option(
        "", "--webhook-allow", metavar="HOST[,HOST...]", help="Hosts webhooks may be sent to (none by default)."
    ),
    watch: Path | None = WatchOpt,
    watch_kind: str = typer.Option("orders", "--watch-kind", help="orders | reviews"),
    watch_tenant: str = typer.Option("default", "--watch-tenant", help="Tenant the watched files load into."),
    refresh_every: str | None = typer.Option(
        None,
        "--refresh-every",
        metavar="DURATION",
        help="Rerun the stages of tenants whose results are stale this often, e.g. 30m, 1h, 1d (default: never).",
    ),
) -> None:
    """REST API (docs at /docs) and the dashboard (/) on the store; needs keys from `supplyfit keys create`."""
    _need_serve()
    import uvicorn

    from .api import create_app
    from .live.engine import LiveOptions

    if watch_kind not in ("orders", "reviews"):
        _fail("--watch-kind must be orders or reviews")
    every = _seconds(refresh_every, "--refresh-every") if refresh_every else None
    app = create_app(db, max_upload_mb=max_upload_mb)
    app.state.live_options = LiveOptions(
        webhook_allow=frozenset(h.strip().lower() for h in webhook_allow.split(",") if h.strip()),
        watch=watch,
        watch_kind=watch_kind,
        watch_tenant=watch_tenant,
        refresh_every=every,
    )
    console.print(f"supplyfit on http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


FolderArg = typer.Argument(..., help="Folder to watch for new files.", show_default=False)


@app.command()
def watch(
    folder: Path = FolderArg,
    kind: str = typer.Option("orders", "--kind", help="orders | reviews"),
    db: Path = DbOpt,
    tenant: str = TenantOpt,
    interval: float = typer.Option(1.0, min=0.05, help="Seconds between scans."),
    once: bool = typer.Option(False, "--once", help="Take the files there now and stop."),
) -> None:
    """Load each new file put in FOLDER once, then move it to FOLDER/done/ or FOLDER/failed/.

    A loaded file goes with its load report, a failed one with a reason file. A file is taken once its size held
    still between two scans."""
    import threading

    from .live.watch import Watcher

    if kind not in ("orders", "reviews"):
        _fail("--kind must be orders or reviews")
    with _open(db, tenant, create=True) as store:
        watcher = Watcher(folder, lambda p: ingest(store, p, kind, name=p.name), say=console.print)
        if once:
            watcher.scan()  # sizes noted; the next scan takes the files that held still
            watcher.scan()
            return
        console.print(f"watching {folder} for {kind} (Ctrl-C stops)")
        try:
            watcher.run(threading.Event(), interval)
        except KeyboardInterrupt:
            pass


ExportOutOpt = typer.Option(..., "--out", help="File to write: .csv, .parquet or .json; - prints CSV.")
ExportIdOpt = typer.Option(
    [], "--id", help="Only the rows of this SKU, category or customer id (its unique_id, sku or customer_id); repeat."
)


@app.command()
def export(
    table: str = typer.Argument(..., help="Result table, e.g. forecasts, production_plan, segments."),
    out: Path = ExportOutOpt,
    ids: list[str] = ExportIdOpt,
    db: Path = DbOpt,
    tenant: str = TenantOpt,
) -> None:
    """Write one result table of a tenant to a file (source tables and keys are not exportable).

    One SKU's forecast on the terminal: supplyfit export forecasts --id 85123A --out -"""
    from .store.db import is_result_table

    if not is_result_table(table):
        _fail(f"{table} is not a result table; results: see `supplyfit status`")
    stdout = str(out) == "-"
    writers = {
        ".csv": lambda df: df.to_csv(sys.stdout if stdout else out, index=False),
        ".parquet": lambda df: df.to_parquet(out, index=False),
        ".json": lambda df: df.to_json(out, orient="records", date_format="iso", force_ascii=False),
    }
    suffix = ".csv" if stdout else out.suffix.lower()
    if suffix not in writers:
        _fail(f"--out must end in {', '.join(writers)}, or be - (CSV on the terminal)")
    with _open(db, tenant) as store:
        if not rows(store, table):
            command = producer(table)
            _fail(
                f"no {table} rows for tenant {tenant!r}: run `{command}` first"
                if command
                else f"no result table {table!r}; `supplyfit status` lists the tables"
            )
        df = store.table(table)
    if ids:
        key = next((c for c in ("unique_id", "sku", "customer_id") if c in df.columns), None)
        if key is None:
            _fail(f"{table} has no unique_id, sku or customer_id column to pick --id from")
        df = df[df[key].astype(str).isin(ids)]
        if df.empty:
            _fail(f"no {table} rows for {', '.join(ids)} (its {key} column)")
    if stdout:
        writers[suffix](df)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    writers[suffix](df)
    console.print(f"{len(df):,} rows of {table} → {out}")


EngineOpt = typer.Option("local", "--engine", help="local (embedded) or spark.")
MasterOpt = typer.Option(None, "--master", help="Spark master, e.g. local[4] (default: as spark-submit set it).")
InputArg = typer.Argument(..., help="Parquet file or folder (local path or any Hadoop-compatible URI).")
OutputOpt = typer.Option(..., "--output", help="Parquet output (a folder with --engine spark).")


def _scale(step: str, engine: str, master: str | None, **kw) -> None:
    from . import scale

    if engine not in ("local", "spark"):
        _fail("--engine must be local or spark")
    spark = scale.spark_session(master) if engine == "spark" else None
    try:
        with _progress(f"{step} on {engine}"):
            result = getattr(scale, step)(engine=engine, spark=spark, **kw)
    except ValueError as e:  # bad input, said in one line (exit 2)
        _fail(f"scale {step}: {e}")
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        rows = len(result)
    elif spark is not None:
        rows = spark.read.parquet(str(kw["output"])).count()
    else:  # written out of core: count from the file's metadata
        import pyarrow.dataset as ds

        rows = ds.dataset(str(kw["output"])).count_rows()
    console.print(f"[green]✓[/] {step}: {rows:,} rows → {kw['output']}")


@scale_app.command("load")
def scale_load(
    input: str = InputArg,
    table: str = typer.Option(..., "--table", help="Result table to (re)write."),
    db: Path = DbOpt,
    tenant: str = TenantOpt,
) -> None:
    """Put a Parquet result (a file or Spark's output folder) into the store as a tenant's result table."""
    import pandas as pd

    try:
        frame = pd.read_parquet(input)
        if table == "forecasts" and "level" not in frame:
            frame["level"] = "sku"  # `scale forecast` forecasts SKUs; the stored table holds every level
        with _open(db, tenant, create=True) as store:
            n = store.write_result(table, frame)
    except ValueError as e:
        _fail(str(e))
    console.print(f"[green]✓[/] {n:,} rows → table {table} of tenant {tenant} in {db}")


@scale_app.command("panel")
def scale_panel(
    input: str = InputArg, output: str = OutputOpt, engine: str = EngineOpt, master: str | None = MasterOpt
) -> None:
    """Weekly SKU panel from order lines (order_id, sku, quantity, unit_price, ts [, is_return, is_product,
    category])."""
    _scale("build_panel", engine, master, orders=input, output=output)


@scale_app.command("forecast")
def scale_forecast(
    input: str = InputArg,
    output: str = OutputOpt,
    engine: str = EngineOpt,
    master: str | None = MasterOpt,
    h: int = typer.Option(8, min=1, max=104, help="Weeks ahead."),
    model: str = typer.Option("ses", help="Per-series models give the same result on either engine."),
    shards: int = typer.Option(64, min=1, help="Spark: series groups, one task each."),
) -> None:
    """Forecasts with quantiles for every series of a panel (unique_id, ds, y)."""
    _scale("forecast", engine, master, panel=input, output=output, h=h, model=model, shards=shards)


@scale_app.command("score")
def scale_score(
    input: str = InputArg, output: str = OutputOpt, engine: str = EngineOpt, master: str | None = MasterOpt
) -> None:
    """Sentiment scores (p_positive, predicted) for reviews with a ``text`` column."""
    _scale("score_reviews", engine, master, reviews=input, output=output)


@scale_app.command("sense")
def scale_sense(
    drops: str = typer.Argument(
        ..., help="Folder of order-event drops (*.ndjson or *.parquet), read oldest first.", show_default=False
    ),
    forecasts: str = typer.Option(..., "--forecasts", help="Parquet of SKU forecasts (unique_id, ds, yhat, q10, q90)."),
    output: str = typer.Option(..., "--output", help="NDJSON file the signals are written to, one a line."),
    engine: str = EngineOpt,
    master: str | None = MasterOpt,
    threshold: float = typer.Option(3.0, min=0.5, help="Sensing score (z) past which a signal is raised."),
    min_units: float = typer.Option(10.0, min=0, help="Units sold (above) or expected (below) a signal needs."),
) -> None:
    """Demand sensing over a stream of drops (Spark Structured Streaming with --engine spark): the week so far per
    SKU against its forecast, and demand_above/below_forecast signals, as the server raises them."""
    from .live.signals import Rules

    _scale("sense", engine, master, drops=drops, forecasts=forecasts, output=output, rules=Rules(threshold, min_units))


@scale_app.command("rules")
def scale_rules(
    input: str = InputArg,
    output: str = OutputOpt,
    engine: str = EngineOpt,
    master: str | None = MasterOpt,
    min_support: float = typer.Option(0.01, min=0.0, max=1.0, help="Share of baskets a rule's items must share."),
    min_confidence: float = typer.Option(
        0.1, min=0.0, max=1.0, help="Share of the antecedent's baskets that hold the consequent."
    ),
) -> None:
    """Association rules over the invoices of order lines (order_id, sku)."""
    _scale(
        "mine_rules",
        engine,
        master,
        orders=input,
        output=output,
        min_support=min_support,
        min_confidence=min_confidence,
    )


@keys_app.command("create")
def keys_create(
    tenant: str = typer.Option(..., "--tenant", help="Tenant the key reads and writes."),
    role: str = typer.Option("reader", "--role", help="reader | writer | admin"),
    db: Path = DbOpt,
) -> None:
    """Create a key; it is printed once and stored only as a hash. Makes the store if there is none (a new
    service starts empty: its first upload fills it), and says so, or says when the tenant has no data yet."""
    _need_serve()
    from .api import create_key

    new = not Path(db).is_file()
    try:
        with _open(db, create=True) as store:
            key = create_key(store, tenant, role)
            with_orders = [] if new else _tenants_with_orders(store)
    except ValueError as e:
        _fail(str(e))
    console.print(key, soft_wrap=True)
    if new:
        err.print(f"note: made a new, empty store at {db}; its tenant {tenant!r} starts with the upload of its data")
    elif tenant not in with_orders and with_orders:
        err.print(f"note: tenant {tenant!r} has no orders in {db} yet; tenants with orders: {', '.join(with_orders)}")


def _tenants_with_orders(store: Store) -> list[str]:
    found = store.con.execute("SELECT DISTINCT tenant FROM orders ORDER BY 1 LIMIT 20").fetchall()
    return [t for (t,) in found]


@keys_app.command("list")
def keys_list(
    db: Path = DbOpt,
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's keys (default: all)."),
) -> None:
    """Key ids, tenants and roles (never the keys)."""
    _need_serve()
    from .api import list_keys

    with _open(db, write=True) as store:
        console.print(_df_table(list_keys(store, tenant), "API keys", limit=1000))


KeyIdArg = typer.Argument(..., help="Key id, the part of the key after 'sf_'.", show_default=False)


@keys_app.command("revoke")
def keys_revoke(key_id: str = KeyIdArg, db: Path = DbOpt) -> None:
    """Revoke a key by its id (the part after 'sf_')."""
    _need_serve()
    from .api import revoke_key

    with _open(db, write=True) as store:
        if not revoke_key(store, key_id):
            _fail(f"no live key {key_id}")
    console.print(f"revoked {key_id}")


if __name__ == "__main__":
    app()
