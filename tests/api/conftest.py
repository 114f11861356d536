"""A real uvicorn server on a loopback port, on a copy of the demo store, with keys for two tenants."""

import shutil
import socket
import threading
import time

import pytest
import uvicorn

from supplyfit.api import create_app, create_key
from supplyfit.store import Store

MAX_UPLOAD_MB = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def keys(server):
    return server["keys"]


@pytest.fixture(scope="session")
def server(demo_store, tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "api.duckdb"
    shutil.copy(demo_store, db)
    with Store(db) as st:
        keys = {"a_reader": create_key(st, "default", "reader"), "a_writer": create_key(st, "default", "writer"),
                "a_admin": create_key(st, "default", "admin"), "b_writer": create_key(st, "brand-b", "writer"),
                "b_reader": create_key(st, "brand-b", "reader")}
    app = create_app(db, max_upload_mb=MAX_UPLOAD_MB)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    yield {"url": f"http://127.0.0.1:{port}", "keys": keys, "db": db, "app": app}
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def client(server):
    import httpx

    with httpx.Client(base_url=server["url"], timeout=60) as c:
        yield c


def h(key: str) -> dict:
    return {"X-API-Key": key}
