"""The REST API and dashboard: each tenant pushes its data in and reads its results out, and sees only its own.

``create_app`` wires the parts: the gate (key, failed-key limit and body limit checked before a body is read),
the request log, the error handlers and the routers per area. The server's state (:class:`Service`: store,
caches, jobs) is made when the app starts and closed when it stops.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from . import errors
from .gate import Gate, RequestLog
from .routers import briefing, jobs, keys, launch, live, loads, results
from .service import Service

STATIC = Path(str(resources.files("supplyfit") / "api" / "static"))
log = logging.getLogger("supplyfit.api")


def _log_to_stderr() -> None:
    """Request lines at INFO on stderr, unless the embedding program configured logging itself."""
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        log.addHandler(handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


def _offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from the copies in static/ (swagger-ui-dist 5, ReDoc 2, as bundled by
    fastapi-offline), so the API reference renders on a machine with no internet access."""

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} - Swagger UI",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} - ReDoc",
            redoc_js_url="/static/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.png",
            with_google_fonts=False,
        )


class _StartUpObjects:
    """What start-up made (modules, the app, the store) lives as long as the server: a full garbage collection
    walked its ~200k objects holding the GIL 100-150 ms, the slowest reads under load. While any app of the process
    serves, they are frozen out of the collector; when the last one stops, a process that goes on (tests, an
    embedding app) collects them again, unless it had frozen objects itself before."""

    def __init__(self) -> None:
        self.lock, self.apps, self.ours = threading.Lock(), 0, False

    def freeze(self) -> None:
        with self.lock:
            if self.apps == 0:
                self.ours = gc.get_freeze_count() == 0
            self.apps += 1
            gc.collect()  # the garbage of start-up first: a frozen object is never collected
            gc.freeze()

    def unfreeze(self) -> None:
        with self.lock:
            self.apps -= 1
            if self.apps == 0 and self.ours:
                gc.unfreeze()


_START_UP = _StartUpObjects()


def create_app(db: str | Path, max_upload_mb: float = 512, cache_mb: float = 64, model_mb: float = 512) -> FastAPI:
    """The FastAPI app on the store at ``db`` (created and migrated if missing, when the app starts).

    ``max_upload_mb`` bounds an upload's bytes as received; ``cache_mb`` the cached answers and ``model_mb``
    the cached recommenders."""
    max_bytes = int(max_upload_mb * 2**20)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _log_to_stderr()
        service = Service(db, max_bytes, cache_bytes=int(cache_mb * 2**20), model_bytes=int(model_mb * 2**20))
        app.state.service, app.state.store = service, service.store
        log.info("serving %s", Path(db).name)
        _START_UP.freeze()
        try:
            yield
        finally:
            service.close()
            _START_UP.unfreeze()

    app = FastAPI(
        title="supplyfit",
        version="0.1.0",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,  # served by _offline_docs from bundled assets: the CDN defaults are blank offline
        redoc_url=None,
        description="Consumer-goods data middle platform: upload orders and reviews, read indicators, "
        "hotspots, forecasts, production plans, complaints, recommendations and segments. "
        "Every call needs an `X-API-Key` header; data are scoped to the key's tenant.",
    )
    app.add_middleware(Gate, max_upload_bytes=max_bytes)
    app.add_middleware(RequestLog)  # outermost: it also times and logs what the gate refuses
    errors.install(app)
    for area in (keys, loads, results, jobs, live, launch, briefing):
        app.include_router(area.router)
    _offline_docs(app)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            from plotly.offline import get_plotlyjs

            return PlainTextResponse(
                get_plotlyjs(), media_type="application/javascript", headers={"Cache-Control": "max-age=86400"}
            )
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            raise HTTPException(404, "not found")
        return FileResponse(path)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"ok": True}

    return app
