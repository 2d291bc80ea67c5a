"""Every HTTP request gets a request id, a log line and its place in the HTTP metrics.

``RequestContext`` is a pure ASGI middleware (Starlette's ``BaseHTTPMiddleware`` would buffer
the streamed downloads). It wraps the whole application, the server error handler included, so
every answer carries ``X-Request-ID``: JSON answers and errors, 404s, 500s, static files, streamed
CSV files. The id is the request's own ``X-Request-ID`` when it is a sane token (1 to 128 of
``A-Z a-z 0-9 . _ : -``), else a new one: arbitrary bytes of a request are never echoed. It is
set in ``adapters.log_context.REQUEST_ID`` for the log lines of the request (and for the error
bodies, ``api.errors``).

After the answer one log line at INFO: method, path (percent-encoded as received, without the
query string, at most ``PATH_LOG_MAX`` characters), status and duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.log_context import REQUEST_ID
from api.metrics import HttpMetrics

log = logging.getLogger("leadimport.api")

HEADER = "X-Request-ID"
_HEADER_KEY = b"x-request-id"
SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
PATH_LOG_MAX = 200
UNMATCHED = "unmatched"  # the route label of a request no route matched (its path is user data)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_of(scope: Scope) -> str:
    """The request's own id when it sent a sane one, else a new one."""
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            if SANE_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return uuid.uuid4().hex


def route_label(scope: Scope) -> str:
    """The template of the route that answered (``/leads/import/jobs/{job_id}``), or
    ``unmatched``: never the request's own path."""
    route = scope.get("route")
    if isinstance(route, Mount):
        return route.path + "/{path}"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestContext:
    """The outermost middleware: request id, access log line, HTTP metrics."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        header = (_HEADER_KEY, request_id.encode("ascii"))
        status = 500  # when the application fails before it answers
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _HEADER_KEY]
                headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_label(scope)
            if self.metrics is not None:
                self.metrics.observe(method, route, status, elapsed)
            if log.isEnabledFor(logging.INFO):
                self._log(scope, method, route, status, elapsed)
            REQUEST_ID.reset(token)

    @staticmethod
    def _log(scope: Scope, method: str, route: str, status: int, elapsed: float) -> None:
        raw = scope.get("raw_path") or scope["path"].encode("utf-8", "backslashreplace")
        path = raw.split(b"?", 1)[0].decode("ascii", "backslashreplace")[:PATH_LOG_MAX]
        ms = round(elapsed * 1000, 1)
        fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": ms,
        }
        log.info("%s %s %d %.1f ms", method, path, status, ms, extra=fields)


class ObservedApp(Starlette):
    """Starlette with ``RequestContext`` around its whole middleware stack: outside the server
    error middleware, so a 500 carries the request id too."""

    http_metrics: HttpMetrics | None = None

    def build_middleware_stack(self) -> ASGIApp:
        return RequestContext(super().build_middleware_stack(), self.http_metrics)
