"""Every GET route of the OpenAPI spec, for a tenant with data and for one without: 200 (possibly empty) or a
JSON 4xx with a message, never a 5xx, never a non-JSON body under /api/ (but a CSV export)."""

import pytest

from .conftest import h, tenant_keys


def _walk(client, app, key):
    answers = {}
    for path, methods in app.openapi()["paths"].items():
        if "get" not in methods or not path.startswith("/api/"):
            continue
        url = path.replace("{unique_id}", "85123A").replace("{customer_id}", "c_0000000000000000")
        url = url.replace("{load_id}", "1").replace("{job_id}", "nope").replace("{table}", "forecasts")
        url = url.replace("{id}", "nope").replace("{webhook_id}", "nope").replace("{key_id}", "nope")
        r = client.get(url, headers=h(key))
        answers[path] = r.status_code
        assert r.status_code < 500, (path, r.text[:300])
        if r.headers["content-type"].startswith("text/csv"):
            assert r.status_code == 200 and path.endswith("{table}")
            continue
        body = r.json()
        if r.status_code >= 400:
            assert isinstance(body, dict) and body.get("detail"), (path, body)
    return answers


@pytest.mark.parametrize("tenant", ["default", "tenant-with-nothing"])
def test_every_get_route_answers_json_without_5xx(client, server, tenant):
    key = server["keys"]["a_admin"] if tenant == "default" else tenant_keys(server, tenant, "admin")["admin"]
    answers = _walk(client, server["app"], key)
    assert len(answers) >= 20 and answers["/api/v1/whoami"] == 200
    if tenant == "default":
        assert answers["/api/v1/forecasts"] == answers["/api/v1/hotspots"] == 200


def test_every_get_route_on_a_new_store_without_result_tables(tmp_path):
    """A store made a minute ago has no result tables at all: each route says there is nothing yet (a missing table
    once reached a route function of the same name through DuckDB's replacement scans: a 500)."""
    import httpx
    from servers import serving

    from supplyfit.api import create_app, create_key
    from supplyfit.store import Store

    db = tmp_path / "new.duckdb"
    with Store(db) as st:
        key = create_key(st, "shop", "admin")
    app = create_app(db)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        answers = _walk(client, app, key)
    assert answers["/api/v1/complaints"] == answers["/api/v1/complaints/summary"] == 404
