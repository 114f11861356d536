"""Result tables of the stages: indicators, hotspots, forecasts, plan, voice, trust, segments, recommendations
and the export of a whole result table (only those on :data:`EXPORTABLE`, the result tables the stages declare in
:mod:`supplyfit.assets`)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import duckdb
from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...assets import RESULTS, results_status
from ..answers import Rows, answer, encode, encode_rows, json_body
from ..errors import errors
from ..service import Ctx, Session, fetch_once, in_background

router = APIRouter(prefix="/api/v1", responses=errors(401, 422, 429))
INDICATORS = tuple(  # the indicator tables, by the part after ind_: those per period, told apart by freq
    name.removeprefix("ind_") for name, r in RESULTS.items() if name.startswith("ind_") and "freq" in r.columns
)
EXPORTABLE = frozenset(RESULTS)  # every result table a stage declares (supplyfit.assets), nothing else


class Recommendations(BaseModel):
    items: list[str]
    recommendations: list[str]


class CustomerRecommendations(BaseModel):
    customer_id: str
    recommendations: list[str]


class CustomerLookup(BaseModel):
    customer_id: str = Field(min_length=1, max_length=200, description="The customer id as your systems know it.")


class Pseudonym(BaseModel):
    pseudonym: str = Field(description="The id under which the store keeps this customer (a keyed hash).")


class Series(BaseModel):
    unique_id: str
    level: str
    history: dict[str, list]
    forecast: dict[str, list]


@router.get("/indicators", response_model=Rows, tags=["monitor"], responses=errors(404))
async def indicators(
    ctx: Ctx,
    freq: Literal["W", "M"] = "M",
    table: Literal[INDICATORS] = "totals",  # type: ignore[valid-type]
    dimension: Literal["category", "region", "channel"] | None = None,
) -> Response:
    """Consumption indicators per period (see `supplyfit.monitor.indicators`)."""
    where, params = "freq = $freq", dict[str, str](freq=freq)
    if dimension and table == "by_dimension":
        where, params = where + " AND dimension = $dim", {**params, "dim": dimension}
    return await answer(ctx, f"ind_{table}", where, params)


@router.get("/hotspots", response_model=Rows, tags=["monitor"], responses=errors(404))
async def hotspots(ctx: Ctx, k: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
    return await answer(ctx, "hotspots", order="rank", limit=k)


@router.get("/forecasts", response_model=Rows, tags=["demand"], responses=errors(404))
async def forecasts(
    ctx: Ctx,
    unique_id: Annotated[str | None, Query(max_length=200)] = None,
    level: Literal["sku", "category", "total"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> Response:
    """Forecasts with 80% bands; filter by series id and/or level."""
    conds, params = [], {}
    if unique_id is not None:
        conds.append("unique_id = $uid")
        params["uid"] = unique_id
    if level is not None:
        conds.append("level = $level")
        params["level"] = level
    return await answer(
        ctx,
        "forecasts",
        " AND ".join(conds),
        params,
        order="level, unique_id, ds",
        limit=limit,
        missing=f"no forecast for {unique_id!r}" if unique_id is not None else None,
    )


def _series(ctx: Session, unique_id: str) -> tuple[bool, bytes]:
    fc = ctx.query("forecasts", "unique_id = $uid", {"uid": unique_id}, order="ds")
    if fc.empty:
        return True, b""
    level = fc.level.iloc[0]
    key = {"sku": "unique_id = $uid", "category": "category = $uid", "total": "TRUE"}[level]
    name = unique_id.split("/", 1)[-1] if level == "category" else unique_id
    hist = ctx.store.query(
        f"SELECT ds, sum(y) AS y FROM demand_panel WHERE tenant = $tenant AND {key} GROUP BY ds ORDER BY ds",
        {"uid": name} if level != "total" else None,
    )
    return False, json.dumps(
        {
            "unique_id": unique_id,
            "level": level,
            "history": {"ds": hist.ds.dt.strftime("%Y-%m-%d").tolist(), "y": hist.y.tolist()},
            "forecast": {
                c: (fc[c].dt.strftime("%Y-%m-%d") if c == "ds" else fc[c]).tolist()
                for c in ("ds", "yhat", "yhat_q10", "yhat_q50", "yhat_q90")
            },
        },
        ensure_ascii=False,
    ).encode()


@router.get("/series/{unique_id:path}", response_model=Series, tags=["demand"], responses=errors(404))
async def series(unique_id: Annotated[str, PathParam(max_length=200)], ctx: Ctx) -> Response:
    """History and forecast of one SKU, category ('category/NAME') or 'total', for the forecast explorer:
    ``{unique_id, level, history: {ds, y}, forecast: {ds, yhat, yhat_q10, yhat_q50, yhat_q90}}``."""
    empty, body = await fetch_once(ctx, ("series", unique_id), lambda: _series(ctx, unique_id))
    if empty:
        raise HTTPException(404, f"no forecast for {unique_id!r}")
    return json_body(body)


@router.get("/products", response_model=Rows, tags=["catalogue"], responses=errors(404))
async def products(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000) -> Response:
    """The tenant's products: SKU, name (the description), category, attributes, average price, first and last
    sale; for showing descriptions next to codes."""
    return await answer(ctx, "products", order="sku", limit=limit)


@router.get("/results", response_model=Rows, tags=["results"])
def results(ctx: Ctx) -> Response:
    """The result tables this tenant has: stage, the command that refreshes it, when written, whether stale (an
    input changed since)."""
    return Response(encode(results_status(ctx.store)), media_type="application/json")


@router.get("/plan", response_model=Rows, tags=["supply"], responses=errors(404))
async def plan(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Response:
    """The production plan: what to make, for which week."""
    return await answer(ctx, "production_plan", order="qty DESC", limit=limit)


@router.get("/policies", response_model=Rows, tags=["supply"], responses=errors(404))
async def policies(ctx: Ctx) -> Response:
    return await answer(ctx, "policy_comparison")


@router.get("/complaints", response_model=Rows, tags=["voice"], responses=errors(404))
async def complaints(
    ctx: Ctx,
    category: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> Response:
    """Negative reviews, most urgent first, each with its reason."""
    where, params = ("category = $cat", {"cat": category}) if category else ("", None)
    return await answer(ctx, "complaints", where, params, order="rank", limit=limit)


@router.get("/complaints/summary", response_model=Rows, tags=["voice"], responses=errors(404))
async def complaint_summary(ctx: Ctx) -> Response:
    """Complaints counted by category and reason, most first, with their share of all complaints, mean urgency
    and the most urgent one's text: what customers complain about most (the queue lists them one by one)."""

    def fetch() -> tuple[bool, bytes, int]:
        sql = """SELECT category, reason, count(*) AS complaints, count(*) / sum(count(*)) OVER () AS share,
                        avg(urgency) AS urgency, arg_max(text, urgency) AS example
                 FROM complaints WHERE tenant = $tenant GROUP BY ALL
                 ORDER BY complaints DESC, category, reason"""
        try:
            result = ctx.service.cursor().execute(sql, {"tenant": ctx.who.tenant})
        except duckdb.CatalogException:
            return True, b"[]", 0
        rows = result.fetchall()
        return not rows, encode_rows([d[0] for d in result.description], rows), len(rows)

    empty, body, n = await fetch_once(ctx, ("complaint-summary",), fetch)
    if empty:
        raise HTTPException(404, "no complaints yet: run the voice stage (POST /api/v1/jobs)")
    return json_body(body, n)


@router.get("/brief", response_model=Rows, tags=["voice"], responses=errors(404))
async def brief(ctx: Ctx, category: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """Design brief: top unmet needs and praised attributes per category."""
    where, params = ("category = $cat", {"cat": category}) if category else ("", None)
    return await answer(ctx, "design_brief", where, params, order="category, kind, rank")


@router.get("/verification", response_model=Rows, tags=["trust"], responses=errors(404))
async def verification(
    ctx: Ctx,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    severity: Literal["high", "medium", "low", "info"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Response:
    """Product-information findings, most severe first, each with its reason and the rows behind it."""
    conds = {"kind = $kind": kind, "severity = $severity": severity}
    where = " AND ".join(c for c, v in conds.items() if v)
    params = {k: v for k, v in (("kind", kind), ("severity", severity)) if v}
    return await answer(ctx, "verification", where, params or None, order="finding_id", limit=limit)


@router.get("/credit", response_model=Rows, tags=["trust"], responses=errors(404))
async def credit(ctx: Ctx) -> Response:
    """Credit score per merchant (or product line), with every component's rate and points lost."""
    return await answer(ctx, "credit", order="score")


@router.get("/segments", response_model=Rows, tags=["match"], responses=errors(404))
async def segments(ctx: Ctx, summary: bool = True, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Response:
    """Segment summary (default) or per-customer RFM segments."""
    if summary:
        return await answer(ctx, "segment_summary")
    return await answer(ctx, "segments", order="monetary DESC", limit=limit)


def _recommender(ctx: Session) -> object:
    """The tenant's recommender for its current orders, built once per data version (the last orders load
    that stored anything): concurrent requests wait for the one build, at a lower CPU priority."""
    from ...match.stage import store_recommender

    store = ctx.store
    version = int(
        store.query(
            "SELECT coalesce(max(load_id), 0) AS n FROM loads WHERE tenant = $tenant "
            "AND kind = 'orders' AND status = 'ok'"
        ).n[0]
    )

    def build() -> object:
        if not version:
            raise HTTPException(404, "no orders loaded for this tenant")
        return in_background(store_recommender, store)  # the lines as integer codes, not a frame of them

    tenant = store.tenant
    return ctx.service.recommenders.get((tenant, version), build, replaces=lambda k: k[0] == tenant)


@router.get("/recommendations", response_model=Recommendations, tags=["match"], responses=errors(404))
def recommend(
    ctx: Ctx,
    items: Annotated[list[str], Query(max_length=200)] = [],  # noqa: B006
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Recommendations:
    """What goes with a basket (``items`` repeated); unknown items are ignored."""
    return Recommendations(items=items, recommendations=_recommender(ctx).recommend(items, k))  # type: ignore


@router.get(
    "/recommendations/customer/{customer_id}",
    response_model=CustomerRecommendations,
    tags=["match"],
    responses=errors(404),
)
def recommend_customer(
    customer_id: Annotated[str, PathParam(max_length=200)], ctx: Ctx, k: Annotated[int, Query(ge=1, le=100)] = 10
) -> CustomerRecommendations:
    known = ctx.store.query(
        "SELECT 1 FROM customers WHERE tenant = $tenant AND customer_id = $c LIMIT 1", {"c": customer_id}
    )
    if known.empty:
        raise HTTPException(404, f"no customer {customer_id!r}")
    recs = _recommender(ctx).recommend_customer(customer_id, k)  # type: ignore[attr-defined]
    return CustomerRecommendations(customer_id=customer_id, recommendations=recs)


@router.post("/customers/pseudonym", response_model=Pseudonym, tags=["match"])
def customer_pseudonym(req: CustomerLookup, ctx: Ctx) -> Pseudonym:
    """The pseudonym of one of your customer ids, for the per-customer endpoints. Raw ids are never stored;
    sent in the body, not the path, they stay out of access logs too."""
    return Pseudonym(pseudonym=ctx.store.pseudonym(req.customer_id))


@router.get(
    "/export/{table}",
    tags=["results"],
    responses={
        **errors(404),
        200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The table's rows."},
    },
)
def export(
    table: Annotated[str, PathParam(max_length=64)], ctx: Ctx, format: Literal["csv", "json"] = "csv"
) -> Response:
    """A whole result table of this tenant; other names (source tables, keys, the database's own) are 404."""
    if table not in EXPORTABLE:
        raise HTTPException(404, f"no result table {table[:64]!r}; exportable: {', '.join(sorted(EXPORTABLE))}")
    df = ctx.query(table)
    if format == "json":
        return json_body(encode(df))
    return Response(
        df.to_csv(index=False),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
    )
