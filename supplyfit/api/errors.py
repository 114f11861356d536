"""Error answers: one JSON model for every 4xx/5xx, documented per route, and never a server path in them."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("supplyfit.api")

DESCRIPTIONS = {
    400: "Bad request: an unreadable form, file type or encoding.",
    401: "Missing or invalid API key (header X-API-Key).",
    403: "The key's role may not do this.",
    404: "No such resource for this tenant.",
    413: "Body over the upload limit, or a workbook that expands beyond the cell or size limit.",
    422: "Invalid parameters or body, or a file that cannot be loaded.",
    429: "Too many failed key attempts from this address; retry after the Retry-After header's seconds.",
}
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:[/\\][^/\\\s:'\"]+)+[/\\]")  # directories of absolute paths


class Error(BaseModel):
    """Every error answer: a message for a person."""

    detail: str = Field(description="What went wrong and, where it helps, what to do.")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes``, each with the :class:`Error` model."""
    return {code: {"model": Error, "description": DESCRIPTIONS[code]} for code in codes}


def scrub_paths(text: str) -> str:
    """``text`` with the directories of any absolute path removed (file names stay): no server path leaks."""
    return _PATH.sub("", text)


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def install(app: Any) -> None:
    """Error handlers: validation as 422 with one line per problem, HTTP errors as JSON, anything else a
    logged 500 whose answer says nothing about the server."""

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return error_response(422, ("invalid request: " + "; ".join(problems))[:2000])

    @app.exception_handler(StarletteHTTPException)
    def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return error_response(500, "internal error; see the server log")
