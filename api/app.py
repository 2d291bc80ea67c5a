"""The route table (each route carries its OpenAPI documentation) and the application factory.
The endpoints are in ``api.handlers``, their request plumbing in ``api.plumbing``."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

from api import downloads, errors, inputs, openapi, schemas, web
from api.handlers import (
    cancel_job,
    find_leads,
    get_job,
    get_lead,
    healthz,
    job_errors,
    job_errors_csv,
    job_results_csv,
    job_warnings,
    lead_history,
    list_jobs,
    mapping_targets,
    preview,
    readyz,
    start,
    undo_job,
)
from api.openapi import UNAUTHORIZED, ApiRoute, Operation, Reply, error
from api.plumbing import JSON, answer
from application.container import Container
from domain.errors import DomainError
from domain.identifiers import KINDS

__all__ = ["JSON", "answer", "create_app", "routes"]


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
            multipart_body=inputs.PreviewUpload,
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
            json_body=inputs.StartImport,
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
            query=inputs.JobListQuery,
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
            query=inputs.RowPageQuery,
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
            query=inputs.RowPageQuery,
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
            query=inputs.LeadHistoryQuery,
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
