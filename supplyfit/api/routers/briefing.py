"""The operator's first screen: the week's briefing (:func:`supplyfit.monitor.briefing.briefing`) and the
tenant's calendar, as JSON for the dashboard. Both read stored rows only; answers are cached until the tenant's
next write."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...monitor.briefing import Briefing, Week, briefing
from ...store import Store
from ..answers import json_body
from ..errors import errors
from ..service import Ctx, fetch_once

router = APIRouter(prefix="/api/v1", tags=["monitor"], responses=errors(401, 422, 429))
PARTS = {"reorders": "production_plan", "rising": "hotspots", "complaints": "complaints"}  # part -> result table


class WeekSoFar(BaseModel):
    start: str = Field(description="The latest week in the store (Monday)")
    days: int = Field(description="Days of it in the data (7: complete)")
    units: float
    forecast: float | None
    low: float | None = Field(description="The forecast's 10% quantile")
    high: float | None = Field(description="The forecast's 90% quantile")


class Freshness(BaseModel):
    last_order: str | None
    last_review: str | None
    last_load: str | None
    stale: list[str] = Field(description="Result tables older than an input: run their stage again")
    reviews: int = Field(0, description="Reviews stored, dated or not (undated ones give no last_review)")
    stale_stages: list[str] = Field([], description="The stages to run again to refresh the stale tables, in run order")


class PlanTotal(BaseModel):
    lines: int = Field(description="Rows (SKU and week) in the whole plan")
    units: float


class BriefingReply(BaseModel):
    reorders: list[dict] = Field(description="sku, description, qty, arrives (week), why")
    reorder_total: PlanTotal
    rising: list[dict] = Field(description="sku, description, category, why")
    complaints: list[dict] = Field(description="severity (high, medium, low), category, reason, text")
    week: WeekSoFar | None
    freshness: Freshness
    computed: dict[str, bool] = Field(description="Per list: whether its stage has run (else the list is empty)")


class Event(BaseModel):
    name: str
    start: str
    end: str
    scope: str = Field(description="all | category | sku")
    target: str = Field(description="The category or SKU ('' for all)")
    kind: str = Field(description="promotion | closure | launch")


def _iso(t: Any) -> str | None:
    return None if t is None or pd.isna(t) else pd.Timestamp(t).isoformat(timespec="milliseconds")


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects, missing values as null (never NaN)."""
    return json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))


def _week(w: Week | None) -> dict | None:
    if w is None:
        return None
    return {**asdict(w), "start": f"{w.start:%Y-%m-%d}"}


def as_json(b: Briefing, store: Store) -> dict:
    """The briefing's dataclasses as plain JSON values, with which of its lists have a stage run behind them."""
    f = b.freshness
    return {
        "reorders": _records(b.reorders),
        "reorder_total": {"lines": b.reorder_total[0], "units": b.reorder_total[1]},
        "rising": _records(b.rising),
        "complaints": _records(b.complaints),
        "week": _week(b.week),
        "freshness": {
            **{k: _iso(v) for k, v in asdict(f).items() if k not in ("stale", "reviews", "stale_stages")},
            "stale": f.stale,
            "reviews": f.reviews,
            "stale_stages": f.stale_stages,
        },
        "computed": {part: store.has_result(table) for part, table in PARTS.items()},
    }


@router.get("/briefing", response_model=BriefingReply)
async def week_briefing(ctx: Ctx, n: Annotated[int, Query(ge=1, le=100)] = 8) -> Response:
    """What to do this week: re-orders to place (the largest `n` plan lines, with descriptions and why), items
    rising, urgent complaints, this week's units against the forecast, and how fresh the data and results are.
    The same numbers as the top of the HTML report."""

    def fetch() -> bytes:
        store = ctx.store
        return json.dumps(as_json(briefing(store, n), store), ensure_ascii=False).encode()

    return json_body(await fetch_once(ctx, ("briefing", n), fetch))


@router.get("/events", response_model=list[Event])
async def calendar(ctx: Ctx) -> Response:
    """The tenant's calendar (`supplyfit ingest events FILE`): promotions, closures and launches, by start."""

    def fetch() -> bytes:
        df = ctx.store.events()
        for col in ("start", "end"):
            df[col] = pd.to_datetime(df[col]).dt.strftime("%Y-%m-%d")
        return json.dumps(_records(df), ensure_ascii=False).encode()

    return json_body(await fetch_once(ctx, ("events",), fetch))
