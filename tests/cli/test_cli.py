"""The CLI end to end, as a user runs it (subprocesses on a real DuckDB file)."""

import io
import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import typer

from supplyfit.api import create_key
from supplyfit.cli import app
from supplyfit.store import Store

NOT_PLAIN = re.compile("[\x1b\u2800-\u28ff\r]")  # ANSI escapes, braille spinner frames, carriage-return redraws


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "supplyfit.cli", *map(str, args)], capture_output=True, check=False, text=True, cwd=cwd
    )


def test_ingest_status_and_idempotent_rerun(tmp_path, sample_orders, sample_reviews):
    db = tmp_path / "s.duckdb"
    p = run("ingest", "orders", sample_orders, "--preset", "uci-online-retail", "--db", db)
    assert p.returncode == 0, p.stderr
    assert "quarantined" in p.stdout and "zero unit_price" in p.stdout
    steps = p.stdout.splitlines()  # piped: one plain line per step, the mapping on one line however long
    assert steps[0] == f"{sample_orders.name}: hashing" and p.stderr == ""
    assert steps[steps.index(f"{sample_orders.name}: committed") + 1].startswith("load 1 ok: 66,604 rows read")
    assert [ln for ln in p.stdout.splitlines() if ln.startswith("mapping: Invoice → order_id,")][0].endswith(
        "Country → region"
    )
    assert not NOT_PLAIN.search(p.stdout + p.stderr)
    p = run("ingest", "reviews", sample_reviews, "--db", db)
    assert p.returncode == 0, p.stderr
    p = run("ingest", "orders", sample_orders, "--preset", "uci-online-retail", "--db", db)
    assert p.returncode == 0 and "skipped" in p.stdout
    p = run("status", "--db", db)
    assert p.returncode == 0 and "orders" in p.stdout and "zero unit_price" in p.stdout
    assert "column classes" in p.stdout and "personal" in p.stdout and "has no data" not in p.stdout
    p = run("status", "--db", db, "--tenant", "nobody")  # a misspelt tenant: said, with the ones there are
    assert p.returncode == 0 and "tenant nobody has no data in this store (tenants with data: default)" in p.stdout
    with Store(db, read_only=True) as st:
        assert st.con.execute("SELECT count(DISTINCT load_id) FROM orders").fetchone()[0] == 1


def _commands(group, path: str = "supplyfit"):
    """Every command and group under ``group`` (typer's vendored click objects), with its command path."""
    for name, cmd in group.commands.items():
        yield f"{path} {name}", cmd
        yield from _commands(cmd, f"{path} {name}") if hasattr(cmd, "commands") else ()


def test_every_option_and_argument_has_help():
    root = typer.main.get_command(app)
    commands = [("supplyfit", root), *_commands(root)]
    assert len(commands) == 31  # the root and every command (the walk reaches the sub-apps)
    missing = [
        f"{path} {param.name}"
        for path, cmd in commands
        for param in cmd.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []
    assert all((cmd.help or "").strip() for _, cmd in commands)


def test_help_lists_ingest_first():
    p = run("--help")
    assert p.returncode == 0
    assert not re.search("[\u2500-\u257f]", p.stdout)  # piped: plain text, no boxes drawn around it
    assert "Load orders or reviews files (CSV, Parquet, XLSX) into the store." in p.stdout
    listed = re.findall(r"^\W*([a-z]+)\s{2,}\S", p.stdout[p.stdout.index("Commands") :], re.M)
    assert listed[0] == "ingest" and listed.index("status") == 1, listed
    for cmd in (
        "ingest",
        "status",
        "demo",
        "voice",
        "forecast",
        "backtest",
        "plan",
        "match",
        "monitor",
        "report",
        "serve",
        "keys",
        "export",
        "verify",
        "run",
    ):
        assert cmd in p.stdout


def test_status_without_store_is_a_clear_error(tmp_path):
    p = run("status", "--db", tmp_path / "none.duckdb")
    assert p.returncode == 2 and "no store" in p.stderr


def test_a_store_held_by_another_process_is_a_clear_error(tmp_path):
    db = tmp_path / "held.duckdb"
    with Store(db):  # held, as a running server holds it
        p = run("keys", "create", "--db", db, "--tenant", "t", "--role", "admin")
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1
    assert "is open in another process" in p.stderr and "POST /api/v1/keys" in p.stderr
    assert p.stderr.count(str(db)) == 1 and "duckdb.org" not in p.stderr
    with Store(db) as st:  # the demo would delete a store a server holds (it went on serving the deleted file)
        create_key(st, "t", "admin")
        p = run("demo", "--db", db, "--out", tmp_path / "out")
        assert p.returncode == 2 and "in use by another process (a running `supplyfit serve`?)" in p.stderr
    with Store(db, read_only=True) as st:
        assert st.con.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 1  # its keys still there


def test_demo_runs_from_any_directory(tmp_path):
    p = run("demo", "--db", tmp_path / "d.duckdb", "--out", tmp_path / "out", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "id='briefing'" in report and "<section id='data'" in report and "<svg" in report
    stages = ("voice", "demand", "supply", "match", "trust", "monitor")
    lines = p.stdout.splitlines()  # piped: one line per step and per stage, however long its summary
    assert [ln.split(":")[0] for ln in lines] == [
        "demo",
        *("demo" for _ in stages),
        "demo",
        *(f"✓ {s}" for s in ("store", *stages, "report", "dashboard")),
        "report",
    ]
    assert lines[:2] == ["demo: loading the bundled sample", "demo: voice"] and p.stderr == ""
    assert not NOT_PLAIN.search(p.stdout + p.stderr)

    import json

    hotspots = json.loads((tmp_path / "out" / "dashboard" / "hotspots.json").read_text(encoding="utf-8"))
    assert len(hotspots) == 20 and hotspots[0]["reason"]
    db = tmp_path / "d.duckdb"
    p = run("monitor", "--db", db, "--k", "5")
    assert p.returncode == 0 and "5 hotspots" in p.stdout, p.stderr
    p = run("report", "--db", db, "--out", tmp_path / "r.html")
    assert p.returncode == 0 and "This week · 本周要做什么" in (tmp_path / "r.html").read_text(encoding="utf-8")
    p = run("plan", "--db", db)
    assert p.returncode == 0 and "production plan: top" in p.stdout and "test-and-reorder" in p.stdout, p.stderr
    p = run("backtest", "--db", db, "--cutoff", "2010-10-11", "--model", "ses", "--h", "4")
    assert p.returncode == 0 and "wrmsse" in p.stdout.lower(), p.stderr
    p = run("export", "segments", "--out", tmp_path / "seg.csv", "--db", db)
    assert p.returncode == 0, p.stderr
    import pandas as pd

    seg = pd.read_csv(tmp_path / "seg.csv")
    assert len(seg) > 100 and seg.customer_id.str.match(r"^c_[0-9a-f]{16}$").all()  # pseudonyms only
    p = run("export", "forecasts", "--id", "85123A", "--out", "-", "--db", db)  # one SKU's forecast, on the terminal
    one = pd.read_csv(io.StringIO(p.stdout))
    assert p.returncode == 0 and len(one) > 0 and set(one.unique_id.astype(str)) == {"85123A"}, p.stderr
    p = run("export", "forecasts", "--id", "NO-SUCH", "--out", "-", "--db", db)
    assert p.returncode == 2 and "no forecasts rows for NO-SUCH" in p.stderr
    p = run("export", "orders", "--out", tmp_path / "o.csv", "--db", db)
    assert p.returncode == 2 and "not a result table" in p.stderr
    p = run("keys", "create", "--tenant", "acme", "--role", "writer", "--db", db)
    key = p.stdout.strip()
    assert p.returncode == 0 and key.startswith("sf_")
    assert "tenant 'acme' has no orders" in p.stderr and "default" in p.stderr  # its dashboard would be empty
    p = run("keys", "create", "--tenant", "shop", "--db", tmp_path / "new.duckdb")
    assert p.returncode == 0 and p.stdout.startswith("sf_") and "made a new, empty store" in p.stderr
    p = run("keys", "list", "--db", db)
    assert key.split("_")[1] in p.stdout and key not in p.stdout
    assert run("keys", "revoke", key.split("_")[1], "--db", db).returncode == 0
    p = run("keys", "create", "--tenant", "acme", "--role", "root", "--db", db)
    assert p.returncode == 2 and "role" in p.stderr


def test_ambiguous_values_ask_for_the_option_that_settles_them(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text('order_id,sku,quantity,price,ts\nA1,S1,1,"1,234",2024-01-12T09:00:00+09:00\nA2,S1,1,2,11/01/2024\n')
    db = tmp_path / "s.duckdb"
    p = run("ingest", "orders", f, "--db", db)
    assert p.returncode == 2
    assert p.stderr.strip().endswith("Say which (CLI: --decimal . or --decimal ,; API/dashboard: decimal field)")
    p = run("ingest", "orders", f, "--db", db, "--decimal", ",")
    assert p.returncode == 2 and "column 'ts': ambiguous" in p.stderr and "--date-format" in p.stderr
    p = run(
        "ingest", "orders", f, "--db", db, "--decimal", ",", "--date-format", "day-first", "--timezone", "Asia/Shanghai"
    )
    assert p.returncode == 0, p.stderr
    with Store(db, read_only=True) as st:
        rows = st.query("SELECT unit_price, strftime(ts, '%Y-%m-%d %H:%M') AS ts FROM orders ORDER BY order_id")
        loads = st.query("SELECT status FROM loads ORDER BY load_id").status.tolist()
    assert rows.values.tolist() == [[1.234, "2024-01-12 08:00"], [2.0, "2024-01-11 00:00"]]
    assert loads == ["failed", "failed", "ok"]


def test_plan_options_reach_the_plan(demo_store, tmp_path):
    db = tmp_path / "d.duckdb"
    for suffix in ("", ".secret"):
        shutil.copy(f"{demo_store}{suffix}", f"{db}{suffix}")
    p = run(
        "plan", "--db", db, "--policy", "season-buy", "--moq", "500", "--capacity", "20000", "--service-level", "0.8"
    )
    assert p.returncode == 0, p.stderr
    with Store(db, read_only=True) as st:
        qty = st.table("production_plan").qty
    assert qty.min() >= 500 and 19_500 <= qty.sum() <= 20_000  # rounded up to the MOQ, capped by capacity


def test_plan_nets_the_stock_on_hand_and_names_a_bad_stock_line(demo_store, tmp_path):
    db = tmp_path / "d.duckdb"
    for suffix in ("", ".secret"):
        shutil.copy(f"{demo_store}{suffix}", f"{db}{suffix}")
    p = run("plan", "--db", db)
    assert p.returncode == 0 and "no stock on hand given: quantities as if none" in p.stdout, p.stderr
    with Store(db, read_only=True) as st:
        before = st.table("production_plan").set_index("unique_id").qty.sort_values(ascending=False)
    top, second = before.index[:2]
    stock = tmp_path / "stock.csv"  # Chinese headers; the top item fully stocked, the second half on order
    stock.write_text(f"商品编码,库存,在途\n{top},{before[top]:.0f},0\n{second},0,{before[second] / 2:.0f}\nNOPE,5,\n")
    p = run("plan", "--db", db, "--inventory", stock)
    assert p.returncode == 0 and "net of the stock of 2 SKUs (1 inventory SKU(s) not in the history)" in p.stdout
    with Store(db, read_only=True) as st:
        after = st.table("production_plan").set_index("unique_id").qty
    assert top not in after.index and after[second] == pytest.approx(before[second] / 2, abs=1)
    assert after.drop(second).equals(before.drop([top, second]).reindex(after.drop(second).index))
    stock.write_text(f"sku,on_hand\n{top},-3\n{second},\n{top},1\n")
    p = run("plan", "--db", db, "--inventory", stock)
    assert p.returncode == 2 and "stock.csv: 2 bad inventory line value(s): row 1 (" in p.stderr
    assert "on_hand '-3' is not a number of 0 or more" in p.stderr and "id given more than once" in p.stderr


def test_plan_policy_must_be_known(tmp_path):
    p = run("plan", "--db", tmp_path / "none.duckdb", "--policy", "just-in-case")
    assert p.returncode == 2 and "--policy must be one of season-buy, naive-reorder, test-and-reorder" in p.stderr


def test_calendar_commands_load_events_and_refuse_what_they_cannot_use(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("name,start,end,kind\nStocktake,2011-01-03,2011-01-04,closure\nSale,2011-13-01,,promotion\n")
    p = run("ingest", "events", events, "--db", tmp_path / "s.duckdb")
    assert p.returncode == 0 and "2 rows read = 1 stored + 1 quarantined + 0 duplicates" in p.stdout
    assert "quarantined 1: unparsable start: 2011-13-01" in p.stdout
    with Store(tmp_path / "s.duckdb", read_only=True) as st:
        assert st.events().name.tolist() == ["Stocktake"]
    p = run("forecast", "--db", tmp_path / "s.duckdb", "--country", "XX")
    assert p.returncode == 2 and p.stderr.strip() == (
        "error: --country: no public holidays known for country 'XX' (use an ISO code such as GB or CN)"
    )
    p = run("serve", "--db", tmp_path / "s.duckdb", "--refresh-every", "soon")
    assert p.returncode == 2 and "is not a duration; give e.g. 90s, 30m, 1h or 1d" in p.stderr


def test_scale_sense_writes_the_signals_of_a_folder_of_drops(tmp_path):
    drops = tmp_path / "drops"
    drops.mkdir()
    lines = [
        {"order_id": f"O{i}", "sku": "A1", "quantity": 40, "unit_price": 2.0, "ts": f"2024-04-0{i + 1}T10:00:00"}
        for i in range(3)
    ]
    for i, line in enumerate(lines):
        (drops / f"{i}.ndjson").write_text(json.dumps(line) + "\n")
    fc = pd.DataFrame(
        {
            "unique_id": ["A1"],
            "ds": [pd.Timestamp("2024-04-01")],
            "yhat": [20.0],
            "yhat_q10": [10.0],
            "yhat_q90": [30.0],
        }
    )
    fc.to_parquet(tmp_path / "fc.parquet")
    p = run("scale", "sense", drops, "--forecasts", tmp_path / "fc.parquet", "--output", tmp_path / "s.ndjson")
    assert p.returncode == 0, p.stderr
    signals = [json.loads(s) for s in (tmp_path / "s.ndjson").read_text().splitlines()]
    assert [(s["kind"], s["sku"], s["detail"]["units"]) for s in signals][0] == ("demand_above_forecast", "A1", 40.0)
    p = run("scale", "sense", tmp_path / "nope", "--forecasts", tmp_path / "fc.parquet", "--output", tmp_path / "x")
    assert p.returncode == 2 and "no folder" in p.stderr


def test_launch_prints_forecasts_and_first_batches_of_drafts(demo_store, tmp_path):
    drafts = tmp_path / "drafts.csv"
    drafts.write_text(
        "款号,商品名称,价格,预订\nD1,RED RETROSPOT LUNCH BAG,1.65,\nD2,儿童 保温杯 卡通,39,120\n", encoding="utf-8"
    )
    p = run("launch", drafts, "--db", demo_store, "--moq", "24", "--out", tmp_path / "launch.csv")
    assert p.returncode == 0, p.stderr
    assert "launch forecasts and first batches (MOQ 24, 2 weeks covered)" in p.stdout and "D2" in p.stdout
    out = pd.read_csv(tmp_path / "launch.csv")
    assert list(out.columns) == [
        "unique_id",
        "week",
        "yhat",
        "yhat_q10",
        "yhat_q50",
        "yhat_q90",
        "demand",
        "first_batch",
    ]
    assert len(out) == 16 and (out.first_batch >= 24).all()
    note = p.stdout[p.stdout.index("note:") :]  # the Chinese draft matches no past design of an English catalogue
    assert "no past design reads like D2 (" in " ".join(note.split()) and "D1" not in note
    (tmp_path / "bad.csv").write_text("name,price\nx,1\n")
    p = run("launch", tmp_path / "bad.csv", "--db", demo_store)
    assert p.returncode == 2 and "drafts need column(s) unique_id (e.g. unique_id, id, sku)" in p.stderr
    (tmp_path / "bad.csv").write_text("id,name,price,votes\nD1,a,abc,\nD1,b,2,lots\n")
    p = run("launch", tmp_path / "bad.csv", "--db", demo_store)
    assert (
        p.returncode == 2
        and "bad.csv: 3 bad draft value(s): row 1 (D1): id given more than once (rows 1, 2);" in p.stderr
    )
    assert "row 2 (D1): preorders 'lots' is not a number of 0 or more" in " ".join(p.stderr.split())
    p = run("launch", drafts, "--db", tmp_path / "none.duckdb")
    assert p.returncode == 2 and "no store at" in p.stderr and "no file" not in p.stderr
