"""The watch folder: each file is loaded once, then moved to done/ (with its load report) or failed/ (with
the reason); a file still growing waits; the same content again is stored once."""

import json
import shutil
import subprocess
import sys

import httpx

from supplyfit.live.watch import Watcher
from supplyfit.store import Store, ingest

from .conftest import eventually, history_csv, live_server


def test_files_are_loaded_once_and_moved_with_their_outcome(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    with Store(tmp_path / "w.duckdb") as st:
        watcher = Watcher(inbox, lambda p: ingest(st, p, "orders", name=p.name))
        history_csv(inbox / "orders.csv")
        (inbox / "notes.pdf").write_bytes(b"%PDF")
        (inbox / "broken.csv").write_text("a,b\n1,2\n")
        (inbox / "copy.csv.part").write_text("in progress")
        assert watcher.scan() == []  # sizes noted; nothing taken before a file held still
        assert sorted(watcher.scan()) == [("broken.csv", "failed"), ("notes.pdf", "failed"), ("orders.csv", "done")]
        assert sorted(p.name for p in inbox.iterdir()) == ["copy.csv.part", "done", "failed"]
        report = json.loads((inbox / "done" / "orders.csv.load.json").read_text())
        assert (report["stored"], report["status"]) == (26, "ok")
        assert "required column(s) not found" in (inbox / "failed" / "broken.csv.reason.txt").read_text()
        assert "unsupported file type .pdf" in (inbox / "failed" / "notes.pdf.reason.txt").read_text()
        # the same content again (another name, or the same name): stored once, the file still moved
        shutil.copy(inbox / "done" / "orders.csv", inbox / "orders.csv")
        growing = inbox / "more.csv"
        growing.write_text("order_id,sku,quantity,unit_price,ts\n")
        watcher.scan()
        growing.write_text("order_id,sku,quantity,unit_price,ts\nM1,A1,1,2.0,2024-04-02 10:00\n")
        assert watcher.scan() == [("orders.csv", "done")]  # more.csv changed since the last scan: it waits
        assert watcher.scan() == [("more.csv", "done")]
        assert sorted(p.name for p in (inbox / "done").iterdir()) == [
            "more.csv",
            "more.csv.load.json",
            "orders-1.csv",
            "orders-1.csv.load.json",
            "orders.csv",
            "orders.csv.load.json",
        ]
        assert json.loads((inbox / "done" / "orders-1.csv.load.json").read_text())["status"] == "skipped"
        assert st.con.execute("SELECT count(*) FROM orders").fetchone() == (27,)


def test_watch_command_once(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    history_csv(inbox / "orders.csv")
    db = tmp_path / "cli.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", "supplyfit.cli", "watch", str(inbox), "--once", "--db", str(db)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "done: orders.csv" in out.stdout
    assert (inbox / "done" / "orders.csv").exists()
    with Store(db) as st:
        assert st.con.execute("SELECT count(*) FROM orders").fetchone() == (26,)


def test_serve_watch_loads_into_the_running_server(store_db, tmp_path):
    db, keys = store_db
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with (
        live_server(db, watch=inbox, watch_interval=0.1) as url,
        httpx.Client(base_url=url, headers={"X-API-Key": keys["default:writer"]}) as c,
    ):
        event = {"order_id": "E1", "sku": "A1", "quantity": 5, "unit_price": 2.0, "ts": "2024-04-02T09:00:00"}
        assert c.post("/api/v1/events/orders", json=[event]).json()["accepted"] == 1
        assert c.get("/api/v1/live", params={"sku": "A1"}).json()["skus"][0]["units"] == 5
        (inbox / "week.csv").write_text("order_id,sku,quantity,unit_price,ts\nV1,A1,7,2.0,2024-04-02 10:00\n")
        assert eventually(lambda: (inbox / "done" / "week.csv").exists())
        # a file load is followed too: the week computed after the last event is not served stale
        assert c.get("/api/v1/live", params={"sku": "A1"}).json()["skus"][0]["units"] == 12
        assert c.get("/api/v1/loads").json()[0]["file"] == "week.csv"
