"""Uploads, loads and the quarantine.

An upload's form is parsed only after the key and role are checked (the route declares no body parameters,
so FastAPI reads nothing before its dependencies run), and its bytes are counted by the gate as they arrive.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from ...store import IngestError, LoadReport, parse_overrides
from ...store.parsing import DAY_FIRST, MONTH_FIRST
from ..answers import answer, encode_rows, json_body
from ..errors import errors, scrub_paths
from ..service import Ctx, Service, WriterCtx, fetch_once
from ..uploads import check_encoding, check_xlsx, client_name

MAX_ID = 2**62  # ids are BIGINT: a larger one is a 422, not an overflow in the query
router = APIRouter(prefix="/api/v1", tags=["loads"], responses=errors(401, 422, 429))
UNLOADABLE = (
    IngestError,
    ValueError,
    KeyError,
    LookupError,
    UnicodeError,
    EOFError,
    TypeError,
    SyntaxError,
    zipfile.BadZipFile,
    pa.ArrowException,
)  # a file the readers cannot take: 422
FORM = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "CSV, TSV, Parquet or XLSX"},
                "preset": {"type": "string", "description": "uci-online-retail | reviews-10cats"},
                "mapping": {"type": "array", "items": {"type": "string"}, "description": "SOURCE=FIELD, repeatable"},
                "encoding": {"type": "string", "description": "text encoding of a CSV (detected when absent)"},
                "decimal": {"type": "string", "enum": [".", ","], "description": "decimal separator of text numbers"},
                "date_format": {
                    "type": "string",
                    "description": f"{DAY_FIRST} | {MONTH_FIRST} | a strftime format such as %d/%m/%Y",
                },
                "timezone": {"type": "string", "description": "time zone of stored times, e.g. Asia/Shanghai"},
            },
        }
    }
}


class Load(BaseModel):
    load_id: int
    kind: str
    file: str
    content_hash: str
    rows_read: int | None
    stored: int | None
    quarantined: int | None
    duplicates: int | None
    started: str
    finished: str | None
    status: str
    note: str | None


class QuarantineRow(BaseModel):
    load_id: int
    src_row: int
    raw: str | None = None
    reason: str
    merchant: str | None = None


def _one_text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is not None and not isinstance(value, str):
        raise HTTPException(422, f"form field {name!r} must be text")
    return value


def _check_decimal(decimal: str | None) -> str | None:
    """``decimal`` if it is a separator ingest takes (422 otherwise)."""
    if decimal and decimal not in (".", ","):
        raise HTTPException(422, f"decimal must be '.' or ',', not {decimal[:20]!r}")
    return decimal or None


def _strptime_format(fmt: str) -> bool:
    """Whether ``fmt`` is a strftime format DuckDB parses dates with (a bad directive would fail deep in a load)."""
    if "%" not in fmt or len(fmt) > 64:
        return False
    with duckdb.connect() as con:
        try:
            con.execute("SELECT try_strptime('', ?)", [fmt])
        except duckdb.Error:
            return False
    return True


def _check_date_format(date_format: str | None) -> str | None:
    """``date_format`` if it is day-first, month-first or a strftime format (422 otherwise)."""
    if not date_format or date_format in (DAY_FIRST, MONTH_FIRST) or _strptime_format(date_format):
        return date_format or None
    choices = f"{DAY_FIRST}, {MONTH_FIRST} or a format such as %d/%m/%Y"
    raise HTTPException(422, f"date_format must be {choices}, not {date_format[:64]!r}")


def _load_options(form: Any) -> dict[str, Any]:
    """The form's load options as :func:`ingest` keyword arguments, each checked as the CLI's option is (422)."""
    encoding = check_encoding(_one_text(form, "encoding"))
    preset = _one_text(form, "preset")
    try:
        mapping = parse_overrides([m if isinstance(m, str) else "" for m in form.getlist("mapping")])
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    return {
        "preset": preset,
        "mapping": mapping,
        "encoding": encoding,
        "decimal": _check_decimal(_one_text(form, "decimal")),
        "date_format": _check_date_format(_one_text(form, "date_format")),
        "tz": _one_text(form, "timezone") or None,  # ingest checks the zone before it reads the file
    }


def _save_and_load(
    service: Service, tenant: str, kind: str, file: UploadFile, name: str, options: dict[str, Any]
) -> LoadReport:
    """Copy the spooled part into a private directory under the client's base name, check it, and load it with
    the form's ``options`` (keyword arguments of :func:`ingest`)."""
    with tempfile.TemporaryDirectory(prefix="supplyfit-upload-") as tmp:
        path = Path(tmp) / name
        with open(path, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        if path.suffix.lower() == ".xlsx":
            check_xlsx(path)
        try:
            report = service.load(tenant, path, kind, name=name, **options)
        except UNLOADABLE as e:
            raise HTTPException(422, scrub_paths(str(e)) or f"cannot load {name}: {type(e).__name__}") from None
    return report


@router.post(
    "/uploads/{kind}",
    response_model=LoadReport,
    openapi_extra={"requestBody": {"required": True, "content": FORM}},
    responses=errors(400, 403, 413),
)
async def upload(kind: Literal["orders", "reviews"], request: Request, ctx: WriterCtx) -> LoadReport:
    """Load a file with the same validation, quarantine and idempotency as `supplyfit ingest`. The body is
    read only after the key and role are checked, spooled to disk as it arrives, and cut off at the upload
    limit (413) whether or not it declares its length.

    Form fields besides `file`, all optional, are the CLI's options: `preset`; `mapping` (`SOURCE=FIELD`,
    repeat the field for several; `--map`); `encoding` (`--encoding`); `decimal`, `.` or `,` (`--decimal`);
    `date_format`, `day-first`, `month-first` or a strftime format such as `%d/%m/%Y` (`--date-format`);
    `timezone`, the zone stored times are in, e.g. `Asia/Shanghai` (`--timezone`, default UTC). Without them
    the columns, separators and date order are detected; when the file leaves one ambiguous or a required
    column unfound, the 422 names the field that settles it. An invalid value is a 422 (an unknown encoding 400).
    """
    async with request.form(max_files=1, max_fields=64, max_part_size=64 << 10) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise HTTPException(422, "form field 'file' (the file to load) is missing")
        name = client_name(file.filename)
        options = _load_options(form)
        return await run_in_threadpool(_save_and_load, ctx.service, ctx.who.tenant, kind, file, name, options)


def _client_paths(df: pd.DataFrame) -> pd.DataFrame:
    """Loads as the client may see them: the file's base name only, no server path in a note."""
    return df.assign(
        file=df["file"].map(lambda f: PureWindowsPath(f).name),
        note=df["note"].map(lambda n: n if n is None else scrub_paths(n)),
    )


@router.get("/loads", response_model=list[Load])
async def loads(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
    """Recent loads of this tenant, newest first."""
    return await answer(ctx, "loads", order="load_id DESC", limit=limit, shape=_client_paths)


@router.get("/loads/{load_id}", response_model=Load, responses=errors(404))
async def load(load_id: Annotated[int, PathParam(ge=0, le=MAX_ID)], ctx: Ctx) -> Response:
    return await answer(
        ctx, "loads", "load_id = $id", {"id": load_id}, one=True, missing=f"no load {load_id}", shape=_client_paths
    )


class ReasonCount(BaseModel):
    reason: str
    count: int


@router.get("/loads/{load_id}/reasons", response_model=list[ReasonCount], responses=errors(404))
async def load_reasons(load_id: Annotated[int, PathParam(ge=0, le=MAX_ID)], ctx: Ctx) -> Response:
    """How many lines of load ``load_id`` were quarantined for each reason, most first: the load report's
    reasons, for a load made earlier (its lines: ``GET /quarantine?load_id=``)."""

    def fetch() -> tuple[bool, bytes, int]:
        rows = (
            ctx.service.cursor()
            .execute(
                "SELECT reason, count(*) AS count FROM quarantine WHERE tenant = $tenant AND load_id = $id "
                "GROUP BY reason ORDER BY count DESC, reason",
                {"tenant": ctx.who.tenant, "id": load_id},
            )
            .fetchall()
        )
        return not rows, encode_rows(["reason", "count"], rows), len(rows)

    _, body, n = await fetch_once(ctx, ("load-reasons", load_id), fetch)
    return json_body(body, n)


@router.get("/quarantine", response_model=list[QuarantineRow])
async def quarantine(
    ctx: Ctx,
    load_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Response:
    """Rejected rows with their reason; the raw row as read only for admin keys (it may hold what a
    reader should not see)."""
    where, params = ("load_id = $id", {"id": load_id}) if load_id is not None else ("", None)
    hidden = () if ctx.who.can("admin") else ("raw",)
    return await answer(ctx, "quarantine", where, params, order="load_id, src_row", limit=limit, exclude=hidden)
