"""Result rows as JSON answers, encoded once and cached per tenant (see :func:`service.fetch_once`)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd
from fastapi import HTTPException
from fastapi.responses import Response

from .service import Session, fetch_once

Rows = list[dict[str, Any]]  # the documented shape of a result table's answer
SMALL = 2000  # rows: up to this many are encoded from tuples, more by pandas (its C writer wins on size)


def encode(df: pd.DataFrame, one: bool = False) -> bytes:
    """A DataFrame as a JSON array of objects (ISO dates, NaN as null), encoded by pandas' C writer; with
    ``one``, its first row as a single object."""
    text = (df.iloc[:1] if one else df).to_json(orient="records", date_format="iso", force_ascii=False)
    return (text[1:-1] if one else text).encode()


def _plain(x: Any) -> Any:
    """A cell as pandas' JSON writer shows it: 10 decimals, NaN as null, ISO times to the ms."""
    if isinstance(x, float):
        return round(x, 10) if math.isfinite(x) else None
    if isinstance(x, dt.datetime):
        if x.tzinfo is not None:
            return x.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
        return x.isoformat(timespec="milliseconds")
    if isinstance(x, dt.date):
        return f"{x.isoformat()}T00:00:00.000"
    if isinstance(x, Decimal):
        return _plain(float(x))
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def encode_rows(names: list[str], rows: list[tuple], one: bool = False) -> bytes:
    """Rows as :func:`encode` writes them, without building a DataFrame: for a few rows that costs more than
    the query itself, and a cache miss is mostly a few rows."""
    records = [{n: _plain(v) for n, v in zip(names, row)} for row in rows[: 1 if one else None]]
    data = records[0] if one and records else ({} if one else records)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()


TOTAL = "X-Total-Count"  # header of a list answer: the rows that match, however many the limit let through


def json_body(body: bytes, total: int | None = None) -> Response:
    """A JSON answer; ``total``, the rows a list answer's filter matched (its ``X-Total-Count`` header)."""
    return Response(body, media_type="application/json", headers=None if total is None else {TOTAL: str(total)})


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
    """A table's rows for the caller's tenant as JSON, cached (404 with ``missing`` when there are none), with
    the number of matching rows in the ``X-Total-Count`` header (more than were sent when ``limit`` cut them).
    ``exclude`` drops columns the caller may not see; ``shape`` rewrites the rows before encoding."""

    def fetch() -> tuple[bool, bytes, int]:
        if shape is None:
            result = ctx.execute(table, where, params, order, limit, exclude)
            rows = result.fetchmany(SMALL + 1)
            if len(rows) <= SMALL:
                body = encode_rows([d[0] for d in result.description], rows, one)
                return not rows, body, total(len(rows))
        df = ctx.query(table, where, params, order, limit, exclude)
        return df.empty, encode(shape(df) if shape else df, one), total(len(df))

    def total(n: int) -> int:  # the rows a limit left out are counted, so a reader knows the list is cut
        return ctx.count(table, where, params) if limit and n >= limit else n

    key = ("json", one, table, where, tuple(sorted((params or {}).items())), order, limit, exclude, shape)
    empty, body, n = await fetch_once(ctx, key, fetch)
    if empty and missing:
        raise HTTPException(404, missing)
    return json_body(body, None if one else n)
