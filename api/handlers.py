"""The endpoints: each parses and validates its request, calls one use case, and shapes the
answer through its response model (``api.plumbing.answer``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from adapters import kafka, postgres
from adapters.tokens import lookup_token
from api import downloads, inputs, schemas
from api.plumbing import (
    BINARY_EXTENSIONS,
    JSON,
    MULTIPART_SLACK,
    answer,
    authenticate,
    container,
    read_json,
)
from application import audit, erasure, jobs, leads, mapping, previews, results
from domain import csvfile
from domain.errors import FileTooLarge, InvalidRequest, NotCsv, NotFound
from domain.identifiers import KINDS


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
    body = inputs.StartImport.model_validate(await read_json(request))
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
    query = inputs.JobListQuery.from_query(request.query_params)
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
    query = inputs.RowPageQuery.from_query(request.query_params)
    page = await run_in_threadpool(
        jobs.job_errors, container(request), ou, job_id, query.cursor, query.limit
    )
    return answer(schemas.JobErrorPage, page)


async def job_warnings(request: Request) -> Response:
    """A page of a job's alias warnings (the detail holds only the first 100)."""
    ou = await authenticate(request)
    job_id = request.path_params["job_id"]
    query = inputs.RowPageQuery.from_query(request.query_params)
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


async def erase_lead(request: Request) -> Response:
    """Erase a lead (GDPR Art. 17 / CCPA): 202 with the erasure request, carried out in the
    background (application/erasure.py); asking again answers the same request."""
    ou = await authenticate(request)
    lead_id = _lead_id(request)
    reason = request.query_params.get("reason", erasure.DEFAULT_REASON)
    erasure.check_reason(reason)
    requested_by = await run_in_threadpool(_token_id, request)
    result, _ = await run_in_threadpool(
        erasure.request_erasure, container(request), ou, lead_id, requested_by, reason
    )
    response = answer(schemas.Erasure, result, status_code=202)
    response.headers["Location"] = f"/leads/erasures/{result['erasure_id']}"
    return response


async def get_erasure(request: Request) -> Response:
    ou = await authenticate(request)
    erasure_id = request.path_params["erasure_id"]
    result = await run_in_threadpool(erasure.get_request, container(request), ou, erasure_id)
    if result is None:
        raise NotFound(f"Erasure request {erasure_id!r} does not exist.")
    return answer(schemas.Erasure, result)


def _token_id(request: Request) -> str:
    """The public id of the request's (already authenticated) token, for the erasure log."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    info = lookup_token(container(request).pool, token, touch=False)
    return info.token_id if info is not None else "unknown"


async def lead_history(request: Request) -> Response:
    """A page of the lead's events in order with what each changed (application/audit.py)."""
    ou = await authenticate(request)
    query = inputs.LeadHistoryQuery.from_query(request.query_params)
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
    broker = await run_in_threadpool(kafka.ping, c.kafka_bootstrap, options=c.kafka_options)
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
