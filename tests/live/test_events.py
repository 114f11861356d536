"""POST /api/v1/events/orders: durable, idempotent by event id (else natural key), with a file load's
validation, quarantine and pseudonymisation."""

import json

from .conftest import client, line, live_server


def test_retried_batch_is_a_no_op_and_event_ids_make_events_distinct(server):
    with client(server) as c:
        batch = [line("O1", event_id="e1"), line("O1", event_id="e2"), line("O2", sku="A2", event_id="e3")]
        assert c.post("/api/v1/events/orders", json=batch).json() == {"accepted": 3, "duplicates": 0, "quarantined": 0}
        again = c.post("/api/v1/events/orders", json=batch)
        assert again.status_code == 202
        assert again.json() == {"accepted": 0, "duplicates": 3, "quarantined": 0}
        # without event ids, the natural key (order, SKU, quantity, price) decides, as for a file load
        plain = [line("O3"), line("O3", event_id=" "), line("O1")]  # a blank id is no id
        assert c.post("/api/v1/events/orders", json=plain).json() == {"accepted": 1, "duplicates": 2, "quarantined": 0}
        live = c.get("/api/v1/live", params={"sku": "A1"}).json()
        assert live["skus"][0]["units"] == 30  # e1, e2 and O3
        loads = [x for x in c.get("/api/v1/loads").json() if x["file"].startswith("events")]
        assert len(loads) == 3
        assert all(
            x["status"] == "ok" and x["rows_read"] == x["stored"] + x["quarantined"] + x["duplicates"] for x in loads
        )


def test_bad_lines_are_quarantined_with_their_reason_and_good_ones_accepted(server):
    lines = [
        line("B1", customer_id="alice@example.com", description="call 13812345678"),
        line("B2", quantity=0),
        line("B3", ts="31/02/2024"),
        line("B4", sku=None),
        "not an object",
        line("B5", quantity="lots"),
    ]
    with client(server) as c:
        r = c.post("/api/v1/events/orders", json=lines)
        assert r.json() == {"accepted": 1, "duplicates": 0, "quarantined": 5}  # the body is exactly the counts
        load = c.get(r.headers["location"]).json()  # the load that stored the batch, and its reasons
        assert (load["rows_read"], load["stored"], load["quarantined"]) == (6, 1, 5)
        why = c.get("/api/v1/quarantine", params={"load_id": load["load_id"]}).json()
        assert len(why) == 5 and all(q["reason"] for q in why)
        counted = c.get(f"/api/v1/loads/{load['load_id']}/reasons").json()  # the load report's reasons, later
        assert sum(r["count"] for r in counted) == 5 and {r["reason"] for r in counted} == {q["reason"] for q in why}
        again = c.post("/api/v1/events/orders", json=lines)  # a retry: its bad lines are not quarantined twice
        assert again.json() == {"accepted": 0, "duplicates": 6, "quarantined": 0}
        nd = json.dumps(line("B6")) + "\n{not json\n\n" + json.dumps(line("B7", sku="A2")) + "\n"
        r = c.post("/api/v1/events/orders", content=nd, headers={"content-type": "application/x-ndjson"})
        assert r.json() == {"accepted": 2, "duplicates": 0, "quarantined": 1}
        assert c.post("/api/v1/events/orders", json={"order_id": "x"}).status_code == 422
        assert (
            c.post("/api/v1/events/orders", content=b"[", headers={"content-type": "application/json"}).status_code
            == 422
        )
    with client(server, role="admin") as c:
        reasons = sorted(q["reason"] for q in c.get("/api/v1/quarantine", params={"limit": 100}).json())
        raw = json.dumps(c.get("/api/v1/quarantine").json()) + c.get("/api/v1/export/forecasts").text
    assert reasons == [
        "line is not JSON",
        "line is not a JSON object",
        "missing sku",
        "quantity is not a number: lots",
        "unparsable ts: 31/02/2024",
        "zero quantity",
    ]
    assert "alice@example.com" not in raw and "13812345678" not in raw
    with client(server, role="reader") as c:
        assert c.post("/api/v1/events/orders", json=[line("R1")]).status_code == 403


def test_a_value_too_long_to_keep_whole_quarantines_its_line(server):
    """A cell over 4,000 characters would be cut: its line is quarantined with that reason rather than stored
    changed (two long ids sharing their first 4,000 characters had become one SKU)."""
    long_sku = "S" * 4001
    lines = [
        line("L1", sku=long_sku),
        line("L2", sku=long_sku[:-1] + "T"),
        line("L3", description=["x" * 4001]),  # any JSON value: its text is what counts
        line("L4", description="y" * 4000),  # at the limit: stored whole
    ]
    with client(server) as c:
        r = c.post("/api/v1/events/orders", json=lines)
        assert r.json() == {"accepted": 1, "duplicates": 0, "quarantined": 3}
        load = c.get(r.headers["location"]).json()
    with client(server, role="admin") as c:
        why = c.get("/api/v1/quarantine", params={"load_id": load["load_id"]}).json()
    assert sorted(q["reason"] for q in why) == [
        "description longer than 4,000 characters (cut here, not stored)",
        *["sku longer than 4,000 characters (cut here, not stored)"] * 2,
    ]
    with client(server) as c:  # differing only past the cut from a line quarantined before: not its duplicate
        later = c.post("/api/v1/events/orders", json=[line("L1", sku=long_sku[:-1] + "U")])
        assert later.json() == {"accepted": 0, "duplicates": 0, "quarantined": 1}
        surrogate = json.dumps([line("L7", sku="@")]).replace('"@"', '"\\ud800"')  # valid JSON, not valid text
        r = c.post("/api/v1/events/orders", content=surrogate, headers={"content-type": "application/json"})
        assert r.json() == {"accepted": 0, "duplicates": 0, "quarantined": 1}
        surrogate_load = c.get(r.headers["location"]).json()["load_id"]
    with client(server, role="admin") as c:
        last = c.get("/api/v1/quarantine", params={"load_id": surrogate_load}).json()
    assert [q["reason"] for q in last] == ["sku is not valid Unicode (a lone surrogate)"]


def test_customer_ids_are_stored_only_as_pseudonyms(store_db):
    import httpx

    from supplyfit.store import Store

    db, keys = store_db
    with live_server(db) as url, httpx.Client(base_url=url, headers={"X-API-Key": keys["default:writer"]}) as c:
        sent = [line("P1", customer_id="alice@example.com", description="mail alice@example.com", event_id="p1")]
        assert c.post("/api/v1/events/orders", json=sent).json()["accepted"] == 1
    with Store(db) as st:
        stored = st.con.execute("SELECT customer_id, description FROM orders WHERE order_id = 'P1'").fetchall()
        assert stored == [(st.pseudonym("alice@example.com"), "mail [email]")]
        assert st.con.execute(
            "SELECT count(*) FROM customers WHERE customer_id = ?", [st.pseudonym("alice@example.com")]
        ).fetchone() == (1,)
        for table in ("orders", "customers", "quarantine", "live_events"):
            text = st.con.execute(f"SELECT string_agg(CAST(t AS VARCHAR), ' ') FROM {table} t").fetchone()[0]
            assert "alice@example.com" not in (text or "")


def test_a_whole_number_id_sent_as_a_float_is_the_id_a_file_load_stores(store_db, tmp_path):
    """13085.0 (a JSON float, as pandas writes a numeric id column with a gap) is customer 13085, as a file load
    reads a float column (a Parquet export's): so a return posted as an event cancels the sale loaded from it."""
    import contextlib

    import pandas as pd

    from supplyfit.live.events import store_events
    from supplyfit.live.sensing import week
    from supplyfit.store import Store, ingest

    db, _ = store_db
    sale = {"order_id": "F1", "sku": "A1", "quantity": 500, "unit_price": 2.0, "ts": "2024-04-02 10:00"}
    pd.DataFrame([{**sale, "customer_id": 13085.0}, {**sale, "order_id": "F2", "customer_id": None}]).to_parquet(
        tmp_path / "sale.parquet"
    )
    with Store(db) as st:
        ingest(st, tmp_path / "sale.parquet", "orders")
        back = line("FC1", quantity=-500, ts="2024-04-02T10:16:00", customer_id=13085.0)
        store_events(st, [[back, line("FC2", sku="A2", quantity=1, customer_id=13085)]], contextlib.nullcontext())
        ids = st.query("SELECT DISTINCT customer_id FROM orders WHERE order_id IN ('F1', 'FC1', 'FC2')")
        assert ids["customer_id"].tolist() == [st.pseudonym("13085")]
        assert week(st.con, st.tenant).skus.set_index("unique_id").loc["A1", "units"] == 500  # F2 only


def test_tenants_see_only_their_own_events(server):
    with client(server, "brand-b") as b, client(server) as a:
        before = a.get("/api/v1/live", params={"sku": "A1"}).json()
        assert b.post("/api/v1/events/orders", json=[line("T1", quantity=500)]).json()["accepted"] == 1
        assert b.get("/api/v1/live", params={"sku": "A1"}).json()["skus"][0]["units"] == 500
        assert a.get("/api/v1/live", params={"sku": "A1"}).json() == before
        # the same event id in another tenant is another event
        assert a.post("/api/v1/events/orders", json=[line("T1", quantity=500)]).json()["accepted"] == 1


def test_batches_sharing_a_load_get_their_own_counts(store_db):
    import threading

    from supplyfit.live.events import Counts, store_events
    from supplyfit.store import Store

    db, _ = store_db
    with Store(db) as st:
        first = [line("G1", event_id="g1"), line("G2", quantity=0), line("G3", event_id="g3")]
        second = [line("G1", event_id="g1"), line("G4"), "junk"]  # g1 was sent by the batch before it
        third = [line("G4"), line("G5", event_id="g5")]
        counts = store_events(st, [first, second, third], threading.Lock())
        assert st.integrity().empty
        load_id, *load = st.con.execute(
            "SELECT load_id, rows_read, stored, quarantined, duplicates FROM loads ORDER BY load_id DESC LIMIT 1"
        ).fetchone()
        assert counts == [Counts(2, 0, 1, load_id), Counts(1, 1, 1, load_id), Counts(1, 1, 0, load_id)]
        assert load == [8, 4, 2, 2]
        # a bad line resent in a group whose other batch sends quantities as text is still a duplicate: its
        # quarantine record does not depend on how the group's columns were laid out
        bad = [line("G6", description="d" * 4001)]
        assert store_events(st, [bad], threading.Lock())[0].quarantined == 1
        again = store_events(st, [bad, [line("G7", quantity="7")]], threading.Lock())
        assert [(c.accepted, c.duplicates, c.quarantined) for c in again] == [(0, 1, 0), (1, 0, 0)]


def test_times_with_an_offset_are_converted_and_ambiguous_dates_are_not_guessed(server):
    with client(server) as c:
        sent = [line("Z1", ts="2024-04-04T20:00:00+08:00"), line("Z2", ts="2024-04-04 11:00")]
        assert c.post("/api/v1/events/orders", json=sent).json()["accepted"] == 2
        assert c.get("/api/v1/live").json()["now"] == "2024-04-04T12:00:00"
        # day-first or month-first? The lines do not say: they are quarantined, not guessed; ISO ones are stored
        sent = [line("Z3", ts="03/04/2024"), line("Z4", ts="04/03/2024"), line("Z5", ts="2024-04-04T12:30:00")]
        assert c.post("/api/v1/events/orders", json=sent).json() == {"accepted": 1, "duplicates": 0, "quarantined": 2}
        assert c.get("/api/v1/live").json()["now"] == "2024-04-04T12:30:00"
        # a date that shows its order settles the batch, as in a file
        sent = [line("Z6", ts="31/03/2024 10:00"), line("Z7", ts="03/04/2024 09:00")]
        assert c.post("/api/v1/events/orders", json=sent).json()["accepted"] == 2
    with client(server, role="admin") as c:
        reasons = [q["reason"] for q in c.get("/api/v1/quarantine").json()]
    assert reasons == [
        f"ambiguous ts: {d} (day-first or month-first?); send ISO 8601 times" for d in ("03/04/2024", "04/03/2024")
    ]


def test_deferred_products_and_customers_are_rebuilt_by_the_next_rebuild_or_on_reopening(store_db):
    """Under load the writer stores events without rebuilding products and customers, marked in the same
    transaction: the next rebuild (or reopening the store after a crash) brings them to what a rebuild on every
    load gives."""
    import threading

    from supplyfit.live.events import store_events
    from supplyfit.store import Store
    from supplyfit.store.dimensions import PENDING, add_new_products, refresh_dimensions
    from supplyfit.store.sql import transaction

    db, _ = store_db
    dims = "SELECT * FROM products WHERE tenant = 'default' ORDER BY sku"
    people = "SELECT * FROM customers WHERE tenant = 'default' ORDER BY customer_id"
    lock = threading.Lock()
    with Store(db) as st:
        store_events(st, [[line("D1", sku="NEW1", description="RED MUG", customer_id="c-9", quantity=3)]], lock, False)
        store_events(st, [[line("D2", sku="A1", customer_id="c-9", unit_price=7.5)]], lock, False)
        assert st.con.execute("SELECT count(*) FROM products WHERE sku = 'NEW1'").fetchone() == (0,)
        assert st.con.execute("SELECT count(*) FROM meta WHERE key = ?", [PENDING + "default"]).fetchone() == (1,)
        known = st.con.execute("SELECT * FROM products WHERE sku <> 'NEW1' ORDER BY sku").df()
        with transaction(st.con):  # what the writer does between rebuilds: new SKUs get their products, only them
            add_new_products(st.con, "default")
        added = st.con.execute("SELECT name, category FROM products WHERE sku = 'NEW1'").fetchone()
        assert added == ("RED MUG", "kitchen & dining")
        assert known.equals(st.con.execute("SELECT * FROM products WHERE sku <> 'NEW1' ORDER BY sku").df())
        assert st.con.execute("SELECT count(*) FROM meta WHERE key = ?", [PENDING + "default"]).fetchone() == (1,)
        before = st.con.execute(dims).df(), st.con.execute(people).df()
    with Store(db) as st:  # as after a crash: the mark is in the store, the rebuild happens on opening
        rebuilt = st.con.execute(dims).df(), st.con.execute(people).df()
        with transaction(st.con):
            refresh_dimensions(st.con, "default")
        assert rebuilt[0].equals(st.con.execute(dims).df()) and rebuilt[1].equals(st.con.execute(people).df())
        assert not before[0].equals(rebuilt[0])
        assert rebuilt[0].set_index("sku").loc["NEW1", "name"] == "RED MUG"
        assert st.con.execute("SELECT count(*) FROM meta WHERE key = ?", [PENDING + "default"]).fetchone() == (0,)
        # a deferred load, then one that rebuilds: that rebuild covers the deferred one's SKUs too
        store_events(st, [[line("D3", sku="NEW2", description="BLUE BOWL")]], lock, False)
        store_events(st, [[line("D4", sku="A1")]], lock)
        assert st.con.execute("SELECT name FROM products WHERE sku = 'NEW2'").fetchone() == ("BLUE BOWL",)
        assert st.con.execute("SELECT count(*) FROM meta WHERE key = ?", [PENDING + "default"]).fetchone() == (0,)


def test_a_write_soon_after_another_shows_new_skus_at_once_and_rebuilds_products_when_writes_pause(server):
    """The writer rebuilds products and customers at most every DIMENSIONS_INTERVAL: a second write right after a
    first leaves the rebuild for later, but the week shows its new SKU's category at once, and once writes pause
    the rebuild comes, clearing the answers read before it."""
    from .conftest import eventually

    with client(server) as c:
        c.post("/api/v1/events/orders", json=[line("P1", ts="2024-04-03T09:00:00")]).raise_for_status()
        later = [line("P2", ts="2024-04-04T18:30:00"), line("P2", sku="N9", description="RED MUG")]
        assert c.post("/api/v1/events/orders", json=later).json()["accepted"] == 2
        assert c.get("/api/v1/live", params={"sku": "N9"}).json()["skus"][0]["category"] == "kitchen & dining"
        c.get("/api/v1/products").raise_for_status()  # an answer cached before the rebuild

        def last_sold() -> str | None:
            rows = {p["sku"]: p for p in c.get("/api/v1/products").json()}
            return rows["A1"]["last_sold"] if "N9" in rows else None

        assert eventually(lambda: (last_sold() or "").startswith("2024-04-04T18:30"))


def test_live_stays_cached_while_the_writer_recomputes_the_week(store_db, monkeypatch):
    """A write clears a tenant's cached answers; /live's is replaced in the same step, so no read misses and
    computes the week itself (under load that took half a second, and every read waited for it). Even the
    rebuild of products and customers that comes when writes pause keeps the last /live answer until the new
    one is in."""
    import threading

    import httpx
    from servers import serving

    from supplyfit.api import create_app
    from supplyfit.live import sensing
    from supplyfit.live.engine import LiveOptions

    from .conftest import eventually

    db, keys = store_db
    app = create_app(db)
    app.state.live_options = LiveOptions()
    cached: list[bool] = []  # per week the writer computed: was a /live answer cached meanwhile?
    real = sensing.week

    def week(con, tenant, since=None):
        if threading.current_thread().name == "supplyfit-live-writer":
            cached.append(app.state.service.results.get((tenant, "live", None, None)) is not None)
        return real(con, tenant, since)

    monkeypatch.setattr(sensing, "week", week)
    with serving(app) as url, httpx.Client(base_url=url, headers={"X-API-Key": keys["default:writer"]}) as c:
        c.post("/api/v1/events/orders", json=[line("P1", ts="2024-04-03T09:00:00")]).raise_for_status()
        c.post("/api/v1/events/orders", json=[line("P2", ts="2024-04-04T18:30:00")]).raise_for_status()

        def rebuilt() -> bool:
            rows = {p["sku"]: p for p in c.get("/api/v1/products").json()}
            return rows["A1"]["last_sold"].startswith("2024-04-04T18:30")

        assert eventually(rebuilt)
    assert len(cached) >= 3  # the first write's week, the second's, and the rebuild's
    assert all(cached[1:]), cached  # the first had no answer before it


def test_remembered_ids_skip_the_stored_ones_only_when_no_id_can_be_among_them(store_db):
    """The writer remembers the stored ids' hashes; a retry is still a duplicate, in the same process and in a
    new one (the hashes read back from the store), and so is an id stored in the same load as a new one."""
    import threading

    import numpy as np

    from supplyfit.live.events import SeenIds, store_events
    from supplyfit.store import Store

    db, _ = store_db
    lock = threading.Lock()
    with Store(db) as st:
        seen = SeenIds()
        first = store_events(st, [[line("H1", event_id="h1"), line("H2", event_id="h2")]], lock, seen=seen)
        assert [(c.accepted, c.duplicates) for c in first] == [(2, 0)]
        mixed = [line("H2", event_id="h2"), line("H3", event_id="h3")]  # a retried id and a new one
        assert [(c.accepted, c.duplicates) for c in store_events(st, [mixed], lock, seen=seen)] == [(1, 1)]
        stored = st.con.execute("SELECT hash(event_id) FROM live_events ORDER BY 1").fetchnumpy()
        hashes = np.asarray(next(iter(stored.values())), dtype=np.uint64)
        assert seen.known(st.con, "default", hashes[:1]) and not seen.known(st.con, "default", hashes[:0])
        assert not seen.known(st.con, "brand-b", hashes)  # ids are per tenant
    with Store(db) as st:  # a new process: the hashes come from the store
        again = store_events(st, [[line("H3", event_id="h3"), line("H4", event_id="h4")]], lock, seen=SeenIds())
        assert [(c.accepted, c.duplicates) for c in again] == [(1, 1)]
        assert st.con.execute("SELECT count(*), count(DISTINCT event_id) FROM live_events").fetchone() == (4, 4)
        assert st.integrity().empty


def test_remembered_ids_merge_into_one_sorted_array(monkeypatch):
    import duckdb
    import numpy as np

    from supplyfit.live.events import SeenIds

    monkeypatch.setattr(SeenIds, "MERGE_EVERY", 4)
    con = duckdb.connect()
    con.execute("CREATE TABLE live_events (tenant VARCHAR, event_id VARCHAR)")
    seen = SeenIds()
    assert not seen.known(con, "t", np.array([7], dtype=np.uint64))
    for h in ([5, 9], [1], [3, 11]):  # the third add reaches MERGE_EVERY
        seen.add("t", np.array(h, dtype=np.uint64))
    for h in (1, 3, 5, 9, 11):
        assert seen.known(con, "t", np.array([2, h], dtype=np.uint64))
    assert not seen.known(con, "t", np.array([0, 2, 4, 12], dtype=np.uint64))


def test_a_failure_to_remember_ids_after_the_commit_neither_fails_the_load_nor_lets_a_retry_in(store_db, monkeypatch):
    """The ids are stored once COMMIT returns: should remembering them fail (memory for the merge), the batch is
    still answered as stored, its load stays ok (a failed mark would undo it on the next start), and the tenant's
    hashes are read again from the store, so the retry is a duplicate."""
    import threading

    from supplyfit.live.events import SeenIds, store_events
    from supplyfit.store import Store

    db, _ = store_db
    lock, seen = threading.Lock(), SeenIds()
    monkeypatch.setattr(SeenIds, "MERGE_EVERY", 1)

    def no_memory(*_args, **_kwargs):
        raise MemoryError("no room to merge")

    with Store(db) as st:
        monkeypatch.setattr(SeenIds, "_merge", no_memory)
        sent = [line("F1", event_id="f1"), line("F2", event_id="f2")]
        assert [(c.accepted, c.duplicates) for c in store_events(st, [sent], lock, seen=seen)] == [(2, 0)]
        monkeypatch.undo()
        assert st.con.execute("SELECT status FROM loads ORDER BY load_id DESC LIMIT 1").fetchone() == ("ok",)
        assert [(c.accepted, c.duplicates) for c in store_events(st, [sent], lock, seen=seen)] == [(0, 2)]
        assert st.con.execute("SELECT count(*) FROM live_events WHERE event_id IN ('f1', 'f2')").fetchone() == (2,)
