"""The REST API over real HTTP: auth, tenant isolation, uploads, results, jobs and abuse."""

import io
import threading
import time

import pandas as pd
import pytest

from .conftest import MAX_UPLOAD_MB, tenant_keys


def h(key: str) -> dict:
    return {"X-API-Key": key}


def orders_csv(n: int = 30, sku_prefix: str = "B", bad: int = 0) -> bytes:
    rows = [
        f"INV{i},{sku_prefix}{i % 5},item {i % 5},{(i % 3) + 1},{1.5 + i % 4},2024-03-{1 + i % 28:02d} 10:00,"
        f"cust{i % 7},North"
        for i in range(n)
    ]
    rows += [f"BAD{i},X1,bad row,-0,abc,not a date,c,North" for i in range(bad)]
    return ("Invoice,StockCode,Description,Quantity,Price,InvoiceDate,Customer ID,Country\n" + "\n".join(rows)).encode()


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "nope"}, {"X-API-Key": "sf_dead_beef"}, {"X-API-Key": "sf_" + "x" * 500}]
)
def test_missing_or_wrong_key_is_401(client, headers):
    for path in ("/api/v1/whoami", "/api/v1/hotspots", "/api/v1/loads", "/api/v1/export/forecasts"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401 and "API key" in r.json()["detail"]


def test_whoami_and_docs(client, keys):
    assert client.get("/api/v1/whoami", headers=h(keys["b_reader"])).json()["tenant"] == "brand-b"
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/uploads/{kind}",
        "/api/v1/indicators",
        "/api/v1/hotspots",
        "/api/v1/forecasts",
        "/api/v1/plan",
        "/api/v1/complaints",
        "/api/v1/brief",
        "/api/v1/recommendations",
        "/api/v1/segments",
        "/api/v1/jobs",
        "/api/v1/quarantine",
    ):
        assert path in spec["paths"], path


def test_results_match_the_store(client, keys, server):
    k = h(keys["a_reader"])
    with _reader(server) as st:
        months = st.table("ind_totals", where="freq = 'M'").sort_values("period")
        plan = st.table("production_plan")
        hs = st.table("hotspots").sort_values("rank")
    api_months = pd.DataFrame(client.get("/api/v1/indicators?freq=M", headers=k).json())
    assert api_months.revenue.round(2).tolist() == months.revenue.round(2).tolist()
    api_plan = client.get("/api/v1/plan", headers=k).json()
    assert sum(r["qty"] for r in api_plan) == pytest.approx(plan.qty.sum())
    assert [r["unique_id"] for r in client.get("/api/v1/hotspots", headers=k).json()] == hs.unique_id.tolist()
    fc = client.get("/api/v1/forecasts", params={"level": "total"}, headers=k).json()
    assert len(fc) == 8 and all(r["yhat_q10"] <= r["yhat"] <= r["yhat_q90"] for r in fc)
    series = client.get("/api/v1/series/total", headers=k).json()
    assert len(series["history"]["ds"]) > 10 and len(series["forecast"]["yhat"]) == 8
    answer = client.get("/api/v1/complaints", params={"limit": 5}, headers=k)
    complaints = answer.json()
    assert [c["rank"] for c in complaints] == [1, 2, 3, 4, 5] and all(c["reason"] for c in complaints)
    everything = client.get("/api/v1/complaints", params={"limit": 10_000}, headers=k)
    assert int(answer.headers["X-Total-Count"]) == len(everything.json()) > 5  # the list cut at 5, and of how many
    assert int(everything.headers["X-Total-Count"]) == len(everything.json())
    cat = complaints[0]["category"]
    some = client.get("/api/v1/complaints", params={"limit": 1, "category": cat}, headers=k)
    assert int(some.headers["X-Total-Count"]) == sum(c["category"] == cat for c in everything.json())
    summary = client.get("/api/v1/complaints/summary", headers=k).json()  # every complaint, by category and reason
    every = pd.DataFrame(everything.json())
    counts = every.groupby(["category", "reason"]).size().sort_values(ascending=False)
    assert sum(r["complaints"] for r in summary) == len(every) and summary[0]["complaints"] == counts.iloc[0]
    assert sum(r["share"] for r in summary) == pytest.approx(1.0)
    assert all(r["example"] in set(every.text) for r in summary)
    assert client.get("/api/v1/brief", headers=k).json()
    assert client.get("/api/v1/segments", headers=k).json()
    assert client.get("/api/v1/indicators", params={"table": "by_dimension", "dimension": "region"}, headers=k).json()


def _reader(server):
    """A read handle on the served store, through the app's own database (the file is held by the server)."""
    from contextlib import closing

    return closing(server["app"].state.store.scoped("default"))


def test_recommendations(client, keys, server):
    k = h(keys["a_reader"])
    with _reader(server) as st:
        top = st.query(
            "SELECT sku, count(*) n FROM orders WHERE tenant = $tenant AND is_product "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 2"
        ).sku.tolist()
        cust = st.query(
            "SELECT customer_id FROM customers WHERE tenant = $tenant AND customer_id IS NOT NULL "
            "ORDER BY orders DESC LIMIT 1"
        ).customer_id[0]
    recs = client.get("/api/v1/recommendations", params={"items": top + ["NOT-A-SKU"], "k": 5}, headers=k).json()
    assert len(recs["recommendations"]) == 5 and not set(recs["recommendations"]) & set(top)
    assert len(client.get("/api/v1/recommendations", headers=k).json()["recommendations"]) == 10  # cold start
    r = client.get(f"/api/v1/recommendations/customer/{cust}", headers=k)
    assert r.status_code == 200 and len(r.json()["recommendations"]) == 10
    assert client.get("/api/v1/recommendations/customer/nobody", headers=k).status_code == 404


def test_upload_roles_idempotency_and_quarantine(client, keys):
    body = orders_csv(40, bad=3)
    files = {"file": ("b_orders.csv", body, "text/csv")}
    assert client.post("/api/v1/uploads/orders", files=files, headers=h(keys["b_reader"])).status_code == 403
    r = client.post("/api/v1/uploads/orders", files=files, headers=h(keys["b_writer"]))
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["rows_read"] == 43 == s["stored"] + s["quarantined"] + s["duplicates"] and s["quarantined"] == 3
    again = client.post("/api/v1/uploads/orders", files=files, headers=h(keys["b_writer"])).json()
    assert again["status"] == "skipped" and again["stored"] == 0
    q = client.get("/api/v1/quarantine", params={"load_id": s["load_id"]}, headers=h(keys["b_reader"])).json()
    assert len(q) == 3 and all(row["reason"] for row in q)
    b_loads = {ld["load_id"] for ld in client.get("/api/v1/loads", headers=h(keys["b_reader"])).json()}
    a_loads = {ld["load_id"] for ld in client.get("/api/v1/loads", headers=h(keys["a_reader"])).json()}
    assert s["load_id"] in b_loads and a_loads and not a_loads & b_loads


def test_concurrent_uploads_of_one_file_store_it_once(client, keys, server):
    body = orders_csv(60, sku_prefix="C")
    results = []

    def send():
        import httpx

        with httpx.Client(base_url=server["url"], timeout=60) as c:
            results.append(
                c.post(
                    "/api/v1/uploads/orders",
                    files={"file": ("same.csv", body, "text/csv")},
                    headers=h(keys["b_writer"]),
                ).json()
            )

    threads = [threading.Thread(target=send) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(r["status"] for r in results) == ["ok", "skipped"]
    assert sum(r["stored"] for r in results) == 60


def test_cached_answers_follow_each_tenants_writes(client, keys):
    """Answers are cached; a load clears its own tenant's answers (fresh at once) and no other tenant's."""
    a, b = h(keys["a_reader"]), h(keys["b_reader"])
    before_a, before_b = (client.get("/api/v1/loads", headers=x).json() for x in (a, b))
    new = client.post(
        "/api/v1/uploads/orders",
        files={"file": ("fresh.csv", orders_csv(12, "FR"), "text/csv")},
        headers=h(keys["b_writer"]),
    ).json()
    after_b = client.get("/api/v1/loads", headers=b).json()
    assert after_b[0]["load_id"] == new["load_id"] and len(after_b) == len(before_b) + 1
    assert client.get("/api/v1/loads", headers=a).json() == before_a


def test_many_concurrent_requests_for_one_cold_answer(client, keys, server):
    """Requests that miss the cache together share one query; all get the same full answer."""
    import httpx

    client.post(
        "/api/v1/uploads/orders",
        files={"file": ("herd.csv", orders_csv(8, "HD"), "text/csv")},
        headers=h(keys["a_writer"]),
    )  # clears tenant A's answers
    bodies = []

    def get():
        with httpx.Client(base_url=server["url"], timeout=60) as c:
            r = c.get("/api/v1/loads", headers=h(keys["a_reader"]))
            bodies.append((r.status_code, r.text))

    threads = [threading.Thread(target=get) for _ in range(30)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(bodies) == 30 and len(set(bodies)) == 1 and bodies[0][0] == 200 and "herd.csv" in bodies[0][1]


def test_tenant_isolation(client, keys):
    b = client.post(
        "/api/v1/uploads/orders",
        files={"file": ("iso.csv", orders_csv(10, "ISO"), "text/csv")},
        headers=h(keys["b_writer"]),
    ).json()
    a = h(keys["a_reader"])
    assert client.get(f"/api/v1/loads/{b['load_id']}", headers=a).status_code == 404
    assert client.get(f"/api/v1/loads/{b['load_id']}", headers=h(keys["b_reader"])).status_code == 200
    assert client.get("/api/v1/quarantine", params={"load_id": b["load_id"]}, headers=a).json() == []
    assert client.get(f"/api/v1/loads/{b['load_id']}/reasons", headers=a).json() == []  # another tenant's load
    assert all(ld["load_id"] != b["load_id"] for ld in client.get("/api/v1/loads", headers=a).json())
    # B has run no stage: its results do not exist, A's are not shown to it
    for path in ("/api/v1/hotspots", "/api/v1/plan", "/api/v1/export/forecasts"):
        r = client.get(path, headers=h(keys["b_reader"]))
        data_rows = r.text.strip().splitlines()[1:] if path.endswith("forecasts") else r.json()
        assert r.status_code == 404 or (r.status_code == 200 and not data_rows), (path, r.text[:100])
    assert (
        client.get("/api/v1/recommendations", params={"items": "ISO1"}, headers=a).json()["recommendations"]
        and "ISO1" not in client.get("/api/v1/recommendations", headers=a).text
    )
    assert client.get("/api/v1/recommendations/customer/cust1", headers=a).status_code == 404


def test_jobs_run_a_stage_in_the_background(client, keys, server):
    own = tenant_keys(server, "brand-jobs", "writer", "reader")  # its own data: independent of the other tests
    files = {"file": ("jobs_orders.csv", orders_csv(40, sku_prefix="J"), "text/csv")}
    assert client.post("/api/v1/uploads/orders", files=files, headers=h(own["writer"])).status_code == 200
    r = client.post("/api/v1/jobs", json={"stage": "monitor"}, headers=h(own["writer"]))
    assert r.status_code == 202
    job = r.json()
    assert client.get(f"/api/v1/jobs/{job['job_id']}", headers=h(keys["a_admin"])).status_code == 404
    deadline = time.time() + 120
    while job["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.5)
        job = client.get(f"/api/v1/jobs/{job['job_id']}", headers=h(own["reader"])).json()
    assert job["status"] == "done" and job["progress"] == 1.0, job
    totals = client.get("/api/v1/indicators", params={"freq": "W"}, headers=h(own["reader"])).json()
    assert totals and sum(t["units"] for t in totals) > 0
    assert client.post("/api/v1/jobs", json={"stage": "rm -rf"}, headers=h(own["writer"])).status_code == 422
    assert client.post("/api/v1/jobs", json={"stage": "monitor"}, headers=h(own["reader"])).status_code == 403


@pytest.mark.parametrize(
    "path,params",
    [
        ("/api/v1/forecasts", {"unique_id": "' OR '1'='1"}),
        ("/api/v1/forecasts", {"unique_id": "x'; DROP TABLE forecasts; --"}),
        ("/api/v1/complaints", {"category": "x' OR tenant <> 'default' --"}),
        ("/api/v1/brief", {"category": '" OR 1=1 --'}),
        ("/api/v1/series/x' OR '1'='1", {}),
    ],
)
def test_injection_shaped_filters_match_nothing(client, keys, path, params):
    r = client.get(path, params=params, headers=h(keys["a_reader"]))
    assert r.status_code in (200, 404) and (r.status_code == 404 or r.json() == [])
    assert client.get("/api/v1/forecasts", params={"level": "total"}, headers=h(keys["a_reader"])).json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/indicators?freq=X",
        "/api/v1/hotspots?k=-1",
        "/api/v1/hotspots?k=abc",
        "/api/v1/forecasts?level=planet",
        "/api/v1/export/orders",
        "/api/v1/export/..%2F..%2Fetc",
        "/api/v1/export/api_keys",
        "/api/v1/loads/notanumber",
        "/static/..%2F..%2Fapp.py",
    ],
)
def test_bad_requests_are_4xx_with_a_message(client, keys, path):
    r = client.get(path, headers=h(keys["a_admin"]))
    assert 400 <= r.status_code < 500, (path, r.status_code)
    if r.headers.get("content-type", "").startswith("application/json"):
        assert r.json()["detail"]


def test_hostile_uploads(client, keys, server):
    w = h(keys["b_writer"])
    r = client.post(
        "/api/v1/uploads/orders", files={"file": ("../../etc/passwd", b"root:x:0:0", "text/plain")}, headers=w
    )
    assert r.status_code == 400 and "unsupported file type" in r.json()["detail"]
    r = client.post(
        "/api/v1/uploads/orders", files={"file": ("../../../tmp/evil.csv", orders_csv(5, "EV"), "text/csv")}, headers=w
    )
    assert r.status_code == 200 and r.json()["file"].endswith("evil.csv") and "/tmp/evil" not in r.json()["file"]
    r = client.post(
        "/api/v1/uploads/orders", files={"file": ("x.parquet", b"PAR1 not really", "application/x")}, headers=w
    )
    assert r.status_code == 422 and r.json()["detail"]
    r = client.post("/api/v1/uploads/orders", files={"file": ("empty.csv", b"", "text/csv")}, headers=w)
    assert r.status_code == 422 and "empty" in r.json()["detail"].lower()
    r = client.post("/api/v1/uploads/orders", files={"file": ("cols.csv", b"a,b\n1,2\n", "text/csv")}, headers=w)
    assert r.status_code == 422 and "sku" in r.json()["detail"].lower()
    big = io.BytesIO(b"x" * int((MAX_UPLOAD_MB + 1) * 1024 * 1024))
    r = client.post("/api/v1/uploads/orders", files={"file": ("big.csv", big, "text/csv")}, headers=w)
    assert r.status_code == 413
    r = client.post("/api/v1/uploads/planets", files={"file": ("a.csv", b"a\n1", "text/csv")}, headers=w)
    assert r.status_code == 422
    assert client.get("/api/v1/whoami", headers=w).status_code == 200  # still serving


def test_reads_are_served_while_a_load_runs(client, keys, server, sample_orders):
    body = sample_orders.read_bytes()
    done = []

    def upload():
        import httpx

        with httpx.Client(base_url=server["url"], timeout=120) as c:
            done.append(
                c.post(
                    "/api/v1/uploads/orders",
                    files={"file": ("sample.parquet", body, "application/x")},
                    headers=h(keys["b_writer"]),
                ).status_code
            )

    th = threading.Thread(target=upload)
    th.start()
    codes = []
    while th.is_alive() and len(codes) < 200:
        codes.append(client.get("/api/v1/indicators", headers=h(keys["a_reader"])).status_code)
    th.join()
    assert done == [200] and codes and set(codes) == {200}


def test_admin_manages_keys_of_its_own_tenant_only(client, keys):
    r = client.post("/api/v1/keys", json={"role": "reader"}, headers=h(keys["a_admin"]))
    assert r.status_code == 201 and r.json()["tenant"] == "default"
    new = r.json()["key"]
    me = client.get("/api/v1/whoami", headers=h(new)).json()
    assert (me["tenant"], me["role"]) == ("default", "reader")
    listed = client.get("/api/v1/keys", headers=h(keys["a_admin"])).json()
    assert new.split("_")[1] in {k["key_id"] for k in listed} and "key_hash" not in listed[0]
    assert all(k["tenant"] == "default" for k in listed)
    assert client.post("/api/v1/keys", json={"role": "admin"}, headers=h(keys["b_writer"])).status_code == 403
    assert client.post("/api/v1/keys", json={"role": "root"}, headers=h(keys["a_admin"])).status_code == 422


def test_products_and_results_status(client, keys, server):
    """Descriptions for the codes the dashboard shows, and which results exist and are stale, per tenant."""
    from supplyfit.assets import RESULTS

    got = client.get("/api/v1/products", params={"limit": 5}, headers=h(keys["a_reader"]))
    assert got.status_code == 200 and len(got.json()) == 5 and {"sku", "name", "category"} <= set(got.json()[0])
    empty = tenant_keys(server, "brand-no-products", "reader")["reader"]
    assert client.get("/api/v1/products", headers=h(empty)).json() == []
    status = client.get("/api/v1/results", headers=h(keys["a_reader"])).json()
    names = [r["table"] for r in status]
    assert names == [n for n in RESULTS if n in names] and {"forecasts", "hotspots", "production_plan"} <= set(names)
    assert all(isinstance(r["stale"], bool) for r in status)
    assert {r["command"] for r in status} >= {"supplyfit forecast", "supplyfit monitor"}
    assert client.get("/api/v1/results", headers=h(empty)).json() == []
