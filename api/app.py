"""Endpoints, the route table (each route carries its OpenAPI documentation) and the
application factory."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from adapters import kafka, postgres
from adapters.tokens import ou_for_token
from api import downloads, errors, openapi, schemas, web
from api.openapi import UNAUTHORIZED, ApiRoute, Operation, Reply, error
from application import audit, jobs, leads, mapping, previews, results
from application.container import Container
from domain import csvfile
from domain.errors import DomainError, FileTooLarge, InvalidRequest, NotCsv, NotFound, Unauthorized
from domain.identifiers import KINDS

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
        encoding, delimiter = _form_text(form, "encoding"), _form_text(form, "delimiter")
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
    result = await run_in_threadpool(
        previews.preview,
        container(request),
        ou,
        name,
        data,
        encoding=encoding,
        delimiter=delimiter,
    )
    return answer(schemas.PreviewResponse, result)


def _form_text(form: FormData, name: str) -> str | None:
    """A text field of the multipart form; None when absent or empty."""
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"Send {name!r} as a plain form field (-F {name}=...), not a file.")
    return value


async def start(request: Request) -> Response:
    ou = await authenticate(request)
    body = schemas.StartImport.model_validate(await read_json(request))
    cmd = jobs.StartCommand(
        file_id=body.file_id,
        primary_column=body.primary_identifier.column,
        primary_kind=body.primary_identifier.kind.strip().lower(),
        field_mappings=body.field_mappings,
        alias_mappings=body.alias_mappings,
        default_country=body.default_country,
        encoding=body.encoding or None,
        delimiter=body.delimiter or None,
        mode=body.mode,
        dry_run=body.dry_run,
    )
    key = request.headers.get("idempotency-key")
    result = await run_in_threadpool(jobs.start, container(request), ou, cmd, key)
    response = answer(schemas.StartResponse, result, status_code=202)
    response.headers["Location"] = f"/leads/import/jobs/{result['job_id']}"
    return response


async def mapping_targets(request: Request) -> Response:
    """The profile fields and alias targets a start request may map columns to."""
    await authenticate(request)
    return answer(schemas.MappingTargets, mapping.mapping_targets())


async def list_jobs(request: Request) -> Response:
    ou = await authenticate(request)
    query = schemas.JobListQuery.from_query(request.query_params)
    page, limit = query.page, query.limit
    items, total = await run_in_threadpool(jobs.list_jobs, container(request), ou, page, limit)
    listed = {"jobs": items, "total": total, "page": page, "limit": limit}
    return answer(schemas.JobList, listed)


async def get_job(request: Request) -> Response:
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    detail = await run_in_threadpool(jobs.job_detail, container(request), ou, job_id)
    return answer(schemas.JobDetail, detail)


async def job_errors(request: Request) -> Response:
    """A page of a job's row errors (the detail holds only the first 100)."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    query = schemas.RowPageQuery.from_query(request.query_params)
    page = await run_in_threadpool(
        jobs.job_errors, container(request), ou, job_id, query.cursor, query.limit
    )
    return answer(schemas.JobErrorPage, page)


async def job_warnings(request: Request) -> Response:
    """A page of a job's alias warnings (the detail holds only the first 100)."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    query = schemas.RowPageQuery.from_query(request.query_params)
    page = await run_in_threadpool(
        jobs.job_warnings, container(request), ou, job_id, query.cursor, query.limit
    )
    return answer(schemas.JobWarningPage, page)


async def job_errors_csv(request: Request) -> Response:
    """The failed rows as uploaded, with their errors, as a CSV file (streamed)."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    download = await run_in_threadpool(results.errors_file, container(request), ou, job_id)
    return downloads.csv_download(download)


async def job_results_csv(request: Request) -> Response:
    """Every row's outcome as a CSV file (streamed)."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    download = await run_in_threadpool(results.results_file, container(request), ou, job_id)
    return downloads.csv_download(download)


async def cancel_job(request: Request) -> Response:
    """Cancel a queued or running job; answers with the job detail as it stopped."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    await run_in_threadpool(jobs.cancel_job, container(request), ou, job_id)
    detail = await run_in_threadpool(jobs.job_detail, container(request), ou, job_id)
    return answer(schemas.JobDetail, detail)


async def undo_job(request: Request) -> Response:
    """Undo a completed or cancelled job: 202, the compensation runs in the importer."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    result = await run_in_threadpool(jobs.undo_job, container(request), ou, job_id)
    return answer(schemas.JobRef, result, status_code=202)


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
    found = await run_in_threadpool(leads.find_leads, container(request), ou, kind, raw, country)
    return answer(schemas.LeadList, {"leads": found})


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

    lead = await run_in_threadpool(leads.get_lead, container(request), ou, lead_id)
    if lead is None:
        raise _lead_not_found(request)
    return answer(schemas.Lead, lead)


async def lead_history(request: Request) -> Response:
    """A page of the lead's events in order with what each changed (application/audit.py)."""
    ou = await authenticate(request)
    query = schemas.LeadHistoryQuery.from_query(request.query_params)
    lead_id = _lead_id(request)
    page = await run_in_threadpool(
        audit.lead_history_page, container(request), ou, lead_id, query.after, query.limit
    )
    if page is None:
        raise _lead_not_found(request)
    events, next_after = page
    history = {"lead_id": str(lead_id), "events": events, "next_after": next_after}
    return answer(schemas.LeadHistory, history)


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    c = container(request)
    database = await run_in_threadpool(postgres.ping, c.database_url)
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


# --- the route table: one source for routing and for /openapi.json ------------------------------

JOB_ID = openapi.path_parameter(
    "job_id", {"type": "string"}, "Import job id (`job_...`) from the start response."
)
LEAD_ID = openapi.path_parameter("lead_id", {"type": "string", "format": "uuid"}, "Lead id.")
JOB_NOT_FOUND = error(404, "The job does not exist or belongs to another OU.")
CSV_DOWNLOAD = Reply(
    200,
    "The CSV file, streamed (while the job runs: the rows applied so far).",
    headers={"Content-Disposition": downloads.CONTENT_DISPOSITION},
    content=downloads.CSV_CONTENT,
)
RESULTS_GONE = error(
    410,
    "The job ended longer ago than the result files are kept (7 days by default), or "
    "(errors.csv) its uploaded file is no longer stored.",
)
CSV_FORMAT = (
    "UTF-8 with BOM, comma-delimited, CRLF; a cell starting with `=` `+` `-` `@`, a tab or a "
    "carriage return gets a `'` in front (against formula injection), which an import of the "
    "file drops again. Kept for `LEADIMPORT_RESULT_RETENTION_DAYS` (7) days after the job ended."
)
LEAD_NOT_FOUND = error(404, "The lead does not exist or belongs to another OU.")
IDEMPOTENCY_KEY = openapi.header_parameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    "A unique key of this start request (a UUID), 1 to 200 printable ASCII characters. The same "
    "request sent again with it within 24 hours answers the job the first one queued, with "
    "the same body and `Location`; with another body, 409. Keys are per OU.",
)
LOCATION = {
    "description": "The job: `/leads/import/jobs/{job_id}`.",
    "required": True,
    "schema": {"type": "string", "pattern": "^/leads/import/jobs/job_[0-9a-f]{32}$"},
}


def too_many(description: str) -> Reply:
    """A 429 with its ``Retry-After`` (api/errors.py sets it from ``TooManyRequests``)."""
    retry_after = {
        "description": "Seconds after which a slot is likely free.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    }
    return Reply(429, description, schemas.ErrorBody, headers={"Retry-After": retry_after})


routes: list[BaseRoute] = [
    ApiRoute(
        "GET",
        "/healthz",
        healthz,
        Operation(
            "healthz",
            "Liveness: 200 while the process lives.",
            (Reply(200, "The process is alive.", schemas.Health),),
            public=True,
        ),
    ),
    ApiRoute(
        "GET",
        "/readyz",
        readyz,
        Operation(
            "readyz",
            "Readiness: PostgreSQL and the broker answer.",
            (
                Reply(200, "PostgreSQL and the broker answer.", schemas.Ready),
                Reply(503, "PostgreSQL or the broker does not answer.", schemas.Ready),
            ),
            public=True,
        ),
    ),
    ApiRoute(
        "GET",
        "/openapi.json",
        openapi.serve,
        Operation(
            "openapi",
            "This OpenAPI document.",
            (Reply(200, "The OpenAPI 3.1 document."),),
            public=True,
            raw_200_schema={"type": "object"},
        ),
    ),
    ApiRoute(
        "POST",
        "/leads/import/preview",
        preview,
        Operation(
            "previewImport",
            "Upload a CSV file and preview its headers and first rows.",
            (
                Reply(200, "The file is kept for 1 hour under `file_id`.", schemas.PreviewResponse),
                error(
                    400,
                    "No file, not multipart/form-data, not a usable CSV (also: over 1,000 "
                    "columns, or a cell over 131,072 characters), or an unknown `encoding` or "
                    "`delimiter`.",
                ),
                UNAUTHORIZED,
                error(413, "The file is over 10 MB."),
                error(415, "The file is not a CSV (a spreadsheet, an archive, an image...)."),
                too_many(
                    "The OU already stores its limit of previews (100 by default); "
                    "`Retry-After`: until the oldest expires."
                ),
            ),
            description="Multipart form with the CSV in the field `file`. The encoding is "
            "detected (UTF-8, UTF-16, the Windows and ISO code pages, Shift_JIS, GB18030, "
            "EUC-KR...; Windows-1252 when there is too little text to tell) and the delimiter "
            "(`,` `;` tab or `|`); the optional fields `encoding` and `delimiter` override them. "
            "The answer says which were used.",
            multipart_body=schemas.PreviewUpload,
        ),
    ),
    ApiRoute(
        "POST",
        "/leads/import/start",
        start,
        Operation(
            "startImport",
            "Start an import job of a previewed file with field and alias mappings.",
            (
                Reply(
                    202,
                    "The job is queued (or, for a start sent again with its `Idempotency-Key`, "
                    "was queued: the first answer again).",
                    schemas.StartResponse,
                    headers={"Location": LOCATION},
                ),
                error(
                    400,
                    "Invalid body, unknown column, kind, alias target or country, unknown "
                    "`mode` (the message lists them), `dry_run` not a JSON boolean, unknown "
                    "`encoding` or `delimiter`, or the file cannot be read with them; an "
                    "`Idempotency-Key` that is empty, over 200 characters or not printable ASCII.",
                ),
                UNAUTHORIZED,
                error(404, "The file does not exist, expired, or belongs to another OU."),
                too_many(
                    "The OU already has its limit of queued jobs (20 by default; `Retry-After`: "
                    "an estimate of when one starts), or a start with another `encoding` or "
                    "`delimiter` needs a copy of the file and the OU stores its limit of "
                    "previews."
                ),
                error(
                    409,
                    "The `Idempotency-Key` was used in the last 24 hours for another start "
                    "request (another body).",
                ),
            ),
            description="`encoding` and `delimiter` read the file otherwise than its preview "
            "did (the preview stays as it was; the job reads a copy of the file with them). "
            "With an `Idempotency-Key`, a start sent again (a retry after a timeout) starts no "
            "second job: it answers 202 with the first answer. `mode` says what a row does "
            "when its lead exists or not; `dry_run` only simulates the import (no lead changes) "
            "and reports what a real run would count.",
            parameters=(IDEMPOTENCY_KEY,),
            json_body=schemas.StartImport,
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/fields",
        mapping_targets,
        Operation(
            "listImportFields",
            "The profile fields and alias targets a start request may map columns to.",
            (
                Reply(200, "Every profile field and alias target.", schemas.MappingTargets),
                UNAUTHORIZED,
            ),
            description="`fields`: the targets of `field_mappings` (canonical names; a "
            "mapping may also spell them in any case, with spaces or `-`); `alias_targets`: "
            "the targets of `alias_mappings` with the identifier kind each adds. The preview's "
            "`suggested_mappings` use these names.",
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/jobs",
        list_jobs,
        Operation(
            "listImportJobs",
            "List the import jobs of the token's OU, newest first.",
            (
                Reply(200, "A page of jobs.", schemas.JobList),
                error(400, "`page` or `limit` is not a whole number in range."),
                UNAUTHORIZED,
            ),
            query=schemas.JobListQuery,
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/jobs/{job_id}",
        get_job,
        Operation(
            "getImportJob",
            "The detail of an import job: counters, row errors and alias warnings.",
            (Reply(200, "The job.", schemas.JobDetail), UNAUTHORIZED, JOB_NOT_FOUND),
            description="`errors` and `warnings` hold the first 100 of each, in row order; "
            "`errors_total` and `warnings_total` count them all, and "
            "`GET .../errors` and `GET .../warnings` page through them.",
            parameters=(JOB_ID,),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/jobs/{job_id}/errors",
        job_errors,
        Operation(
            "listImportJobErrors",
            "Every row error of an import job, a page at a time, in row order.",
            (
                Reply(200, "A page of row errors.", schemas.JobErrorPage),
                error(400, "`limit` is not a whole number in range, or `cursor` is not one."),
                UNAUTHORIZED,
                JOB_NOT_FOUND,
            ),
            description="Start without `cursor`; pass each page's `next_cursor` to get the "
            "next one, until it is null. A walk never repeats an error; rows are applied out "
            "of order while the job runs, so only a walk of a finished job sees every one.",
            parameters=(JOB_ID,),
            query=schemas.RowPageQuery,
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/jobs/{job_id}/warnings",
        job_warnings,
        Operation(
            "listImportJobWarnings",
            "Every alias warning of an import job, a page at a time, in row order.",
            (
                Reply(200, "A page of alias warnings.", schemas.JobWarningPage),
                error(400, "`limit` is not a whole number in range, or `cursor` is not one."),
                UNAUTHORIZED,
                JOB_NOT_FOUND,
            ),
            description="Paged like `GET .../errors`; the warnings of one row keep their order.",
            parameters=(JOB_ID,),
            query=schemas.RowPageQuery,
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/jobs/{job_id}/errors.csv",
        job_errors_csv,
        Operation(
            "downloadImportJobErrors",
            "The failed rows as they were uploaded, with `row`, `error` and `value`: a CSV to "
            "fix and upload again.",
            (CSV_DOWNLOAD, UNAUTHORIZED, JOB_NOT_FOUND, RESULTS_GONE),
            description="The columns `row`, `error` and `value` (renamed `import_row`... when "
            "the file has such a column), then the file's own columns in its order, values as "
            "read; one line per failed row, in row order. " + CSV_FORMAT,
            parameters=(JOB_ID,),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/import/jobs/{job_id}/results.csv",
        job_results_csv,
        Operation(
            "downloadImportJobResults",
            "The outcome of every row the job applied: `row`, `outcome`, `lead_id`, `error`, "
            "`warnings`.",
            (CSV_DOWNLOAD, UNAUTHORIZED, JOB_NOT_FOUND, RESULTS_GONE),
            description="One line per row with an outcome (`created`, `updated`, `failed`, "
            "`skipped`), in row order; rows a cancelled job never applied are not listed. "
            "`warnings`: the row's alias warnings as `warning (value)`, joined by `; `. "
            + CSV_FORMAT,
            parameters=(JOB_ID,),
        ),
    ),
    ApiRoute(
        "POST",
        "/leads/import/jobs/{job_id}/cancel",
        cancel_job,
        Operation(
            "cancelImportJob",
            "Cancel a queued or running job (idempotent); rows not yet applied never are.",
            (
                Reply(200, "The job as it stopped (status `cancelled`).", schemas.JobDetail),
                UNAUTHORIZED,
                JOB_NOT_FOUND,
                error(409, "The job already completed, failed, or is undoing or undone."),
            ),
            parameters=(JOB_ID,),
        ),
    ),
    ApiRoute(
        "POST",
        "/leads/import/jobs/{job_id}/undo",
        undo_job,
        Operation(
            "undoImportJob",
            "Undo a completed or cancelled import with compensating events (runs in the "
            "background).",
            (
                Reply(202, "The undo runs (status `undoing`, then `undone`).", schemas.JobRef),
                UNAUTHORIZED,
                JOB_NOT_FOUND,
                error(
                    409,
                    "The job is queued or running (cancel it first), failed, undone, or was a "
                    "dry run (nothing to undo).",
                ),
            ),
            description="Leads the job created are deleted, fields it changed go back, aliases "
            "it added are removed, except what a later import changed or may have used: the "
            "job detail's `undo_report` lists those. Asking again while it is `undoing` "
            "answers 202.",
            parameters=(JOB_ID,),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads",
        find_leads,
        Operation(
            "findLeads",
            "Find leads by exactly one identifier, e.g. `?email=jane@example.com`.",
            (
                Reply(200, "The leads owning that identifier (zero or one).", schemas.LeadList),
                error(400, "Not exactly one identifier, or the identifier is invalid."),
                UNAUTHORIZED,
            ),
            description="Give exactly one of " + ", ".join(f"`{k}`" for k in KINDS) + "; the "
            "value is normalized as on import.",
            parameters=(
                *(
                    openapi.query_parameter(kind, {"type": "string"}, f"A {kind} identifier.")
                    for kind in KINDS
                ),
                openapi.query_parameter(
                    "default_country",
                    {"type": "string", "default": "US"},
                    "ISO 3166-1 alpha-2 country for a phone number without a country code.",
                ),
            ),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/{lead_id}",
        get_lead,
        Operation(
            "getLead",
            "One lead.",
            (Reply(200, "The lead.", schemas.Lead), UNAUTHORIZED, LEAD_NOT_FOUND),
            parameters=(LEAD_ID,),
        ),
    ),
    ApiRoute(
        "GET",
        "/leads/{lead_id}/history",
        lead_history,
        Operation(
            "getLeadHistory",
            "A lead's events in order: time, type, job and row, and what changed (old → new).",
            (
                Reply(200, "A page of the lead's events, oldest first.", schemas.LeadHistory),
                error(400, "`after` or `limit` is not a whole number in range."),
                UNAUTHORIZED,
                LEAD_NOT_FOUND,
            ),
            description="A page at a time: the first `limit` events after version `after`; "
            "`next_after` is the `after` of the next page (null on the last). Every page shows "
            "the same old → new values as the whole history. Also for a lead an undo deleted: "
            "its last event is `LeadDeleted`.",
            parameters=(LEAD_ID,),
            query=schemas.LeadHistoryQuery,
        ),
    ),
    # The import wizard (/import, / leads there), the API docs (/docs) and their static files:
    # pages for people, left out of /openapi.json (api/web.py).
    *web.routes,
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
