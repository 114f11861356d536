"""Who am I, and API keys of the caller's tenant: create, list and revoke (admin keys only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from ..errors import errors
from ..keys import ROLES, create_key, list_keys
from ..service import AdminCtx, Ctx

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=errors(401, 422, 429))


class WhoAmI(BaseModel):
    tenant: str
    role: str
    key_id: str


class KeyRequest(BaseModel):
    role: Literal[ROLES] = Field("reader", description="reader | writer | admin")  # type: ignore[valid-type]


class NewKey(BaseModel):
    tenant: str
    role: str
    key: str = Field(description="The key itself: this answer is its only copy.")


class KeyInfo(BaseModel):
    key_id: str
    tenant: str
    role: str
    created: dt.datetime
    revoked: dt.datetime | None


class Revoked(BaseModel):
    key_id: str
    revoked: bool


@router.get("/whoami", response_model=WhoAmI)
def whoami(ctx: Ctx) -> WhoAmI:
    return WhoAmI(tenant=ctx.who.tenant, role=ctx.who.role, key_id=ctx.who.key_id)


@router.post("/keys", response_model=NewKey, status_code=201, responses=errors(403, 413))
def new_key(req: KeyRequest, ctx: AdminCtx) -> NewKey:
    """A new key for the caller's own tenant (admin only); the response is the only copy of it."""
    with ctx.service.write_lock:
        return NewKey(tenant=ctx.who.tenant, role=req.role, key=create_key(ctx.store, ctx.who.tenant, req.role))


@router.get("/keys", response_model=list[KeyInfo], responses=errors(403))
def keys(ctx: AdminCtx) -> list[KeyInfo]:
    """Key ids and roles of the caller's tenant (admin only); never the keys."""
    rows = list_keys(ctx.store, ctx.who.tenant)
    rows = rows.astype(object).where(rows.notna(), None)  # NaT (not revoked) as null
    return [KeyInfo(**r) for r in rows.to_dict("records")]


@router.delete("/keys/{key_id}", response_model=Revoked, responses=errors(403, 404))
def revoke(key_id: Annotated[str, PathParam(max_length=40)], ctx: AdminCtx) -> Revoked:
    """Revoke a key of the caller's tenant (admin only): it stops working at once."""
    with ctx.service.write_lock:
        if not ctx.service.keys.revoke(ctx.who.tenant, key_id):
            raise HTTPException(404, f"no live key {key_id!r} of this tenant")
    return Revoked(key_id=key_id, revoked=True)
