"""The state of a running server, made in the app's lifespan and closed at shutdown, and the per-request
session every route gets through :func:`session`.

One process holds the DuckDB file; every request gets a cursor scoped to the caller's tenant, so reads never
wait for a load (DuckDB MVCC). Writes (uploads, stage jobs, keys) are serialised by one lock, so two uploads
of the same file store it once (the second sees the content hash and is skipped).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import pandas as pd
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from ..store import LoadReport, Store, ingest
from .cache import ResultCache, SingleFlight
from .gate import CALLER, FailureLimiter
from .jobs import JobBoard
from .keys import Caller, KeyCache

T = TypeVar("T")
BACKGROUND_NICE = 10  # Linux thread niceness of loads, stage jobs and model builds
READ_CONCURRENCY = 2  # queries at once, one per core: more threads contend for the GIL and stretch the tail
# request bodies parsed at once (pure Python, holding the GIL): 32 senders' bodies parsed on 32 threads kept the event
# loop waiting its turn for the GIL, and cached reads took 100+ ms
PARSE_CONCURRENCY = 2

api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Key from `supplyfit keys create`.")


class Service:
    """Everything the routes share: the store, the write lock, caches (each bounded by bytes), jobs and the
    limiter of failed key attempts."""

    def __init__(
        self, db: str | Path, max_upload_bytes: int, cache_bytes: int = 64 << 20, model_bytes: int = 512 << 20
    ):
        self.store = Store(db)
        self.max_upload_bytes = max_upload_bytes
        self.write_lock = threading.Lock()
        self.results = ResultCache(cache_bytes)
        self.recommenders: SingleFlight[object] = SingleFlight(model_bytes)
        self.keys = KeyCache(self.store)
        self.limiter = FailureLimiter()
        self.jobs = JobBoard()
        self.inflight: dict[tuple, asyncio.Future] = {}  # answers being fetched; touched on the event loop only
        self.reads = asyncio.Semaphore(READ_CONCURRENCY)
        self.parses = asyncio.Semaphore(PARSE_CONCURRENCY)
        self._local = threading.local()  # one read cursor per serving thread
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursor_lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's read cursor, made on first use and kept: a query does not pay for a new one. It never
        reads a Python variable in place of a missing table (DuckDB's replacement scans would find a route
        function named like the table and fail with a confusing error instead of "table does not exist")."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self.store.con.cursor()
            con.execute("SET python_enable_replacements = false")
            with self._cursor_lock:
                self._cursors.append(con)
        return con

    def close(self, wait_s: float = 30) -> None:
        """Wait up to ``wait_s`` for a running write, refuse further jobs, then close every cursor and the
        store (the file is free for another process at once)."""
        got = self.write_lock.acquire(timeout=wait_s)
        self.jobs.closed = True
        try:
            for con in self._cursors:
                con.close()
            self.store.close()
        finally:
            if got:
                self.write_lock.release()

    def write(self, tenant: str, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run the write ``fn(store, ...)`` for ``tenant`` under the write lock, on a cursor of its own at a
        lower CPU priority, then clear the tenant's cached answers."""
        store = self.store.scoped(tenant)
        try:
            with self.write_lock:
                try:
                    return in_background(fn, store, *args, **kwargs)
                finally:
                    self.results.clear(tenant)
        finally:
            store.close()

    def load(self, tenant: str, *args: Any, **kwargs: Any) -> LoadReport:
        """:func:`ingest` for ``tenant`` at a lower CPU priority. Reading, decoding and staging the file run
        outside the write lock; ingest holds it only to register the load and for its short transaction, so a
        long load does not block other tenants' uploads. Clears the tenant's cached answers after."""
        store = self.store.scoped(tenant)
        try:
            return in_background(ingest, store, *args, write_lock=self.write_lock, **kwargs)
        finally:
            self.results.clear(tenant)
            store.close()


class Session:
    """The caller of a request and a store handle scoped to its tenant, on the serving thread's cursor."""

    def __init__(self, who: Caller, service: Service):
        self.who, self.service = who, service

    @property
    def store(self) -> Store:
        return self.service.store.scoped(self.who.tenant, self.service.cursor())

    def execute(
        self,
        table: str,
        where: str = "",
        params: dict | None = None,
        order: str = "",
        limit: int | None = None,
        exclude: tuple[str, ...] = (),
    ) -> duckdb.DuckDBPyConnection:
        """The query for rows of ``table`` of the caller's tenant, run (fetch from the result); 404 when the
        table does not exist yet."""
        sql = f'SELECT * EXCLUDE ({", ".join(("tenant", *exclude))}) FROM "{table}" WHERE tenant = $tenant'
        sql += (f" AND {where}" if where else "") + (f" ORDER BY {order}" if order else "")
        sql += f" LIMIT {int(limit)}" if limit else ""
        try:
            return self.service.cursor().execute(sql, {**(params or {}), "tenant": self.who.tenant})
        except (duckdb.CatalogException, duckdb.BinderException):
            raise HTTPException(404, f"no {table} yet: run its stage (POST /api/v1/jobs)") from None

    def count(self, table: str, where: str = "", params: dict | None = None) -> int:
        """How many rows of ``table`` of the caller's tenant match ``where`` (as for :meth:`execute`)."""
        sql = f'SELECT count(*) FROM "{table}" WHERE tenant = $tenant' + (f" AND {where}" if where else "")
        found = self.service.cursor().execute(sql, {**(params or {}), "tenant": self.who.tenant}).fetchone()
        return int(found[0]) if found else 0

    def query(self, table: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Rows of ``table`` as a DataFrame; arguments as for :meth:`execute`."""
        return self.execute(table, *args, **kwargs).df()


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux threads each have their own niceness)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (OSError, AttributeError):  # not Linux-like or not allowed: stay at normal priority
        pass


def in_background(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run ``fn`` to completion on a new thread at a lower CPU priority and return its result (or raise its
    error): loads, jobs and model builds then take the CPU the reads leave, instead of slowing them down."""
    out: dict = {}

    def work() -> None:
        lower_priority()
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread, which raises it
            out["error"] = e

    t = threading.Thread(target=work, name="supplyfit-background")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


async def session(request: Request, _key: Annotated[str | None, Depends(api_key)]) -> Session:
    """The caller's session, authenticated by the gate before the body was read (401 without a caller)."""
    who = request.scope.get(CALLER)
    if who is None:
        raise HTTPException(401, "missing or invalid API key (header X-API-Key)")
    return Session(who, request.app.state.service)


async def writer(s: Annotated[Session, Depends(session)]) -> Session:
    """The session of a writer or admin key (async: FastAPI runs a plain function on a worker thread)."""
    if not s.who.can("writer"):
        raise HTTPException(403, f"role {s.who.role} cannot write; a writer or admin key is needed")
    return s


async def admin(s: Annotated[Session, Depends(session)]) -> Session:
    """The session of an admin key."""
    if not s.who.can("admin"):
        raise HTTPException(403, "only an admin key can manage keys")
    return s


Ctx = Annotated[Session, Depends(session)]
WriterCtx = Annotated[Session, Depends(writer)]
AdminCtx = Annotated[Session, Depends(admin)]


async def fetch_once(ctx: Session, key: tuple, fetch: Callable[[], T]) -> T:
    """``fetch()`` for the caller's tenant and ``key``, from the cache when asked since that tenant's last
    write. A hit costs no thread hop, query or encoding, which keeps read latency low under many clients.
    A miss runs ``fetch`` on the thread pool, off the event loop, once: requests for the same answer
    meanwhile wait for it instead of running their own."""
    svc = ctx.service
    key = (ctx.who.tenant, *key)
    hit = svc.results.get(key)
    if hit is not None:
        return hit
    generation = svc.results.generation(ctx.who.tenant)
    flight = (key, generation)  # a fetch begun before a write is not joined by a read that comes after it
    pending = svc.inflight.get(flight)
    if pending is not None:
        return await asyncio.shield(pending)
    pending = svc.inflight[flight] = asyncio.get_running_loop().create_future()
    try:
        async with svc.reads:
            hit = await run_in_threadpool(fetch)
        svc.results.put(key, hit, generation)
        pending.set_result(hit)
        return hit
    except Exception as e:
        pending.set_exception(e)
        pending.exception()  # retrieved here; waiters, if any, get it too
        raise
    finally:
        del svc.inflight[flight]
