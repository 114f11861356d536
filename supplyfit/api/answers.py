"""Result rows as JSON answers, encoded once and cached per tenant (see :func:`service.fetch_once`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi import HTTPException
from fastapi.responses import Response

from .errors import errors
from .service import Session, fetch_once

Rows = list[dict[str, Any]]  # the documented shape of a result table's answer
READ_ERRORS = errors(404)


def encode(df: pd.DataFrame, one: bool = False) -> bytes:
    """A DataFrame as a JSON array of objects (ISO dates, NaN as null), encoded by pandas' C writer; with
    ``one``, its first row as a single object."""
    text = (df.iloc[:1] if one else df).to_json(orient="records", date_format="iso", force_ascii=False)
    return (text[1:-1] if one else text).encode()


def json_body(body: bytes) -> Response:
    return Response(body, media_type="application/json")


async def answer(
    ctx: Session,
    table: str,
    where: str = "",
    params: dict | None = None,
    order: str = "",
    limit: int | None = None,
    one: bool = False,
    missing: str | None = None,
    exclude: tuple[str, ...] = (),
    shape: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> Response:
    """A table's rows for the caller's tenant as JSON, cached (404 with ``missing`` when there are none).
    ``exclude`` drops columns the caller may not see; ``shape`` rewrites the rows before encoding."""

    def fetch() -> tuple[bool, bytes]:
        df = ctx.query(table, where, params, order, limit, exclude)
        return df.empty, encode(shape(df) if shape else df, one)

    key = ("json", one, table, where, tuple(sorted((params or {}).items())), order, limit, exclude, shape)
    empty, body = await fetch_once(ctx, key, fetch)
    if empty and missing:
        raise HTTPException(404, missing)
    return json_body(body)
