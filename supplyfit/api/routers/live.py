"""Real time: order events in, the week so far against its forecast, signals, and webhooks that push them.

The router's lifespan runs :class:`supplyfit.live.engine.LiveEngine` (writer, webhook delivery, watch folder)
with the options the server was started with (``app.state.live_options``: ``supplyfit serve --webhook-allow``,
``--watch``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...live import events, sensing, signals, webhooks
from ...live.engine import LIVE_KEY, LiveEngine, LiveOptions
from ...store import IngestError
from ..answers import json_body
from ..errors import errors
from ..service import AdminCtx, Ctx, WriterCtx, fetch_once

MAX_LINES = 50_000  # lines in one request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = LiveEngine(app.state.service, getattr(app.state, "live_options", None) or LiveOptions())
    engine.start()
    app.state.live = engine
    try:
        yield
    finally:
        await run_in_threadpool(engine.stop)


router = APIRouter(prefix="/api/v1", tags=["live"], lifespan=lifespan, responses=errors(401, 422, 429))


class Accepted(BaseModel):
    accepted: int
    duplicates: int
    quarantined: int


class Signal(BaseModel):
    id: str
    kind: str
    sku: str
    ts: str = Field(description="Business time (the tenant's latest order time) when it was raised")
    detail: dict


class Signals(BaseModel):
    signals: list[Signal]
    next: str = Field(description="Cursor for the next call's `since`")


class WebhookRequest(BaseModel):
    url: str = Field(max_length=2000)
    kinds: list[str] = Field(min_length=1, max_length=10, description=", ".join(signals.KINDS))


class NewWebhook(BaseModel):
    id: str
    url: str
    kinds: list[str]
    secret: str = Field(description="whsec_...: this answer is its only copy")


class WebhookInfo(BaseModel):
    id: str
    url: str
    kinds: list[str]
    created: str
    pending: int
    delivered: int
    gave_up: int


@router.post("/events/orders", response_model=Accepted, status_code=202, responses=errors(403, 413))
async def order_events(request: Request, response: Response, ctx: WriterCtx) -> Accepted:
    """Order lines as a JSON array, or NDJSON (`Content-Type: application/x-ndjson`): `order_id, sku, quantity,
    unit_price, ts` and optionally `customer_id, description, channel, region, event_id`. Answered once they are
    durable, with a file load's validation, quarantine and pseudonymisation. A retried batch is a no-op: an event
    is known by its `event_id`, else by its natural key (order, SKU, quantity, price). The `Location` header names
    the load that stored the batch (`GET /api/v1/loads/{id}`); each quarantined line's reason is at
    `GET /api/v1/quarantine?load_id={id}`."""
    ndjson = request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-ndjson"
    body = await request.body()
    async with ctx.service.parses:  # off the event loop, few at once: reads go on
        batch = await run_in_threadpool(_batch, body, ndjson)
    try:
        counts = await asyncio.wrap_future(request.app.state.live.submit(ctx.who.tenant, batch))
    except IngestError as e:
        raise HTTPException(422, f"{str(e).removeprefix(', ')} (in events: send numbers as JSON numbers)") from None
    if counts.load_id is not None:
        response.headers["Location"] = f"/api/v1/loads/{counts.load_id}"
    return Accepted(accepted=counts.accepted, duplicates=counts.duplicates, quarantined=counts.quarantined)


def _batch(body: bytes, ndjson: bool) -> events.Batch:
    """A request's lines, parsed and laid out as columns (the writer then only joins them), on one worker thread."""
    try:
        lines = events.parse(body, ndjson)
    except events.BadBody as e:
        raise HTTPException(422, str(e)) from None
    if len(lines) > MAX_LINES:
        raise HTTPException(413, f"{len(lines):,} lines in one request; send at most {MAX_LINES:,}")
    return events.Batch.of(lines)


@router.get("/live", responses={200: {"description": "{now, week, elapsed, skus: [...], categories: [...]}"}})
async def live(
    request: Request,
    ctx: Ctx,
    sku: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The current business week so far ("now" is the tenant's latest order time), per SKU and per category:
    units, revenue, the forecast's expectation so far (its week prorated by the elapsed fraction), and how
    unusual that is (`score`, a z-score under the forecast's 80% band; `p_tail`, its tail probability)."""
    engine: LiveEngine = request.app.state.live
    sku, category = sku or None, category or None  # ?sku=&category= asks for everything
    fetch = lambda: sensing.answer(engine.week(ctx.who.tenant), sku, category)
    body = await fetch_once(ctx, LIVE_KEY + (sku, category), fetch)
    return json_body(body)


@router.get("/signals", response_model=Signals)
def list_signals(
    ctx: Ctx,
    since: Annotated[str, Query(pattern=r"^[0-9]{1,18}$", description="`next` of the previous call")] = "0",
    kinds: Annotated[str | None, Query(max_length=200, description="Comma-separated kinds")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Signals:
    """Signals after the cursor `since`, in order: demand above or below forecast, and reorders."""
    wanted = [k for k in (kinds or "").split(",") if k]
    unknown = sorted(set(wanted) - set(signals.KINDS))
    if unknown:
        raise HTTPException(422, f"unknown kinds {', '.join(unknown)}; kinds: {', '.join(signals.KINDS)}")
    found = signals.read(ctx.service.cursor(), ctx.who.tenant, int(since), wanted, limit)
    return Signals(signals=[Signal(**s) for s in found], next=found[-1]["id"] if found else since)


@router.post("/webhooks", response_model=NewWebhook, status_code=201, tags=["live"], responses=errors(403))
def new_webhook(req: WebhookRequest, request: Request, ctx: AdminCtx) -> NewWebhook:
    """Send every new signal of `kinds` to `url` (a host the server allows), signed per Standard Webhooks with
    the returned secret. Admin only."""
    engine: LiveEngine = request.app.state.live
    try:
        with ctx.service.write_lock:
            made = webhooks.create(ctx.store, req.url, req.kinds, engine.options.webhook_allow)
    except webhooks.Refused as e:
        raise HTTPException(422, str(e)) from None
    return NewWebhook(**made)


@router.get("/webhooks", response_model=list[WebhookInfo], responses=errors(403))
def list_webhooks(ctx: AdminCtx) -> list[WebhookInfo]:
    """The tenant's webhooks with their deliveries (never the secrets). Admin only."""
    return [WebhookInfo(**w) for w in webhooks.listing(ctx.store)]


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=errors(403, 404))
def delete_webhook(webhook_id: Annotated[str, PathParam(max_length=40)], ctx: AdminCtx) -> Response:
    """Remove a webhook of the tenant; its pending deliveries are dropped. Admin only."""
    with ctx.service.write_lock:
        if not webhooks.delete(ctx.store, webhook_id):
            raise HTTPException(404, f"no webhook {webhook_id!r}")
    return Response(status_code=204)
