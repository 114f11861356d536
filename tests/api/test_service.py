"""The service's contract beyond single routes: live revocation, who sees raw quarantine rows, what can be
exported, jobs listed with ISO times, one recommender build per data version, the request log, the spec."""

import datetime as dt
import logging
import threading
import time

import httpx
import pytest
from servers import serving

from supplyfit.api import create_app, create_key
from supplyfit.store import Store, ingest

from .conftest import h, tenant_keys
from .hostile import client_from
from .test_api import orders_csv


def test_a_revoked_key_stops_working_at_once(client, keys, server):
    admin = h(keys["a_admin"])
    new = client.post("/api/v1/keys", json={"role": "reader"}, headers=admin).json()["key"]
    key_id = new.split("_")[1]
    with client_from(server["url"], "127.0.0.31") as c:
        assert c.get("/api/v1/whoami", headers=h(new)).status_code == 200  # verified and cached
        assert client.delete(f"/api/v1/keys/{key_id}", headers=h(keys["b_writer"])).status_code == 403
        assert client.delete(f"/api/v1/keys/{key_id}", headers=admin).json() == {"key_id": key_id, "revoked": True}
        assert c.get("/api/v1/whoami", headers=h(new)).status_code == 401
    assert client.delete(f"/api/v1/keys/{key_id}", headers=admin).status_code == 404  # already revoked
    listed = {k["key_id"]: k for k in client.get("/api/v1/keys", headers=admin).json()}
    assert listed[key_id]["revoked"] is not None


def test_another_tenants_admin_cannot_revoke(client, keys, server):
    other = tenant_keys(server, "brand-r", "admin")["admin"]
    victim = keys["a_reader"].split("_")[1]
    assert client.delete(f"/api/v1/keys/{victim}", headers=h(other)).status_code == 404
    assert client.get("/api/v1/whoami", headers=h(keys["a_reader"])).status_code == 200


def test_raw_quarantine_rows_are_for_admins_only(client, keys):
    load = client.post(
        "/api/v1/uploads/orders",
        files={"file": ("raw.csv", orders_csv(6, "RAW", bad=2), "text/csv")},
        headers=h(keys["a_writer"]),
    ).json()
    params = {"load_id": load["load_id"]}
    as_reader = client.get("/api/v1/quarantine", params=params, headers=h(keys["a_reader"])).json()
    as_admin = client.get("/api/v1/quarantine", params=params, headers=h(keys["a_admin"])).json()
    assert len(as_reader) == len(as_admin) == 2
    assert all("raw" not in row and row["reason"] for row in as_reader)
    assert all("BAD" in row["raw"] for row in as_admin)


@pytest.mark.parametrize(
    "table",
    ["duckdb_tables", "orders", "api_keys", "meta", "quarantine", "information_schema", "no_such_table", "x" * 64],
)
def test_only_result_tables_are_exported(client, keys, table):
    r = client.get(f"/api/v1/export/{table}", headers=h(keys["a_admin"]))
    assert r.status_code == 404 and "no result table" in r.json()["detail"]


def test_result_tables_export_as_csv_and_json(client, keys):
    r = client.get("/api/v1/export/forecasts", params={"format": "json"}, headers=h(keys["a_reader"]))
    assert r.status_code == 200 and r.json() and "tenant" not in r.json()[0]
    assert client.get("/api/v1/export/hotspots", headers=h(keys["a_reader"])).text.startswith("unique_id")


def test_jobs_are_listed_per_tenant_with_iso_times(client, keys, server):
    mine = tenant_keys(server, "brand-j", "writer")["writer"]
    job = client.post("/api/v1/jobs", json={"stage": "monitor"}, headers=h(mine)).json()
    deadline = time.time() + 120
    while job["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/v1/jobs/{job['job_id']}", headers=h(mine)).json()
    listed = client.get("/api/v1/jobs", headers=h(mine)).json()
    assert [j["job_id"] for j in listed] == [job["job_id"]] and listed[0]["status"] in ("done", "failed")
    for field in ("created", "started", "finished"):
        assert dt.datetime.fromisoformat(listed[0][field]).tzinfo is not None
    assert job["job_id"] not in {j["job_id"] for j in client.get("/api/v1/jobs", headers=h(keys["a_reader"])).json()}


def test_a_failed_job_keeps_a_message_and_logs_its_traceback(tmp_path, caplog):
    """Another tenant's demand tables have other columns, so this tenant's demand stage cannot write its own."""
    caplog.set_level(logging.INFO, logger="supplyfit.api")
    db, orders = tmp_path / "fail.duckdb", tmp_path / "orders.csv"
    orders.write_bytes(orders_csv(200, "FJ"))
    with Store(db) as st:
        ingest(st, orders, "orders")
        for table in ("demand_panel", "forecasts"):  # as an older version could have left them
            st.con.execute(f"CREATE TABLE {table} AS SELECT 'other' AS tenant, 1 AS unexpected")
        key = create_key(st, "default", "writer")
    with serving(create_app(db)) as url, httpx.Client(base_url=url, headers=h(key), timeout=60) as c:
        job = c.post("/api/v1/jobs", json={"stage": "demand"}).json()
        deadline = time.time() + 60
        while job["status"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.2)
            job = c.get(f"/api/v1/jobs/{job['job_id']}").json()
    failed = [r for r in caplog.records if f"job_id={job['job_id']}" in r.getMessage()]
    assert job["status"] == "failed" and job["message"].startswith("running demand: ValueError: "), job
    assert "other columns" in job["message"] and str(tmp_path) not in job["message"]
    assert len(failed) == 1 and failed[0].exc_info is not None and failed[0].levelname == "ERROR"


def test_the_recommender_is_built_once_under_concurrent_requests(server):
    key = tenant_keys(server, "brand-rec", "writer")["writer"]
    service = server["app"].state.service
    with httpx.Client(base_url=server["url"], timeout=60) as c:
        load = c.post(
            "/api/v1/uploads/orders", files={"file": ("rec.csv", orders_csv(300, "RC"), "text/csv")}, headers=h(key)
        ).json()
    answers: list[tuple[int, str]] = []
    gate = threading.Barrier(20)

    def ask() -> None:
        with httpx.Client(base_url=server["url"], timeout=60) as c:
            gate.wait()
            r = c.get("/api/v1/recommendations", params={"items": ["RC1"], "k": 3}, headers=h(key))
            answers.append((r.status_code, r.text))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(answers) == 20 and len(set(answers)) == 1 and answers[0][0] == 200
    assert service.recommenders.builds[("brand-rec", load["load_id"])] == 1


def test_every_request_is_logged_with_its_id(client, keys, caplog):
    caplog.set_level(logging.INFO, logger="supplyfit.api")
    r = client.get("/api/v1/hotspots", params={"k": 3}, headers=h(keys["a_reader"]))
    rid = r.headers["X-Request-ID"]
    lines = [rec.getMessage() for rec in caplog.records if f"request_id={rid} " in rec.getMessage()]
    assert len(lines) == 1
    assert " tenant=default route=GET /api/v1/hotspots status=200 ms=" in lines[0]


def test_the_spec_lists_error_answers_with_one_model(client):
    spec = client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["Error"]["required"] == ["detail"]
    routes = [(p, m, op) for p, ops in spec["paths"].items() if p.startswith("/api/") for m, op in ops.items()]
    assert len(routes) >= 25
    for path, method, op in routes:
        codes = set(op["responses"])
        expected = {"401", "422", "429"} | ({"404"} if "{" in path and "uploads" not in path else set())
        expected |= (
            {"403", "413"}
            if (method, path) in {("post", "/api/v1/uploads/{kind}"), ("post", "/api/v1/jobs")}
            else set()
        )
        assert expected <= codes, (method, path, codes)
        for code in expected:
            schema = op["responses"][code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    assert "LoadReport" in str(spec["paths"]["/api/v1/uploads/{kind}"]["post"]["responses"]["200"])
    assert "multipart/form-data" in spec["paths"]["/api/v1/uploads/{kind}"]["post"]["requestBody"]["content"]


def test_a_running_server_keeps_start_up_objects_out_of_the_garbage_collector(tmp_path):
    """Full collections walked start-up's objects and held the GIL 100-150 ms (the slowest reads under load): the
    server freezes them while it runs and gives them back when it stops."""
    import gc

    others = gc.get_freeze_count()  # > 0 while another test's server runs in this process
    with serving(create_app(tmp_path / "a.duckdb")) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert gc.get_freeze_count() > max(others, 10_000)
        with serving(create_app(tmp_path / "b.duckdb")):
            pass
        assert gc.get_freeze_count() > 10_000  # another app stopping does not give back this one's
    assert (gc.get_freeze_count() == 0) == (others == 0)  # the last app to stop gives them back


def test_a_read_after_a_write_never_joins_a_fetch_begun_before_it(tmp_path):
    """Concurrent reads of one answer share one fetch, but a read that comes after a write must see the write: it
    does not wait for a fetch begun before the write (whose answer the cache also refuses to keep)."""
    import asyncio
    from types import SimpleNamespace

    from supplyfit.api.service import Service, fetch_once

    store = {"orders": 10}

    def fetch() -> int:  # a query on the snapshot it started with
        seen = store["orders"]
        time.sleep(0.3)
        return seen

    async def reads(svc: Service) -> tuple[int, int, int | None]:
        ctx = SimpleNamespace(service=svc, who=SimpleNamespace(tenant="t"))
        before = asyncio.create_task(fetch_once(ctx, ("indicators",), fetch))
        await asyncio.sleep(0.05)
        store["orders"] = 11
        svc.results.clear("t")  # a write commits
        after = await fetch_once(ctx, ("indicators",), fetch)
        return await before, after, svc.results.get(("t", "indicators"))

    svc = Service(tmp_path / "s.duckdb", max_upload_bytes=1 << 20)
    try:
        assert asyncio.run(reads(svc)) == (10, 11, 11)
    finally:
        svc.close()
