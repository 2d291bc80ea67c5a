"""Request plumbing shared by the endpoints: the JSON response, answers through their response
models, the container, bearer authentication, a bounded JSON body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from adapters.tokens import lookup_token
from api.ratelimit import TokenBuckets
from application.container import Container
from domain.errors import InvalidRequest, Unauthorized

# Multipart framing around the file: boundaries and part headers. Bodies beyond the file limit
# plus this are cut off without being read further.
MULTIPART_SLACK = 64 * 1024
MAX_JSON_BYTES = 1024 * 1024
BINARY_EXTENSIONS = (
    ".xlsx",
    ".xls",
    ".xlsm",
    ".ods",
    ".numbers",
    ".zip",
    ".gz",
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".docx",
    ".doc",
    ".7z",
    ".rar",
)


class JSON(JSONResponse):
    """JSON with timestamps as ISO 8601 UTC with ``Z``."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_utc, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _utc(value: Any) -> str:
    """Timestamps in UTC whatever the database session's time zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def answer(model: type[BaseModel], data: Any, status_code: int = 200) -> JSON:
    """``data`` through its response model: validated (a field the model does not declare
    fails) and dumped with the fields that were given, timestamps then rendered by ``JSON``."""
    try:
        body = model.model_validate(data).model_dump(mode="python", exclude_unset=True)
    except ValidationError as e:  # a bug of ours, not a bad request: a 500, not a 400
        raise RuntimeError(f"The answer does not fit {model.__name__}: {e}") from None
    return JSON(body, status_code=status_code)


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


async def authenticate(request: Request) -> str:
    """The OU of the request's bearer token; 401 for a missing, unknown, expired or revoked
    token, 429 when the token is over its rate limit (``api.ratelimit``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Missing bearer token. Send 'Authorization: Bearer <token>'; "
            "create a token with 'leadimport token create --ou <OU>'."
        )
    info = await run_in_threadpool(lookup_token, container(request).pool, token.strip())
    if info is None:
        raise Unauthorized(
            "The bearer token is not valid. Create one with 'leadimport token create'."
        )
    state = info.state(datetime.now(UTC))
    if state == "revoked":
        assert info.revoked_at is not None
        raise Unauthorized(
            f"The bearer token {info.token_id} was revoked (on {_utc(info.revoked_at)}). "
            f"Create a new one with 'leadimport token create --ou {info.ou}'.",
            code="token_revoked",
        )
    if state == "expired":
        assert info.expires_at is not None
        raise Unauthorized(
            f"The bearer token {info.token_id} has expired (on {_utc(info.expires_at)}). "
            f"Create a new one with 'leadimport token create --ou {info.ou}'.",
            code="token_expired",
        )
    limiter: TokenBuckets | None = getattr(request.app.state, "rate_limit", None)
    if limiter is not None:
        limiter.check(info.token_id)
    return info.ou


async def read_json(request: Request) -> Any:
    ctype = request.headers.get("content-type", "")
    if "json" not in ctype.lower():
        raise InvalidRequest(
            "Send the body as JSON with the header 'Content-Type: application/json'."
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise InvalidRequest(
                "The JSON body is over 1 MB; a start request is a few hundred bytes."
            )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidRequest(
            f"The body is not valid JSON ({e}). Check quotes and commas."
        ) from None


# --- endpoints -------------------------------------------------------------------------------
