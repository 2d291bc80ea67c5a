"""One place that turns errors into HTTP responses with the JSON error body."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.log_context import REQUEST_ID
from domain.errors import (
    Conflict,
    DomainError,
    FileTooLarge,
    Gone,
    InvalidCsv,
    InvalidRequest,
    NotCsv,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger(__name__)

STATUS = {
    InvalidRequest: 400,
    InvalidCsv: 400,
    Unauthorized: 401,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    FileTooLarge: 413,
    NotCsv: 415,
    TooManyRequests: 429,
}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = "Bearer"
    # The request's id (api/middleware.py), also in the X-Request-ID header: quoted in a support
    # request, it finds the request's log lines.
    error = {"code": code, "message": message, "request_id": REQUEST_ID.get() or "unknown"}
    return JSONResponse({"error": error}, status, headers=extra)


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    headers = None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}  # seconds (RFC 9110)
    return error_response(status, exc.code, exc.message, headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    problems = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        problems.append(f"{where}: {err['msg']}")
    return error_response(
        400, "invalid_request", "The request body is not valid: " + "; ".join(problems) + "."
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    messages = {
        404: f"There is no endpoint at {request.url.path}. GET /openapi.json lists the API.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        messages.get(exc.status_code, str(exc.detail)),
        exc.headers,  # e.g. ``Allow`` of a 405 (RFC 9110 requires it)
    )


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "Something went wrong on our side; nothing was changed. Try again."
    )
