"""The routes of import jobs (``/leads/import/jobs`` and each job's detail, rows, files, cancel
and undo), each with its OpenAPI documentation; ``api.app`` puts them into its route table."""

from __future__ import annotations

from starlette.routing import BaseRoute

from api import downloads, inputs, openapi, schemas
from api.handlers import (
    cancel_job,
    get_job,
    job_errors,
    job_errors_csv,
    job_results_csv,
    job_warnings,
    list_jobs,
    undo_job,
)
from api.openapi import UNAUTHORIZED, ApiRoute, Operation, Reply, error

JOB_ID = openapi.path_parameter(
    "job_id", {"type": "string"}, "Import job id (`job_...`) from the start response."
)
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

routes: list[BaseRoute] = [
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
]
