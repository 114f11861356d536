"""Ordinary but thin data never crashes a stage: every command on an empty store, three lines, one week, orders
without customer ids, reviews only, orders only, and two tenants of which one ran the stages.

Each command either works (exit 0) or says in one line on stderr what is missing and what to run (exit 2).
Stores are built once per scenario through the CLI and copied for every test, so the tests are independent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from supplyfit.cli import app
from supplyfit.pipeline import sample_path

UCI = ["--preset", "uci-online-retail"]
STAGE_COMMANDS = ["voice", "forecast", "backtest", "plan", "match", "verify", "monitor"]


def cli(*args: object) -> Result:
    return Result(CliRunner().invoke(app, [str(a) for a in args], prog_name="supplyfit"))


class Result:
    """A finished command: exit code, stdout, stderr (click >= 8.2 keeps them apart)."""

    def __init__(self, res):
        self.code, self.out, self.err, self.exception = res.exit_code, res.stdout, res.stderr, res.exception

    def ok(self) -> Result:
        assert self.code == 0, f"exit {self.code}\n{self.out}\n{self.err}\n{self.exception!r}"
        return self

    def missing(self, *needles: str) -> Result:
        """Exit 2 with one line on stderr naming each of ``needles`` (what to run), no traceback."""
        assert self.code == 2, f"exit {self.code}\n{self.out}\n{self.err}\n{self.exception!r}"
        lines = self.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), self.err
        assert "Traceback" not in self.err + self.out
        for n in needles:
            assert n in lines[0], (n, lines[0])
        return self


def orders_until(end: str) -> pd.DataFrame:
    src = pd.read_parquet(sample_path("sample_orders.parquet"))
    return src[src["InvoiceDate"] < end]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("files")
    out = {
        "three": d / "three.csv",
        "week": d / "week.csv",
        "fullweek": d / "fullweek.csv",
        "weeks": d / "weeks.parquet",
        "nocust": d / "nocust.csv",
        "reviews": d / "reviews.csv",
    }
    orders_until("2009-12-02").head(3).to_csv(out["three"], index=False)
    orders_until("2009-12-07").to_csv(out["week"], index=False)  # Tuesday to Sunday afternoon: no complete week
    orders_until("2009-12-14").to_csv(out["fullweek"], index=False)  # one complete week, the next one in progress
    weeks = orders_until("2010-01-11")  # five complete weeks and a few days
    weeks.to_parquet(out["weeks"], index=False)
    weeks.drop(columns=["Customer ID"]).to_csv(out["nocust"], index=False)
    pd.read_csv(sample_path("sample_reviews.csv")).groupby("cat").head(40).to_csv(out["reviews"], index=False)
    return out


@pytest.fixture(scope="module")
def stores(tmp_path_factory, files) -> dict[str, Path]:
    """One store per scenario, built through the CLI (read by copying, never written)."""
    d = tmp_path_factory.mktemp("stores")
    built = {
        name: d / f"{name}.duckdb"
        for name in ("empty", "three", "week", "fullweek", "nocust", "reviews", "orders", "tenants")
    }
    cli("keys", "create", "--tenant", "t", "--db", built["empty"]).ok()  # a store with no data at all
    cli("ingest", "orders", files["three"], *UCI, "--db", built["three"]).ok()
    cli("ingest", "orders", files["week"], *UCI, "--db", built["week"]).ok()
    cli("ingest", "orders", files["fullweek"], *UCI, "--db", built["fullweek"]).ok()
    cli("ingest", "orders", files["nocust"], "--preset", "uci-online-retail", "--db", built["nocust"]).ok()
    cli("ingest", "reviews", files["reviews"], "--preset", "reviews-10cats", "--db", built["reviews"]).ok()
    cli("ingest", "orders", files["weeks"], *UCI, "--db", built["orders"]).ok()
    for tenant in ("a", "b"):
        cli("ingest", "orders", files["weeks"], *UCI, "--db", built["tenants"], "--tenant", tenant).ok()
    cli("run", "--db", built["tenants"], "--tenant", "a").ok()
    return built


@pytest.fixture
def store(request, stores, tmp_path) -> Path:
    """A private copy of the scenario store named by the test's ``scenario`` parameter."""
    src = stores[request.param]
    dst = tmp_path / src.name
    for f in src.parent.glob(src.name + "*"):
        shutil.copy(f, tmp_path / f.name)
    return dst


def outcomes(table: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(scenario, command, needles) rows: needles () = works, else exit 2 naming them."""
    rows = []
    for line in table.strip().splitlines():
        scenario, command, expect = (part.strip() for part in line.split("|"))
        rows.append((scenario, command, () if expect == "ok" else tuple(expect.split(" & "))))
    return rows


EXPECTED = outcomes("""
empty   | voice    | no reviews & supplyfit ingest reviews FILE
empty   | forecast | no product order lines & supplyfit ingest orders FILE
empty   | backtest | no product order lines & supplyfit ingest orders FILE
empty   | plan     | no demand_panel & run `supplyfit forecast` first
empty   | match    | supplyfit ingest orders FILE
empty   | verify   | supplyfit ingest orders FILE
empty   | monitor  | supplyfit ingest orders FILE
three   | voice    | supplyfit ingest reviews FILE
three   | forecast | not enough history & no complete week
three   | backtest | not enough history
three   | plan     | run `supplyfit forecast` first
three   | match    | ok
three   | verify   | ok
three   | monitor  | ok
week    | voice    | supplyfit ingest reviews FILE
week    | forecast | not enough history & 2009-12-01 – 2009-12-06
week    | backtest | not enough history
week    | plan     | run `supplyfit forecast` first
week    | match    | ok
week    | verify   | ok
week    | monitor  | ok
fullweek | forecast | ok
fullweek | backtest | history too short & 1 complete week(s)
fullweek | plan     | run `supplyfit forecast` first
fullweek | match    | ok
fullweek | verify   | ok
fullweek | monitor  | ok
nocust  | voice    | supplyfit ingest reviews FILE
nocust  | forecast | ok
nocust  | backtest | history too short & 5 complete week(s)
nocust  | plan     | run `supplyfit forecast` first
nocust  | match    | ok
nocust  | verify   | ok
nocust  | monitor  | ok
reviews | voice    | ok
reviews | forecast | supplyfit ingest orders FILE
reviews | backtest | supplyfit ingest orders FILE
reviews | plan     | run `supplyfit forecast` first
reviews | match    | supplyfit ingest orders FILE
reviews | verify   | supplyfit ingest orders FILE
reviews | monitor  | supplyfit ingest orders FILE
orders  | voice    | supplyfit ingest reviews FILE
orders  | forecast | ok
orders  | backtest | history too short & try a smaller --h
orders  | plan     | no demand_panel & run `supplyfit forecast` first
orders  | match    | ok
orders  | verify   | ok
orders  | monitor  | ok
""")


@pytest.mark.parametrize(
    "store,command,needles", EXPECTED, indirect=["store"], ids=[f"{s}-{c}" for s, c, _ in EXPECTED]
)
def test_stage_works_or_says_what_is_missing(store, command, needles):
    res = cli(command, "--db", store)
    if needles:
        res.missing(f"error: {command}: " if command != "backtest" else "error: ", *needles)
    else:
        assert "✓" in res.ok().out or command == "backtest"


@pytest.mark.parametrize("store", ["fullweek", "nocust", "orders"], indirect=True)
def test_plan_and_backtest_after_forecast(store):
    cli("forecast", "--db", store, "--h", "2", "--model", "ses").ok()
    assert "production plan: top" in cli("plan", "--db", store).ok().out
    if "fullweek" not in store.name:  # a backtest needs more than 3 h weeks
        assert "wrmsse" in cli("backtest", "--db", store, "--h", "1", "--model", "ses").ok().out.lower()


@pytest.mark.parametrize("store", ["empty", "three", "week", "fullweek", "nocust", "reviews", "orders"], indirect=True)
def test_report_on_any_store(store, tmp_path):
    cli("run", "--db", store)  # whatever could run has run
    out = tmp_path / "r.html"
    cli("report", "--db", store, "--out", out).ok()
    html = out.read_text(encoding="utf-8")
    assert html.count("<section id=") == 8


@pytest.mark.parametrize("store", ["empty"], indirect=True)
def test_run_on_an_empty_store_says_to_load_data(store):
    res = cli("run", "--db", store).missing("no stage had its inputs", "supplyfit ingest orders FILE")
    assert res.out.count("skipped") == 6


@pytest.mark.parametrize("store", ["week"], indirect=True)
def test_run_skips_what_cannot_run_and_runs_the_rest(store):
    out = cli("run", "--db", store).ok().out
    assert [line.split(":")[0][2:] for line in out.splitlines() if line[:1] in "✓–"] == [
        "voice",
        "demand",
        "supply",
        "match",
        "trust",
        "monitor",
    ]
    assert "– voice: skipped" in out and "– demand: skipped: not enough history" in out
    assert "✓ match" in out and "✓ trust" in out and "✓ monitor" in out


@pytest.mark.parametrize("store", ["orders"], indirect=True)
def test_run_named_stages_in_chain_order_and_by_command_name(store):
    out = cli("run", "plan", "forecast", "--db", store).ok().out  # 'plan' = supply, after demand
    assert out.index("✓ demand") < out.index("✓ supply")
    cli("run", "voice", "--db", store).missing("error: run: no reviews", "supplyfit ingest reviews FILE")
    cli("run", "nosuch", "--db", store).missing("no stage 'nosuch'", "demand (forecast)")


@pytest.mark.parametrize("store", ["tenants"], indirect=True)
def test_two_tenants_where_one_ran_the_stages(store, tmp_path):
    b = ["--db", store, "--tenant", "b"]
    cli("plan", *b).missing("no demand_panel for tenant 'b'", "run `supplyfit forecast` first")
    cli("export", "forecasts", "--out", tmp_path / "f.csv", *b).missing(
        "no forecasts rows for tenant 'b'", "supplyfit forecast"
    )
    cli("export", "forecast", "--out", tmp_path / "f.csv", *b).missing("no result table 'forecast'", "supplyfit status")
    cli("voice", *b).missing("no reviews for tenant 'b'")
    cli("backtest", *b).missing("history too short")
    for command in ("match", "verify", "monitor"):
        cli(command, *b).ok()
    cli("report", *b, "--out", tmp_path / "b.html").ok()
    html = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert "data-section='demand' data-missing='1'" in html and "data-section='trust' data-missing='0'" in html
    cli("forecast", "--h", "2", "--model", "ses", *b).ok()
    cli("plan", *b).ok()
    cli("export", "forecasts", "--out", tmp_path / "a.csv", "--db", store, "--tenant", "a").ok()
    assert len(pd.read_csv(tmp_path / "a.csv")) > 0


@pytest.mark.parametrize(
    "command", ["voice", "forecast", "plan", "match", "verify", "monitor", "report", "status", "backtest", "run"]
)
def test_commands_that_read_a_store_never_create_one(tmp_path, command):
    db = tmp_path / "none.duckdb"
    cli(command, "--db", db).missing("no store at", "supplyfit ingest orders FILE")
    assert list(tmp_path.iterdir()) == []


def test_ingest_a_folder_or_a_missing_file(tmp_path):
    cli("ingest", "orders", tmp_path, "--db", tmp_path / "s.duckdb").missing("is a folder")
    cli("ingest", "reviews", tmp_path / "nope.csv", "--db", tmp_path / "s.duckdb").missing("no file")
    assert not (tmp_path / "s.duckdb").exists()


@pytest.mark.parametrize("store", ["orders"], indirect=True)
def test_bad_dates_and_models_are_usage_errors(store):
    cli("backtest", "--cutoff", "notadate", "--db", store).missing("--cutoff 'notadate' is not a date")
    cli("backtest", "--cutoff", "2001-01-01", "--h", "1", "--db", store).missing("leaves no history before it")
    cli("backtest", "--cutoff", "2030-01-01", "--h", "1", "--db", store).missing("fewer than h=1 weeks")
    cli("forecast", "--model", "magic", "--db", store).missing("unknown model 'magic'")
    cli("forecast", "--h", "abc", "--db", store).missing("Invalid value for '--h'", "supplyfit forecast --help")
    cli("ingest", "orders").missing("Missing argument", "supplyfit ingest orders --help")


@pytest.mark.parametrize("store", ["orders"], indirect=True)
def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(store, tmp_path):
    cli("forecast", "--h", "2", "--model", "ses", "--db", store).ok()
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "f.csv"  # its folder is a file
    res = cli("export", "forecasts", "--out", out, "--db", store)
    assert res.code == 1 and len(res.err.strip().splitlines()) == 1, res.err
    assert res.err.startswith("error: export: FileExistsError: ") and "--debug" in res.err
    res = cli("--debug", "export", "forecasts", "--out", out, "--db", store)
    assert res.code == 1 and isinstance(res.exception, FileExistsError)  # raised, for its traceback


def test_a_file_that_is_not_a_store(tmp_path):
    db = tmp_path / "s.duckdb"
    db.write_bytes(b"not a duckdb file")
    cli("status", "--db", db).missing(f"error: status: {db}: ")


@pytest.mark.parametrize("store", ["nocust"], indirect=True)
def test_orders_without_customer_ids(store, tmp_path):
    cli("match", "--db", store).ok()
    cli("export", "segments", "--out", tmp_path / "s.csv", "--db", store).missing("no segments rows")
    cli("report", "--db", store, "--out", tmp_path / "r.html").ok()
    assert "No segments: the orders carry no customer ids." in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_one_review_without_a_category(tmp_path):
    (tmp_path / "r.csv").write_text("text\n很好\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    cli("ingest", "reviews", tmp_path / "r.csv", "--db", db).ok()
    assert "1 reviews scored, 0 aspects in 1 categories" in cli("voice", "--db", db).ok().out
    cli("report", "--db", db, "--out", tmp_path / "r.html").ok()
    assert "No aspect is named often enough" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_week_then_more_weeks(tmp_path, files):
    db = tmp_path / "s.duckdb"
    cli("ingest", "orders", files["week"], *UCI, "--db", db).ok()
    assert "0 hotspots" in cli("monitor", "--db", db).ok().out  # no complete week: empty, with a note
    cli("ingest", "orders", files["weeks"], *UCI, "--db", db).ok()
    assert "20 hotspots" in cli("monitor", "--db", db).ok().out


def test_tenant_with_empty_results_first(tmp_path, files):
    db = tmp_path / "s.duckdb"
    cli("ingest", "orders", files["week"], *UCI, "--db", db, "--tenant", "a").ok()
    cli("ingest", "orders", files["weeks"], *UCI, "--db", db, "--tenant", "b").ok()
    cli("monitor", "--db", db, "--tenant", "a").ok()
    cli("monitor", "--db", db, "--tenant", "b").ok()
