"""A real uvicorn server on a loopback port, on a copy of the demo store, with keys for two tenants."""

import shutil

import pytest
from servers import serving

from supplyfit.api import create_app, create_key
from supplyfit.store import Store

MAX_UPLOAD_MB = 4


@pytest.fixture(scope="session")
def keys(server):
    return server["keys"]


@pytest.fixture(scope="session")
def server(demo_store, tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "api.duckdb"
    shutil.copy(demo_store, db)
    shutil.copy(f"{demo_store}.secret", f"{db}.secret")  # the pseudonym secret lives beside the store
    with Store(db) as st:
        keys = {
            "a_reader": create_key(st, "default", "reader"),
            "a_writer": create_key(st, "default", "writer"),
            "a_admin": create_key(st, "default", "admin"),
            "b_writer": create_key(st, "brand-b", "writer"),
            "b_reader": create_key(st, "brand-b", "reader"),
        }
    app = create_app(db, max_upload_mb=MAX_UPLOAD_MB)
    with serving(app) as url:
        yield {"url": url, "keys": keys, "db": db, "app": app}


@pytest.fixture
def client(server):
    import httpx

    with httpx.Client(base_url=server["url"], timeout=60) as c:
        yield c


def h(key: str) -> dict:
    return {"X-API-Key": key}


def tenant_keys(server, tenant: str, *roles: str) -> dict[str, str]:
    """Keys of a new tenant, made on the running server's store (the server holds the file)."""
    service = server["app"].state.service
    with service.write_lock:
        store = service.store.scoped(tenant)
        try:
            return {role: create_key(store, tenant, role) for role in roles}
        finally:
            store.close()
