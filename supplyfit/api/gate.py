"""Check before reading: every /api/ request is authenticated, rate-limited and size-limited before the app
reads a byte of its body, and each request is logged on one line.

Both classes are pure ASGI middleware. FastAPI reads a form or JSON body before it runs a route's
dependencies, so a key checked in a dependency comes too late: an upload with no valid key would be spooled
to disk in full before its 401. The gate answers 401/429/413 from the headers alone (with
``Connection: close``, so the unread body is not drained), and counts the body's bytes as the app reads them,
cutting the request off at the limit whether or not it declared a Content-Length.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import time
from collections import OrderedDict, deque
from typing import Any

import anyio
from fastapi import HTTPException

from .errors import error_response
from .keys import Caller

log = logging.getLogger("supplyfit.api")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
CALLER = "supplyfit.caller"  # scope key of the authenticated caller
READ = "supplyfit.read"  # scope key of the body bytes the app has read
JSON_BODY_LIMIT = 1 << 20  # bodies of routes other than uploads are small JSON documents
CLOSE = {"Connection": "close"}


class FailureLimiter:
    """Failed key attempts per client address in a sliding window. Past ``limit`` failures an address is
    refused (429) until the oldest failure leaves the window. Bounded: at most ``max_clients`` addresses are
    tracked (each at most ``limit`` timestamps), the least recently failing forgotten first. Used on the
    event loop only, so it needs no lock."""

    def __init__(self, limit: int = 20, window: float = 60.0, max_clients: int = 10_000):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may now."""
        times = self._failures.get(client)
        if not times:
            return 0
        now = time.monotonic()
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[0] + self.window - now))

    def fail(self, client: str) -> None:
        times = self._failures.pop(client, None) or deque(maxlen=self.limit)
        times.append(time.monotonic())
        self._failures[client] = times
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body passes the limit; answered 413 by the app's handler."""

    def __init__(self, limit: int):
        super().__init__(413, f"body larger than {limit / 2**20:g} MB", headers=CLOSE)


class Gate:
    """Authenticates /api/ requests from their headers, refuses addresses with too many failed keys, and
    limits bodies by the bytes received (uploads to ``max_upload_bytes``, other routes to 1 MB)."""

    def __init__(self, app: Any, max_upload_bytes: int):
        self.app, self.max_upload_bytes = app, max_upload_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        service = scope["app"].state.service
        client = (scope.get("client") or ("unknown", 0))[0]
        headers = dict(scope["headers"])
        # a refused request's unread body is not drained: its connection is closed after the answer
        close = CLOSE if b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0" else {}
        wait = service.limiter.retry_after(client)
        if wait:
            detail = f"too many failed key attempts from {client}; retry in {wait} s"
            return await error_response(429, detail, {**close, "Retry-After": str(wait)})(scope, receive, send)
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        caller = await self._verify(service, key) if key else None
        if caller is None:
            if key:
                service.limiter.fail(client)
            detail = "missing or invalid API key (header X-API-Key)"
            return await error_response(401, detail, close)(scope, receive, send)
        scope[CALLER] = caller
        limit = self.max_upload_bytes if scope["path"].startswith("/api/v1/uploads/") else JSON_BODY_LIMIT
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await error_response(413, BodyTooLarge(limit).detail, close)(scope, receive, send)
        await self.app(scope, _counting(scope, receive, limit), send)

    @staticmethod
    async def _verify(service: Any, key: str) -> Caller | None:
        """A known key costs a dict lookup on the event loop; an unknown one a query on a worker thread."""
        caller = service.keys.get(key)
        if caller is None:
            caller = await anyio.to_thread.run_sync(service.keys.verify, key)
        return caller


def _counting(scope: dict, receive: Any, limit: int) -> Any:
    """``receive`` that counts body bytes into ``scope[READ]`` and raises :class:`BodyTooLarge` past ``limit``."""
    scope[READ] = 0

    async def counted() -> dict:
        message = await receive()
        if message["type"] == "http.request":
            scope[READ] += len(message.get("body", b""))
            if scope[READ] > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


class RequestLog:
    """One log line per request: id, tenant, route, status, duration and body bytes read. The id is also
    the ``X-Request-ID`` response header and, through a context variable, on every line logged meanwhile."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = os.urandom(6).hex()
        token = request_id.set(rid)
        status, t0 = 500, time.perf_counter()

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            caller = scope.get(CALLER)
            route = getattr(scope.get("route"), "path", None) or scope["path"][:200]
            log.info(
                "request_id=%s tenant=%s route=%s %s status=%d ms=%.1f read=%d",
                rid,
                caller.tenant if caller else "-",
                scope["method"],
                route,
                status,
                (time.perf_counter() - t0) * 1000,
                scope.get(READ, 0),
            )
            request_id.reset(token)
