"""A small store (two SKUs of one category, 13 weeks of history, a stored forecast and plan for the current
week) served by a real uvicorn server on loopback, and a real webhook receiver that checks signatures."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pandas as pd
import pytest
from servers import free_port, serving

from supplyfit.api import create_app, create_key
from supplyfit.live.engine import LiveOptions
from supplyfit.live.webhooks import Backoff
from supplyfit.store import Store, ingest

WEEK = pd.Timestamp("2024-04-01")  # the current business week (a Monday)
TENANTS = ("default", "brand-b")
FAST = Backoff(first=0.2, cap=0.5)


def history_csv(path: Path) -> Path:
    """Two SKUs of category 'bags', 10 units each per week for the 13 weeks before WEEK."""
    rows = [
        {
            "order_id": f"H{w}-{sku}",
            "sku": sku,
            "description": f"BAG {sku}",
            "quantity": 10,
            "unit_price": 2.0,
            "ts": f"{WEEK - pd.Timedelta(weeks=13 - w) + pd.Timedelta(days=2):%Y-%m-%d} 10:00",
            "category": "bags",
        }
        for w in range(13)
        for sku in ("A1", "A2")
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def make_store(db: Path) -> dict[str, str]:
    """Load the history and store forecasts (70 a week, 80% band 50..90) and a plan for each tenant; the
    tenants' keys."""
    fc = pd.DataFrame(
        {
            "unique_id": ["A1", "A2", "category/bags"],
            "ds": [WEEK] * 3,
            "yhat": [70.0, 70.0, 140.0],
            "yhat_q10": [50.0, 50.0, 110.0],
            "yhat_q50": [70.0, 70.0, 140.0],
            "yhat_q90": [90.0, 90.0, 170.0],
            "level": ["sku", "sku", "category"],
        }
    )
    plan = pd.DataFrame({"unique_id": ["A1", "A2"], "ds": [WEEK + pd.Timedelta(weeks=1)] * 2, "qty": [80.0, 80.0]})
    keys = {}
    for tenant in TENANTS:
        with Store(db, tenant=tenant) as st:
            ingest(st, history_csv(db.parent / f"history-{tenant}.csv"), "orders")
            st.write_result("forecasts", fc)
            st.write_result("production_plan", plan)
            for role in ("reader", "writer", "admin"):
                keys[f"{tenant}:{role}"] = create_key(st, tenant, role)
    return keys


@pytest.fixture
def store_db(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "live.duckdb"
    return db, make_store(db)


@contextlib.contextmanager
def live_server(db: Path, **options):
    """A server on ``db`` with webhooks allowed to 127.0.0.1 and a fast retry schedule (unless overridden)."""
    app = create_app(db)
    app.state.live_options = LiveOptions(**{"webhook_allow": frozenset({"127.0.0.1"}), "backoff": FAST, **options})
    with serving(app) as url:
        yield url


@pytest.fixture
def server(store_db):
    db, keys = store_db
    with live_server(db) as url:
        yield {"url": url, "keys": keys, "db": db}


def client(server: dict, tenant: str = "default", role: str = "writer") -> httpx.Client:
    return httpx.Client(base_url=server["url"], headers={"X-API-Key": server["keys"][f"{tenant}:{role}"]}, timeout=60)


def eventually(fn, timeout: float = 30.0, interval: float = 0.05):
    """``fn()``'s first truthy result, polled until ``timeout`` (generous: no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(interval)


def line(order_id: str, sku: str = "A1", quantity: float = 10, ts: str = "2024-04-04T12:00:00", **extra) -> dict:
    return {"order_id": order_id, "sku": sku, "quantity": quantity, "unit_price": 2.0, "ts": ts, **extra}


class Receiver:
    """A webhook receiver on loopback: checks each delivery's Standard Webhooks signature by hand (HMAC-SHA256
    of "id.timestamp.body" keyed by the secret's base64 part) and records it. ``fail_first`` answers 500 to
    the first delivery of each webhook-id (to see the redelivery keep it)."""

    def __init__(self, port: int | None = None, fail_first: bool = False):
        self.port, self.fail_first = port or free_port(), fail_first
        self.secret: str | None = None
        self.accepted: list[tuple[str, dict]] = []  # (webhook-id, body) answered 2xx
        self.refused: list[str] = []  # webhook-ids answered 500 on purpose
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def verify(self, headers, body: bytes) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(s == f"v1,{expected}" for s in headers["webhook-signature"].split(" "))

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                wid = self.headers["webhook-id"]
                with outer._lock:
                    if not outer.verify(self.headers, body):
                        outer.bad_signatures += 1
                        status = 401
                    elif outer.fail_first and wid not in outer.refused:
                        outer.refused.append(wid)
                        status = 500
                    else:
                        outer.accepted.append((wid, json.loads(body)))
                        status = 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
