"""`serve --refresh-every`: stale results follow the events on the operator's schedule, as jobs, never on a read."""

from supplyfit.assets import stale
from supplyfit.store import Store

from .conftest import client, eventually, line, live_server


def test_events_make_results_stale_and_the_schedule_refreshes_them(store_db):
    db, keys = store_db
    with live_server(db, refresh_every=0.3) as url:
        server = {"url": url, "keys": keys}
        with client(server) as c:
            assert c.get("/api/v1/jobs").json() == []  # fresh results: nothing to do
            assert c.post("/api/v1/events/orders", json=[line("N1", quantity=25)]).json()["accepted"] == 1
            done = eventually(lambda: [j for j in c.get("/api/v1/jobs").json() if j["status"] in ("done", "failed")])
        assert [(j["stage"], j["status"]) for j in done] == [("all", "done")], done
        with client(server, tenant="brand-b") as other:
            assert other.get("/api/v1/jobs").json() == []  # its results did not change: not refreshed
    with Store(db, read_only=True) as st:
        assert stale(st) == []
        assert st.query("SELECT count(*) AS n FROM forecasts WHERE tenant = $tenant").n[0] > 3
