"""End to end: raw customer ids and e-mails given at ingest appear in no result table, report or API response."""

import httpx
import pandas as pd
import pytest
from servers import serving

from supplyfit.api import create_app, create_key
from supplyfit.monitor.report import write_report
from supplyfit.pipeline import run_all
from supplyfit.store import Store, ingest
from supplyfit.store.db import INTERNAL_TABLES, SOURCE_TABLES

RAW = "CUSTRAW"  # every raw id starts with it; e-mails end with MAIL
MAIL = "@private.example"


@pytest.fixture(scope="module")
def private(tmp_path_factory, sample_orders, sample_reviews):
    """The bundled sample with recognisable raw ids, an e-mail column and contact details in a review."""
    tmp = tmp_path_factory.mktemp("private")
    orders = pd.read_parquet(sample_orders)
    cid = orders["Customer ID"]
    orders["Customer ID"] = [None if pd.isna(c) else f"{RAW}{int(c)}" for c in cid]
    orders["E-mail"] = [None if pd.isna(c) else f"buyer{int(c)}{MAIL}" for c in cid]
    orders.to_parquet(tmp / "orders.parquet", index=False)
    reviews = pd.read_csv(sample_reviews)
    extra = reviews.head(1).assign(review=f"质量太差，退款请联系 ann{MAIL} 或 13912345678")
    pd.concat([reviews, extra]).to_csv(tmp / "reviews.csv", index=False)
    db = tmp / "private.duckdb"
    with Store(db) as st:
        ingest(st, tmp / "orders.parquet", "orders", preset="uci-online-retail")
        ingest(st, tmp / "reviews.csv", "reviews", preset="reviews-10cats")
        run_all(st)
        report = write_report(st, tmp / "report.html").read_text()
        key = create_key(st, "default", "admin")  # admin: every GET endpoint answers
        known = sorted(set(orders["Customer ID"].dropna()))[:3]
        results = [t for t in st.status()["tables"] if t not in SOURCE_TABLES]
    return {"db": db, "report": report, "key": key, "known": known, "results": results}


def test_no_raw_id_in_any_table_or_the_report(private):
    assert RAW not in private["report"] and MAIL not in private["report"]
    with Store(private["db"], read_only=True) as st:
        for table in st.query("SELECT table_name FROM information_schema.tables").table_name:
            if table in INTERNAL_TABLES:
                continue
            dump = st.query(f'SELECT * FROM "{table}"').to_csv()
            assert RAW not in dump and MAIL not in dump, table


def test_no_raw_id_in_any_api_response(private):
    app = create_app(private["db"])
    with serving(app) as url, httpx.Client(base_url=url, headers={"X-API-Key": private["key"]}, timeout=60) as c:
        bodies = []
        for path, methods in app.openapi()["paths"].items():
            if "get" in methods and "{" not in path:
                r = c.get(path)
                assert r.status_code == 200, (path, r.text)
                bodies.append(r.text)
        assert len(private["results"]) >= 8
        for table in private["results"]:
            r = c.get(f"/api/v1/export/{table}")
            assert r.status_code == 200, table
            bodies.append(r.text)
        for raw in private["known"]:
            pid = c.post("/api/v1/customers/pseudonym", json={"customer_id": raw}).json()["pseudonym"]
            r = c.get(f"/api/v1/recommendations/customer/{pid}")
            assert r.status_code == 200 and r.json()["recommendations"]
            bodies.append(r.text)
    dump = "\n".join(bodies)
    assert "c_" in dump  # pseudonyms are there, so the scan saw customer-level data
    assert RAW not in dump and MAIL not in dump and "13912345678" not in dump
