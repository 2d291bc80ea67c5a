"""Routes and the application factory."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import errors, openapi
from api.schemas import StartImport
from domain import csvfile
from domain.errors import DomainError, FileTooLarge, InvalidRequest, NotCsv, NotFound, Unauthorized
from domain.identifiers import KINDS, IdentifierError, normalize
from projections import jobs as jobs_view
from projections import leads as leads_view
from projections import replay
from runtime import db, kafka, services
from runtime.bootstrap import Container
from runtime.tokens import ou_for_token

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


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


async def authenticate(request: Request) -> str:
    """The OU of the request's bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Missing bearer token. Send 'Authorization: Bearer <token>'; "
            "create a token with 'leadimport token create --ou <OU>'."
        )
    ou = await run_in_threadpool(ou_for_token, container(request).pool, token.strip())
    if ou is None:
        raise Unauthorized(
            "The bearer token is not valid. Create one with 'leadimport token create'."
        )
    return ou


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


async def preview(request: Request) -> Response:
    ou = await authenticate(request)
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise InvalidRequest(
            "Upload the CSV as multipart/form-data in a field named 'file' "
            "(curl -F file=@leads.csv ...)."
        )
    limit = csvfile.MAX_FILE_BYTES + MULTIPART_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FileTooLarge("The file is over the 10 MB limit. Split it into smaller files.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FileTooLarge("The file is over the 10 MB limit. Split it into smaller files.")

    async def replay() -> AsyncGenerator[bytes, None]:
        yield bytes(body)

    try:
        form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=16).parse()
    except MultiPartException as e:
        raise InvalidRequest(f"The multipart body could not be read ({e}).") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest(
            "No file was sent. Upload the CSV in a multipart form field named 'file'."
        )
    try:
        data = await upload.read()
    finally:
        await form.close()
    filename = (upload.filename or "").replace("\x00", "")  # PostgreSQL text cannot hold NUL
    name = (filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1] or "upload.csv"
    if len(data) > csvfile.MAX_FILE_BYTES:
        raise FileTooLarge("The file is over the 10 MB limit. Split it into smaller files.")
    if name.lower().endswith(BINARY_EXTENSIONS):
        raise NotCsv(
            f"{name!r} is not a CSV file. Save it from your spreadsheet program as "
            "'CSV (comma-separated values)' and upload that."
        )
    result = await run_in_threadpool(services.preview, container(request), ou, name, data)
    return JSON(result)


async def start(request: Request) -> Response:
    ou = await authenticate(request)
    body = StartImport.model_validate(await read_json(request))
    cmd = services.StartCommand(
        file_id=body.file_id,
        primary_column=body.primary_identifier.column,
        primary_kind=body.primary_identifier.kind.strip().lower(),
        field_mappings=body.field_mappings,
        alias_mappings=body.alias_mappings,
        default_country=body.default_country,
    )
    result = await run_in_threadpool(services.start, container(request), ou, cmd)
    return JSON(result, status_code=202)


def _positive_int(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 12  # int() of "²" or 5000 digits fails
    if not digits or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        bound = f" and at most {maximum}" if maximum else ""
        raise InvalidRequest(
            f"Query parameter {name!r} must be a whole number of at least 1{bound}."
        )
    return int(raw)


async def list_jobs(request: Request) -> Response:
    ou = await authenticate(request)
    page = _positive_int(request, "page", 1, 1_000_000)
    limit = _positive_int(request, "limit", 25, 100)

    def query() -> tuple[list[dict[str, Any]], int]:
        with container(request).pool.connection() as conn:
            return jobs_view.list_jobs(conn.cursor(), ou, page, limit)

    items, total = await run_in_threadpool(query)
    return JSON({"jobs": items, "total": total, "page": page, "limit": limit})


def _job_detail(request: Request, ou: str, job_id: str) -> Response:
    """The job detail of ``ou``'s job, or 404 (runs in the thread pool)."""
    job = None
    if "\x00" not in job_id:  # NUL is never part of an id (and PostgreSQL refuses it)
        with container(request).pool.connection() as conn:
            job = jobs_view.get_job(conn.cursor(), ou, job_id)
    if job is None:
        raise services.job_not_found(job_id)
    return JSON(job)


async def get_job(request: Request) -> Response:
    ou = await authenticate(request)
    return await run_in_threadpool(_job_detail, request, ou, request.path_params["job_id"])


async def cancel_job(request: Request) -> Response:
    """Cancel a queued or running job; answers with the job detail as it stopped."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    await run_in_threadpool(services.cancel_job, container(request), ou, job_id)
    return await run_in_threadpool(_job_detail, request, ou, job_id)


async def undo_job(request: Request) -> Response:
    """Undo a completed or cancelled job: 202, the compensation runs in the importer."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    result = await run_in_threadpool(services.undo_job, container(request), ou, job_id)
    return JSON(result, status_code=202)


async def find_leads(request: Request) -> Response:
    ou = await authenticate(request)
    given = [(k, v) for k, v in request.query_params.items() if k in KINDS]
    if len(given) != 1:
        raise InvalidRequest(
            "Look leads up by exactly one identifier, e.g. GET /leads?email=jane@example.com "
            f"(kinds: {', '.join(KINDS)})."
        )
    kind, raw = given[0]
    country = request.query_params.get("default_country", "US").upper()
    try:
        value = normalize(kind, raw, country)
    except IdentifierError as e:
        raise InvalidRequest(f"{kind} {raw!r}: {e.message}.") from None

    def query() -> list[dict[str, Any]]:
        with container(request).pool.connection() as conn:
            return leads_view.find_leads(conn.cursor(), ou, kind, value)

    return JSON({"leads": await run_in_threadpool(query)})


def _lead_id(request: Request) -> UUID:
    """The path's lead id; one that is no UUID names no lead."""
    try:
        return UUID(request.path_params["lead_id"])
    except ValueError:
        raise _lead_not_found(request) from None


def _lead_not_found(request: Request) -> NotFound:
    return NotFound(f"Lead {request.path_params['lead_id']!r} does not exist.")


async def get_lead(request: Request) -> Response:
    ou = await authenticate(request)
    lead_id = _lead_id(request)

    def query() -> dict[str, Any] | None:
        with container(request).pool.connection() as conn:
            return leads_view.get_lead(conn.cursor(), ou, lead_id)

    lead = await run_in_threadpool(query)
    if lead is None:
        raise _lead_not_found(request)
    return JSON(lead)


async def lead_history(request: Request) -> Response:
    """The lead's events in order with what each changed (projections/replay.py, audit)."""
    ou = await authenticate(request)
    lead_id = _lead_id(request)
    history = await run_in_threadpool(
        replay.lead_history_of, container(request).events, ou, lead_id
    )
    if history is None:
        raise _lead_not_found(request)
    return JSON({"lead_id": str(lead_id), "events": history})


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    c = container(request)
    database = await run_in_threadpool(db.ping, c.database_url)
    broker = await run_in_threadpool(kafka.ping, c.kafka_bootstrap)
    ok = database and broker
    return JSON(
        {
            "status": "ready" if ok else "not_ready",
            "database": "up" if database else "down",
            "broker": "up" if broker else "down",
        },
        status_code=200 if ok else 503,
    )


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/openapi.json", openapi.serve, methods=["GET"]),
    Route("/leads/import/preview", preview, methods=["POST"]),
    Route("/leads/import/start", start, methods=["POST"]),
    Route("/leads/import/jobs", list_jobs, methods=["GET"]),
    Route("/leads/import/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/leads/import/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/leads/import/jobs/{job_id}/undo", undo_job, methods=["POST"]),
    Route("/leads", find_leads, methods=["GET"]),
    Route("/leads/{lead_id}", get_lead, methods=["GET"]),
    Route("/leads/{lead_id}/history", lead_history, methods=["GET"]),
]


def create_app(c: Container) -> Starlette:
    app = Starlette(
        routes=routes,
        exception_handlers={
            DomainError: errors.domain_error,
            ValidationError: errors.validation_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
    )
    app.state.container = c
    return app
