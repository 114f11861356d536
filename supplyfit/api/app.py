"""The REST API and dashboard: each tenant pushes its data in and reads its results out, and sees only its own.

One process holds the DuckDB file; every request gets its own cursor scoped to the caller's tenant, so reads
never wait for a load (DuckDB MVCC). Writes (uploads, stage jobs) are serialised by one lock, so two uploads of
the same file store it once (the second sees the content hash and is skipped).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Annotated, Callable, Literal, TypeVar

import duckdb
import pandas as pd
from fastapi import Depends, FastAPI, File, Form, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field

from ..store import IngestError, LoadReport, Store, ingest, parse_overrides
from ..store.db import is_result_table
from .keys import ROLES, Caller, create_key, list_keys, verify

T = TypeVar("T")
BACKGROUND_NICE = 10  # Linux thread niceness of loads and stage jobs
UPLOAD_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".xlsx"}
STATIC = Path(str(resources.files("supplyfit") / "api" / "static"))
Stage = Literal["voice", "demand", "supply", "match", "trust", "monitor", "all"]

api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Key from `supplyfit keys create`.")


class JobRequest(BaseModel):
    stage: Stage = Field(description="Stage to run in the background; 'all' runs every stage in chain order.")


class Job(BaseModel):
    job_id: str
    stage: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str = ""
    started: float | None = None
    finished: float | None = None


class KeyRequest(BaseModel):
    role: Literal[ROLES] = Field("reader", description="reader | writer | admin")  # type: ignore[valid-type]


class CustomerLookup(BaseModel):
    customer_id: str = Field(min_length=1, max_length=200, description="The customer id as your systems know it.")


class Pseudonym(BaseModel):
    pseudonym: str = Field(description="The id under which the store keeps this customer (a keyed hash).")


class WhoAmI(BaseModel):
    tenant: str
    role: str
    key_id: str


def encode(df: pd.DataFrame, one: bool = False) -> str:
    """A DataFrame as a JSON array of objects (ISO dates, NaN as null), encoded by pandas' C writer; with
    ``one``, its first row as a single object."""
    text = (df.iloc[:1] if one else df).to_json(orient="records", date_format="iso", force_ascii=False)
    return text[1:-1] if one else text


def records(df: pd.DataFrame) -> Response:
    return Response(encode(df), media_type="application/json")


class ResultCache:
    """Recent query results, keyed by tenant first, then query. Only this process writes the store (DuckDB
    allows one writer), and every write clears its tenant's entries and bumps its generation, so a hit is
    never stale (a query begun before a write is not kept) and one tenant's load leaves the others warm."""

    def __init__(self, size: int = 4096):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()
        self.generations: dict[str, int] = {}

    def generation(self, tenant: str) -> int:
        return self.generations.get(tenant, 0)

    def get(self, key: tuple):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key: tuple, value, generation: int) -> None:
        with self.lock:
            if generation != self.generation(key[0]):
                return
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self, tenant: str) -> None:
        with self.lock:
            self.generations[tenant] = self.generation(tenant) + 1
            for key in [k for k in self.data if k[0] == tenant]:
                del self.data[key]


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux threads each have their own niceness)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (OSError, AttributeError):  # not Linux-like or not allowed: stay at normal priority
        pass


def in_background(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run ``fn`` to completion on a new thread at a lower CPU priority and return its result (or raise its
    error): loads and stage jobs then take the CPU the reads leave, instead of slowing every read down."""
    out: dict = {}

    def work() -> None:
        lower_priority()
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread
            out["error"] = e

    t = threading.Thread(target=work, name="supplyfit-background")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


class BodyLimit:
    """Refuses a request whose declared body is over the limit (413) before anything reads it (pure ASGI)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                response = JSONResponse({"detail": f"upload larger than {self.max_bytes / 2**20:g} MB"}, 413)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


class Session:
    """The caller of a request and a store handle scoped to its tenant, on a cursor that the serving thread
    keeps between requests: a request answered from the cache never touches the database, and one that
    queries does not pay for a new cursor."""

    def __init__(self, who: Caller, root: Store, cursors: threading.local):
        self.who, self._root, self._cursors = who, root, cursors

    @property
    def store(self) -> Store:
        con = getattr(self._cursors, "con", None)
        if con is None:
            con = self._cursors.con = self._root.con.cursor()
        return self._root.scoped(self.who.tenant, con)


def _check_key(root: Store, key: str | None) -> Caller | None:
    store = root.scoped("")
    try:
        return verify(store, key)
    finally:
        store.close()


async def session(request: Request, key: Annotated[str | None, Depends(api_key)]) -> Session:
    """The caller's session (401 without a valid key). Runs on the event loop: a known key costs a dict lookup."""
    state = request.app.state
    who = state.callers.get(key) if key else None
    if who is None:
        who = await run_in_threadpool(_check_key, state.store, key)
        if who is None:
            raise HTTPException(401, "missing or invalid API key (header X-API-Key)")
        state.callers[key] = who
    return Session(who, state.store, state.cursors)


def writer(s: Annotated[Session, Depends(session)]) -> Session:
    if not s.who.can("writer"):
        raise HTTPException(403, f"role {s.who.role} cannot write; a writer or admin key is needed")
    return s


Ctx = Annotated[Session, Depends(session)]
WriterCtx = Annotated[Session, Depends(writer)]


def create_app(db: str | Path, max_upload_mb: float = 512) -> FastAPI:
    """The FastAPI app on the store at ``db`` (created and migrated if missing)."""
    root = Store(db)
    write_lock = threading.Lock()
    jobs: dict[str, dict] = {}
    recommenders: dict[tuple[str, int], object] = {}
    max_bytes = int(max_upload_mb * 1024 * 1024)

    app = FastAPI(title="supplyfit", version="0.1.0",
                  description="Consumer-goods data middle platform: upload orders and reviews, read indicators, "
                              "hotspots, forecasts, production plans, complaints, recommendations and segments. "
                              "Every call needs an `X-API-Key` header; data are scoped to the key's tenant.")
    app.state.store = root
    app.state.cursors = threading.local()  # one read cursor per serving thread
    app.state.callers = {}  # key -> Caller; keys change only through this process (see ResultCache)
    cache = ResultCache()
    inflight: dict[tuple, asyncio.Future] = {}  # answers being fetched; touched on the event loop only
    app.add_middleware(BodyLimit, max_bytes=max_bytes)

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "invalid request: " + "; ".join(problems)}, status_code=422)

    @app.exception_handler(Exception)
    def _unexpected(_request: Request, exc: Exception) -> JSONResponse:  # logged, never leaks a traceback
        traceback.print_exception(exc)
        return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)

    def query(ctx: Session, table: str, where: str = "", params: dict | None = None, order: str = "",
              limit: int | None = None) -> pd.DataFrame:
        sql = f'SELECT * EXCLUDE (tenant) FROM "{table}" WHERE tenant = $tenant' + (f" AND {where}" if where else "")
        sql += f" ORDER BY {order}" if order else ""
        sql += f" LIMIT {int(limit)}" if limit else ""
        try:
            return ctx.store.query(sql, params)
        except duckdb.CatalogException:
            raise HTTPException(404, f"no {table} yet: run its stage (POST /api/v1/jobs)") from None

    async def cached(ctx: Session, key: tuple, fetch: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        """``(empty, JSON body)`` of ``fetch`` for the caller's tenant and ``key``, from the cache when asked
        since that tenant's last write. A cached answer costs no thread hop, query or encoding, which is what
        keeps read latency low under many clients. A miss runs ``fetch`` on the thread pool, off the event
        loop, once: requests for the same answer meanwhile wait for it instead of running their own."""
        key = (ctx.who.tenant, *key)
        hit = cache.get(key)
        if hit is not None:
            return hit
        pending = inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = inflight[key] = asyncio.get_running_loop().create_future()
        generation = cache.generation(ctx.who.tenant)
        try:
            hit = await run_in_threadpool(fetch)
            cache.put(key, hit, generation)
            pending.set_result(hit)
            return hit
        except Exception as e:
            pending.set_exception(e)
            pending.exception()  # retrieved here; waiters, if any, get it too
            raise
        finally:
            del inflight[key]

    async def answer(ctx: Session, table: str, where: str = "", params: dict | None = None, order: str = "",
                     limit: int | None = None, one: bool = False, missing: str | None = None) -> Response:
        """A result table's rows for the caller's tenant as JSON (404 with ``missing`` when there are none)."""
        def fetch() -> tuple[bool, str]:
            df = query(ctx, table, where, params, order, limit)
            return df.empty, encode(df, one)

        empty, body = await cached(ctx, ("json", one, table, where, tuple(sorted((params or {}).items())), order,
                                         limit), fetch)
        if empty and missing:
            raise HTTPException(404, missing)
        return Response(body, media_type="application/json")

    # ---- pages --------------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            from plotly.offline import get_plotlyjs

            return PlainTextResponse(get_plotlyjs(), media_type="application/javascript",
                                     headers={"Cache-Control": "max-age=86400"})
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            raise HTTPException(404, "not found")
        return FileResponse(path)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"ok": True}

    # ---- who and what -------------------------------------------------------------------------------
    @app.get("/api/v1/whoami", response_model=WhoAmI, tags=["auth"])
    def whoami(ctx: Ctx) -> WhoAmI:
        return WhoAmI(tenant=ctx.who.tenant, role=ctx.who.role, key_id=ctx.who.key_id)

    @app.post("/api/v1/keys", status_code=201, tags=["auth"])
    def new_key(req: KeyRequest, ctx: Ctx) -> dict:
        """A new key for the caller's own tenant (admin only); the response is the only copy of it."""
        if not ctx.who.can("admin"):
            raise HTTPException(403, "only an admin key can create keys")
        with write_lock:
            return {"tenant": ctx.who.tenant, "role": req.role, "key": create_key(ctx.store, ctx.who.tenant, req.role)}

    @app.get("/api/v1/keys", tags=["auth"])
    def keys(ctx: Ctx) -> Response:
        """Key ids and roles of the caller's tenant (admin only); never the keys."""
        if not ctx.who.can("admin"):
            raise HTTPException(403, "only an admin key can list keys")
        return records(list_keys(ctx.store, ctx.who.tenant))

    # ---- loads --------------------------------------------------------------------------------------
    @app.post("/api/v1/uploads/{kind}", response_model=LoadReport, tags=["loads"])
    def upload(kind: Literal["orders", "reviews"], ctx: WriterCtx,
               file: Annotated[UploadFile, File(description="CSV, TSV, Parquet or XLSX")],
               preset: Annotated[str | None, Form(description="uci-online-retail | reviews-10cats")] = None,
               mapping: Annotated[list[str], Form(description="SOURCE=FIELD, repeatable")] = [],  # noqa: B006
               encoding: Annotated[str | None, Form()] = None) -> LoadReport:
        """Load a file with the same validation, quarantine and idempotency as `supplyfit ingest`. The body is
        spooled to disk by the multipart parser and copied in chunks, never held whole in memory."""
        name = re.sub(r"[^\w.\-]", "_", Path((file.filename or "upload").replace("\\", "/")).name)[:120]
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise HTTPException(400, f"unsupported file type {suffix or '(none)'}; send "
                                     f"{', '.join(sorted(UPLOAD_SUFFIXES))}")
        try:
            overrides = parse_overrides(mapping)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        with tempfile.TemporaryDirectory(prefix="supplyfit-upload-") as tmp:
            path = Path(tmp) / (name.lstrip(".") or f"upload{suffix}")
            size = 0
            with open(path, "wb") as out:
                while chunk := file.file.read(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        raise HTTPException(413, f"upload larger than {max_upload_mb:g} MB")
                    out.write(chunk)
            store = root.scoped(ctx.who.tenant)  # a cursor of its own for the load's transaction
            try:
                with write_lock:
                    report = in_background(ingest, store, path, kind, preset=preset, mapping=overrides,
                                           encoding=encoding)
                    cache.clear(ctx.who.tenant)
            except (IngestError, ValueError, KeyError) as e:
                raise HTTPException(422, str(e).replace(tmp + "/", "")) from None
            finally:
                store.close()
        report.file = name  # the client's file name, not the server's spool path
        return report

    @app.get("/api/v1/loads", tags=["loads"])
    async def loads(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
        """Recent loads of this tenant, newest first."""
        return await answer(ctx, "loads", order="load_id DESC", limit=limit)

    @app.get("/api/v1/loads/{load_id}", tags=["loads"])
    async def load(load_id: int, ctx: Ctx) -> Response:
        return await answer(ctx, "loads", "load_id = $id", {"id": load_id}, one=True, missing=f"no load {load_id}")

    @app.get("/api/v1/quarantine", tags=["loads"])
    async def quarantine(ctx: Ctx, load_id: int | None = None,
                         limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
        """Rejected rows with their reason and the raw row as read."""
        where, params = ("load_id = $id", {"id": load_id}) if load_id is not None else ("", None)
        return await answer(ctx, "quarantine", where, params, order="load_id, src_row", limit=limit)

    # ---- results ------------------------------------------------------------------------------------
    @app.get("/api/v1/indicators", tags=["monitor"])
    async def indicators(ctx: Ctx, freq: Literal["W", "M"] = "M",
                         table: Literal["totals", "by_dimension", "contribution", "concentration", "price_bands",
                                        "customers", "sentiment", "forecast"] = "totals",
                         dimension: Literal["category", "region", "channel"] | None = None) -> Response:
        """Consumption indicators per period (see `supplyfit.monitor.indicators`)."""
        where, params = "freq = $freq", {"freq": freq}
        if dimension and table == "by_dimension":
            where, params = where + " AND dimension = $dim", {**params, "dim": dimension}
        return await answer(ctx, f"ind_{table}", where, params)

    @app.get("/api/v1/hotspots", tags=["monitor"])
    async def hotspots(ctx: Ctx, k: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
        return await answer(ctx, "hotspots", order="rank", limit=k)

    @app.get("/api/v1/forecasts", tags=["demand"])
    async def forecasts(ctx: Ctx, unique_id: Annotated[str | None, Query(max_length=200)] = None,
                  level: Literal["sku", "category", "total"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Response:
        """Forecasts with 80% bands; filter by series id and/or level."""
        conds, params = [], {}
        if unique_id is not None:
            conds.append("unique_id = $uid")
            params["uid"] = unique_id
        if level is not None:
            conds.append("level = $level")
            params["level"] = level
        return await answer(ctx, "forecasts", " AND ".join(conds), params, order="level, unique_id, ds", limit=limit,
                            missing=f"no forecast for {unique_id!r}" if unique_id is not None else None)

    @app.get("/api/v1/series/{unique_id:path}", tags=["demand"])
    async def series(unique_id: Annotated[str, PathParam(max_length=200)], ctx: Ctx) -> Response:
        """History and forecast of one SKU, category ('category/NAME') or 'total', for the forecast explorer:
        ``{unique_id, level, history: {ds, y}, forecast: {ds, yhat, yhat_q10, yhat_q50, yhat_q90}}``."""
        def fetch() -> tuple[bool, str]:
            fc = query(ctx, "forecasts", "unique_id = $uid", {"uid": unique_id}, order="ds")
            if fc.empty:
                return True, ""
            level = fc.level.iloc[0]
            key = {"sku": "unique_id = $uid", "category": "category = $uid", "total": "TRUE"}[level]
            name = unique_id.split("/", 1)[-1] if level == "category" else unique_id
            hist = ctx.store.query(f"SELECT ds, sum(y) AS y FROM demand_panel WHERE tenant = $tenant AND {key} "
                                   "GROUP BY ds ORDER BY ds", {"uid": name} if level != "total" else None)
            return False, json.dumps({
                "unique_id": unique_id, "level": level,
                "history": {"ds": hist.ds.dt.strftime("%Y-%m-%d").tolist(), "y": hist.y.tolist()},
                "forecast": {c: (fc[c].dt.strftime("%Y-%m-%d") if c == "ds" else fc[c]).tolist()
                             for c in ("ds", "yhat", "yhat_q10", "yhat_q50", "yhat_q90")}}, ensure_ascii=False)

        empty, body = await cached(ctx, ("series", unique_id), fetch)
        if empty:
            raise HTTPException(404, f"no forecast for {unique_id!r}")
        return Response(body, media_type="application/json")

    @app.get("/api/v1/plan", tags=["supply"])
    async def plan(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Response:
        """The production plan: what to make, for which week."""
        return await answer(ctx, "production_plan", order="qty DESC", limit=limit)

    @app.get("/api/v1/policies", tags=["supply"])
    async def policies(ctx: Ctx) -> Response:
        return await answer(ctx, "policy_comparison")

    @app.get("/api/v1/complaints", tags=["voice"])
    async def complaints(ctx: Ctx, category: Annotated[str | None, Query(max_length=100)] = None,
                         limit: Annotated[int, Query(ge=1, le=10_000)] = 50) -> Response:
        """Negative reviews, most urgent first, each with its reason."""
        where, params = ("category = $cat", {"cat": category}) if category else ("", None)
        return await answer(ctx, "complaints", where, params, order="rank", limit=limit)

    @app.get("/api/v1/brief", tags=["voice"])
    async def brief(ctx: Ctx, category: Annotated[str | None, Query(max_length=100)] = None) -> Response:
        """Design brief: top unmet needs and praised attributes per category."""
        where, params = ("category = $cat", {"cat": category}) if category else ("", None)
        return await answer(ctx, "design_brief", where, params, order="category, kind, rank")

    @app.get("/api/v1/verification", tags=["trust"])
    async def verification(ctx: Ctx, kind: Annotated[str | None, Query(max_length=40)] = None,
                           severity: Literal["high", "medium", "low", "info"] | None = None,
                           limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
        """Product-information findings, most severe first, each with its reason and the rows behind it."""
        conds = {"kind = $kind": kind, "severity = $severity": severity}
        where = " AND ".join(c for c, v in conds.items() if v)
        params = {k: v for k, v in (("kind", kind), ("severity", severity)) if v}
        return await answer(ctx, "verification", where, params or None, order="finding_id", limit=limit)

    @app.get("/api/v1/credit", tags=["trust"])
    async def credit(ctx: Ctx) -> Response:
        """Credit score per merchant (or product line), with every component's rate and points lost."""
        return await answer(ctx, "credit", order="score")

    @app.get("/api/v1/segments", tags=["match"])
    async def segments(ctx: Ctx, summary: bool = True,
                       limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Response:
        """Segment summary (default) or per-customer RFM segments."""
        if summary:
            return await answer(ctx, "segment_summary")
        return await answer(ctx, "segments", order="monetary DESC", limit=limit)

    def _recommender(store: Store):
        from ..match.stage import recommender

        last = int(store.query("SELECT coalesce(max(load_id), 0) AS n FROM loads WHERE tenant = $tenant").n[0])
        key = (store.tenant, last)
        if key not in recommenders:
            sales = store.sales()
            if sales.empty:
                raise HTTPException(404, "no orders loaded for this tenant")
            recommenders[key] = recommender(sales[~sales.is_return])
        return recommenders[key]

    @app.get("/api/v1/recommendations", tags=["match"])
    def recommend(ctx: Ctx, items: Annotated[list[str], Query(max_length=200)] = [],  # noqa: B006
                  k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        """What goes with a basket (``items`` repeated); unknown items are ignored."""
        return {"items": items, "recommendations": _recommender(ctx.store).recommend(items, k)}

    @app.get("/api/v1/recommendations/customer/{customer_id}", tags=["match"])
    def recommend_customer(customer_id: Annotated[str, PathParam(max_length=200)], ctx: Ctx,
                           k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        store = ctx.store
        known = store.query("SELECT 1 FROM customers WHERE tenant = $tenant AND customer_id = $c LIMIT 1",
                            {"c": customer_id})
        if known.empty:
            raise HTTPException(404, f"no customer {customer_id!r}")
        return {"customer_id": customer_id, "recommendations": _recommender(store).recommend_customer(customer_id, k)}

    @app.post("/api/v1/customers/pseudonym", response_model=Pseudonym, tags=["match"])
    def customer_pseudonym(req: CustomerLookup, ctx: Ctx) -> Pseudonym:
        """The pseudonym of one of your customer ids, for the per-customer endpoints. Raw ids are never stored;
        sent in the body, not the path, they stay out of access logs too."""
        return Pseudonym(pseudonym=ctx.store.pseudonym(req.customer_id))

    @app.get("/api/v1/export/{table}", tags=["results"])
    def export(table: Annotated[str, PathParam(pattern=r"^[a-z_][a-z0-9_]{0,62}$")], ctx: Ctx,
               format: Literal["csv", "json"] = "csv") -> Response:
        """A whole result table of this tenant (source tables and keys are not exportable)."""
        if not is_result_table(table):
            raise HTTPException(403, f"{table} is not a result table")
        df = query(ctx, table)
        if format == "json":
            return records(df)
        return Response(df.to_csv(index=False), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{table}.csv"'})

    # ---- jobs ---------------------------------------------------------------------------------------
    def _run_job(job_id: str, stage: str, tenant: str) -> None:
        from ..pipeline import stages

        lower_priority()
        job = jobs[job_id]
        chosen = [(n, f) for n, f in stages() if stage in ("all", n)]
        with write_lock:
            store = root.scoped(tenant)
            job.update(status="running", started=time.time())
            try:
                for i, (name, fn) in enumerate(chosen):
                    job["message"] = f"running {name}"
                    job["message"] = f"{name}: {fn(store)}"
                    cache.clear(tenant)
                    job["progress"] = (i + 1) / len(chosen)
                job.update(status="done", finished=time.time())
            except Exception as e:  # reported through the job, the server keeps serving
                job.update(status="failed", message=f"{type(e).__name__}: {e}", finished=time.time())
            finally:
                store.close()

    @app.post("/api/v1/jobs", response_model=Job, status_code=202, tags=["jobs"])
    def start_job(req: JobRequest, ctx: WriterCtx) -> Job:
        """Run a stage (or all) in the background; poll `GET /api/v1/jobs/{job_id}` for progress."""
        job_id = uuid.uuid4().hex[:12]
        jobs[job_id] = dict(job_id=job_id, stage=req.stage, status="queued", progress=0.0, message="",
                            started=None, finished=None, tenant=ctx.who.tenant)
        threading.Thread(target=_run_job, args=(job_id, req.stage, ctx.who.tenant), daemon=True).start()
        return Job(**jobs[job_id])

    @app.get("/api/v1/jobs/{job_id}", response_model=Job, tags=["jobs"])
    def job(job_id: str, ctx: Ctx) -> Job:
        j = jobs.get(job_id)
        if j is None or j["tenant"] != ctx.who.tenant:
            raise HTTPException(404, f"no job {job_id}")
        return Job(**j)

    return app
