"""The asset registry: a valid run order, declarations that match what the stages write, writes checked against
them, results per tenant, stale results after a load and fresh ones after the stage ran again."""

from __future__ import annotations

import graphlib
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from supplyfit.api.routers.results import EXPORTABLE, INDICATORS
from supplyfit.assets import DECLARED, RESULTS, SOURCES, STAGES, Result, Stage, _ordered, stage, stale
from supplyfit.cli import app
from supplyfit.monitor.report import write_report
from supplyfit.monitor.sections import BUILDERS
from supplyfit.pipeline import DASHBOARD_TABLES, sample_path
from supplyfit.store import Store, ingest
from supplyfit.store.db import INTERNAL_TABLES, SOURCE_TABLES


def _orders(folder: Path, start: str, end: str) -> Path:
    """The bundled sample's order lines from ``start`` to before ``end``, as a Parquet file."""
    src = pd.read_parquet(sample_path("sample_orders.parquet"))
    path = folder / f"orders_{start}_{end}.parquet"
    src[(src["InvoiceDate"] >= start) & (src["InvoiceDate"] < end)].to_parquet(path, index=False)
    return path


def _load(store: Store, path: Path) -> None:
    ingest(store, path, "orders", preset="uci-online-retail")


def test_the_run_order_is_a_topological_order_of_the_declarations():
    seen: set[str] = set(SOURCES)
    for s in STAGES:
        assert all(t in seen for t in s.inputs), f"{s.name} runs before an input of it is written"
        seen |= {r.name for r in s.writes}
    assert sorted(s.name for s in STAGES) == sorted(s.name for s in DECLARED)
    assert [s.name for s in STAGES] == ["voice", "demand", "supply", "match", "trust", "monitor"]
    assert stage("forecast") is stage("demand") and stage("demand").writes[1].name == "forecasts"


def test_a_cycle_or_an_input_nobody_provides_is_refused():
    a = Stage("a", "a", "cheap", needs=("t_b",), writes=(Result("t_a", "x DOUBLE"),))
    b = Stage("b", "b", "cheap", needs=("t_a",), writes=(Result("t_b", "x DOUBLE"),))
    with pytest.raises(graphlib.CycleError):
        _ordered((a, b))
    lone = Stage("c", "c", "cheap", needs=("nowhere",), writes=(Result("t_c", "x DOUBLE"),))
    with pytest.raises(ValueError, match="stage 'c' reads 'nowhere', which no source or stage provides"):
        _ordered((lone,))
    twice = Stage("d", "d", "cheap", needs=("orders",), writes=(Result("t_a", "x DOUBLE"),))
    with pytest.raises(ValueError, match="result table 't_a' of stage 'd' is already an asset's name"):
        _ordered((a, twice))


def test_every_declared_table_is_what_the_stage_writes_on_the_sample(demo_store):
    with Store(demo_store, read_only=True) as st:
        written = set(st.query("SELECT name FROM result_meta WHERE tenant = 'default'").name)
        assert written == set(RESULTS)  # the sample runs every stage, and they write only declared tables
        for name, decl in RESULTS.items():
            columns = {c: t for c, t, *_ in st.con.execute(f'DESCRIBE "{name}"').fetchall()}
            assert columns.pop("tenant") == "VARCHAR"
            assert {c: columns.get(c) for c in decl.columns} == decl.columns, name
            assert decl.extra or set(columns) == set(decl.columns), name
        assert stale(st) == []


def test_export_allowlist_dashboard_and_indicators_come_from_the_registry():
    assert EXPORTABLE == set(RESULTS)
    assert not EXPORTABLE & set(SOURCE_TABLES + INTERNAL_TABLES)
    assert set(DASHBOARD_TABLES) == {n for n, r in RESULTS.items() if r.dashboard} and "forecasts" in DASHBOARD_TABLES
    assert INDICATORS == (
        "totals", "by_dimension", "contribution", "concentration", "price_bands", "customers", "sentiment", "forecast"
    )  # fmt: skip


def test_each_report_section_of_a_stage_is_claimed_by_one_stage(db):
    with Store(db) as st:
        keys = [build(st).key for build in BUILDERS]  # an empty store: every section says what to run
    assert sorted(k for s in STAGES for k in s.sections) == sorted(k for k in keys if k != "data")


def test_a_write_that_breaks_the_declaration_fails_naming_table_and_column(db):
    good = pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2024-01-01")], "qty": [5.0]})
    with Store(db) as st:
        st.write_result("production_plan", good)
        cases = {
            "result table 'production_plan': column 'qty' (DOUBLE) is missing; declared columns: unique_id, ds, "
            "qty (in supplyfit/assets.py)": good.drop(columns="qty"),
            "result table 'production_plan': column 'qty' is VARCHAR, declared DOUBLE": good.assign(qty="5"),
            "result table 'production_plan': column 'ds' is VARCHAR, declared TIMESTAMP_NS": good.assign(ds="x"),
            "result table 'production_plan': column 'note' is not declared": good.assign(note="x"),
        }
        for message, frame in cases.items():
            with pytest.raises(ValueError) as e:
                st.write_result("production_plan", frame)
            assert str(e.value).startswith(message), str(e.value)
        assert st.table("production_plan").qty.tolist() == [5.0]  # nothing written by a refused write
        st.write_result("credit", pd.DataFrame({"merchant": ["m"], "score": [90.0], "grade": ["A"]}))  # extra allowed
        with pytest.raises(ValueError, match="'credit': column 'grade' \\(VARCHAR\\) is missing; .* and more"):
            st.write_result("credit", pd.DataFrame({"merchant": ["m"], "score": [90.0]}))
        st.write_result("scratch", pd.DataFrame({"anything": [1]}))  # undeclared names stay free


def test_a_declared_table_takes_its_declared_types(db):
    """An empty write types the table as declared (not VARCHAR); integers go to a declared DOUBLE column exactly."""
    with Store(db) as st:
        st.write_result("ind_sentiment", pd.DataFrame(columns=["period", "category", "reviews", "positive_share",
                                                               "index", "freq"]))  # fmt: skip
        st.write_result("production_plan", pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2024-01-01")],
                                                         "qty": [3]}))  # fmt: skip
        sql = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?"
        types = {n: dict(st.con.execute(sql, [n]).fetchall()) for n in ("ind_sentiment", "production_plan")}
        assert types["ind_sentiment"] == {"tenant": "VARCHAR", **RESULTS["ind_sentiment"].columns}
        assert types["production_plan"] == {"tenant": "VARCHAR", **RESULTS["production_plan"].columns}
        assert st.table("production_plan").qty.tolist() == [3.0]


def test_has_result_answers_for_this_tenant_only(db):
    with Store(db, tenant="a") as a:
        b = a.scoped("b")
        assert not a.has_result("rules") and not b.has_result("rules")
        a.write_result("scratch", pd.DataFrame({"x": [1]}))
        b.write_result("scratch", pd.DataFrame({"x": pd.Series([], dtype=float)}))
        assert a.has_result("scratch") and not b.has_result("scratch") and b.has_table("scratch")
        b.close()


def test_results_go_stale_after_a_load_and_fresh_after_the_stage_ran(tmp_path, db):
    first, later = _orders(tmp_path, "2009-12-01", "2010-01-11"), _orders(tmp_path, "2010-01-11", "2010-01-25")
    with Store(db) as st:
        _load(st, first)
        for name, options in (("demand", {"h": 2, "model": "ses"}), ("supply", {}), ("trust", {})):
            stage(name).run(st, **options)
        assert stale(st) == []
        _load(st, first)  # the same file again: skipped, nothing changed
        assert stale(st) == []
        _load(st, later)
        supply_trust = ["production_plan", "policy_comparison", "verification", "credit"]
        assert stale(st) == [
            "demand_panel",
            "forecasts",
            "production_plan",
            "policy_comparison",
            "verification",
            "credit",
        ]  # fmt: skip  (backtest: never written with this little history)
        stage("demand").run(st, h=2, model="ses")
        assert stale(st) == supply_trust  # the plan predates the new forecasts
        stage("trust").run(st)
        assert stale(st) == supply_trust[:2]
        html = write_report(st, tmp_path / "r.html").read_text(encoding="utf-8")
        assert html.count("data-stale='1'") == 1 and "run `supplyfit run supply` to refresh" in html
    out = CliRunner().invoke(app, ["status", "--db", str(db)], prog_name="supplyfit").stdout
    stale_table = out[out.index("stale results: their inputs changed") : out.index("column classes")]
    assert "production_plan" in stale_table and "policy_comparison" in stale_table and "credit" not in stale_table
    assert re.search(r"^\s*supply\s+expensive\s", stale_table, re.M) and "supplyfit run supply" in stale_table
    assert not re.search("[\u2500-\u257f]", out)  # not a terminal: plain columns, no box drawing
    with Store(db) as st:
        stage("supply").run(st)
        assert stale(st) == []
        st.con.execute("DELETE FROM result_meta WHERE name = 'credit'")  # as if written before the tracking
        assert stale(st) == ["credit"]
