"""New designs: a designer's drafts in, launch forecasts, first batches and the past launches they lean on out."""

from __future__ import annotations

import json

import pandas as pd
from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ...supply import MissingForecasts, launch
from ..answers import encode, json_body
from ..errors import errors
from ..service import Ctx, in_background

router = APIRouter(prefix="/api/v1", responses=errors(401, 422, 429))


class Draft(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # ids compare as the CLI's do: " A " is "A", "  " is none

    unique_id: str = Field(min_length=1, max_length=100, description="The design's id.")
    description: str = Field(
        "", max_length=2000, description="Its description (Chinese or English; empty: price and category carry it)."
    )
    price: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Its price (default: the history's median)."
    )
    category: str | None = Field(None, max_length=200)
    preorders: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Pre-orders or votes counted before launch."
    )
    preorder_weeks: int | None = Field(None, ge=1, le=26, description="Weeks the pre-orders were counted over.")


class LaunchRequest(BaseModel):
    drafts: list[Draft] = Field(min_length=1, max_length=200)
    h: int = Field(8, ge=1, le=26, description="Weeks after launch to forecast.")
    moq: float = Field(0, ge=0, allow_inf_nan=False, description="Minimum order quantity of a first batch.")
    capacity: float | None = Field(None, ge=0, description="Units that can be made for all first batches together.")
    service_level: float = Field(
        0.5, ge=0.5, le=0.999, description="Chance a first batch covers its weeks (the median: a test batch)."
    )
    weeks_cover: int = Field(2, ge=1, le=26, description="Weeks a first batch covers (lead time + review).")


class LaunchReply(BaseModel):
    forecasts: list[dict] = Field(description="unique_id, week (1..h), yhat, yhat_q10, yhat_q50, yhat_q90")
    first_batches: list[dict] = Field(description="unique_id, demand (at the service level), first_batch")
    analogs: list[dict] = Field(description="unique_id, analog_id, description, similarity, first_h_units")
    notes: dict[str, str] = Field(
        description="Draft id -> why its forecast is rougher than most (a price outside every past launch's)."
    )


@router.post("/launch", response_model=LaunchReply, tags=["supply"], responses=errors(404))
def launch_drafts(req: LaunchRequest, ctx: Ctx) -> Response:
    """Launch demand of new designs from their description, price and pre-orders, learnt from the tenant's past
    launches, and a small first batch each under MOQ and capacity (re-orders then follow the demand sensed)."""
    drafts = pd.DataFrame([d.model_dump() for d in req.drafts]).dropna(axis=1, how="all")
    if drafts["unique_id"].duplicated().any():
        raise HTTPException(422, "draft ids must be unique")
    try:
        out = in_background(launch, ctx.store, drafts, req.h, req.moq, req.capacity, req.service_level, req.weeks_cover)
    except MissingForecasts as e:
        raise HTTPException(404, str(e)) from None
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    parts = {"forecasts": out.forecast, "first_batches": out.batches, "analogs": out.analogs}
    body = [f'"{k}":'.encode() + encode(v) for k, v in parts.items()]
    body.append(b'"notes":' + json.dumps(out.notes, ensure_ascii=False).encode())
    return json_body(b"{" + b",".join(body) + b"}")
