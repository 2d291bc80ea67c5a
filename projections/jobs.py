"""The job read model: ``import_jobs`` (lifecycle + counters), errors and warnings.

Lifecycle columns follow ImportJob events; counters follow row outcomes. Both are written in the
same transaction as the events or outcomes they come from (as effects of ``EventStore.put``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from psycopg import Cursor

from domain.import_job import (
    CANCELLED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    OPEN,
    QUEUED,
    UNDOING,
    UNDONE,
    ImportJob,
    status_values,
)


def job_event_effects(job: ImportJob, events: list[Any]) -> list[Any]:
    """Statements that project ``events`` (pending events of ``job``) onto ``import_jobs``."""
    effects = []
    for e in events:
        at: datetime = e.timestamp
        match e:
            case ImportJob.JobQueued():
                effects.append(_insert_job(job, at))
            case ImportJob.JobStarted():
                effects.append(
                    _sql(
                        "UPDATE import_jobs SET status = CASE WHEN status = %s THEN %s"
                        " ELSE status END, started_at = COALESCE(started_at, %s),"
                        " last_progress_at = %s WHERE job_id = %s",
                        (QUEUED.value, IN_PROGRESS.value, at, at, job.job_id),
                    )
                )
            case ImportJob.JobRowsPublished():
                effects.append(
                    _sql(
                        "UPDATE import_jobs SET last_progress_at = %s WHERE job_id = %s",
                        (at, job.job_id),
                    )
                )
            case ImportJob.JobCompleted() | ImportJob.JobCancelled():
                status = COMPLETED if isinstance(e, ImportJob.JobCompleted) else CANCELLED
                effects.append(
                    _sql(
                        "UPDATE import_jobs SET status = %s, completed_at = %s,"
                        " started_at = COALESCE(started_at, %s) WHERE job_id = %s",
                        (status.value, at, at, job.job_id),
                    )
                )
            case ImportJob.JobFailed():
                effects.append(
                    _sql(
                        "UPDATE import_jobs SET status = %s, completed_at = %s,"
                        " failure_reason = %s WHERE job_id = %s",
                        (FAILED.value, at, e.reason, job.job_id),
                    )
                )
            case ImportJob.JobUndoRequested():
                # last_progress_at: the undo's progress clock (the importer's sweep re-asks for
                # an undo that stopped moving, e.g. its request was lost).
                effects.append(
                    _sql(
                        "UPDATE import_jobs SET status = %s, last_progress_at = %s"
                        " WHERE job_id = %s",
                        (UNDOING.value, at, job.job_id),
                    )
                )
            case ImportJob.JobUndone():
                effects.append(
                    _sql(
                        "UPDATE import_jobs SET status = %s, undo_report = %s WHERE job_id = %s",
                        (UNDONE.value, orjson.dumps(e.report).decode(), job.job_id),
                    )
                )
    return effects


def _sql(query: str, params: tuple[Any, ...]) -> Any:
    def effect(curs: Cursor[Any]) -> None:
        curs.execute(query, params)

    return effect


def _insert_job(job: ImportJob, at: datetime) -> Any:
    return _sql(
        "INSERT INTO import_jobs (job_id, ou, status, file_id, file_name, created_at, total_rows,"
        " primary_identifier, field_mappings, alias_mappings, ignored_fields, default_country,"
        " last_progress_at, mode, dry_run)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (job_id) DO NOTHING",
        (
            job.job_id,
            job.ou,
            QUEUED.value,
            job.file_id,
            job.file_name,
            at,
            job.total_rows,
            orjson.dumps(job.primary_identifier).decode(),
            orjson.dumps(job.field_mappings).decode(),
            orjson.dumps(job.alias_mappings).decode(),
            orjson.dumps(job.ignored_fields).decode(),
            job.default_country,
            at,
            job.mode.value,
            job.dry_run,
        ),
    )


def insert_outcomes_effect(
    rows: list[tuple[str, int, str, UUID | None, str | None, str | None]],
) -> Any:
    """Store the row outcomes of a batch (the job's row ledger, as rows)."""
    cols = list(zip(*rows, strict=True))

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO row_outcomes (job_id, row, outcome, lead_id, error, value)"
            " SELECT * FROM unnest(%b::text[], %b::int[], %b::text[], %b::uuid[], %b::text[],"
            " %b::text[])",
            tuple(list(c) for c in cols),
        )

    return effect


def insert_warnings_effect(rows: list[tuple[str, int, int, str, str]]) -> Any:
    """Store the warnings of a batch's rows."""
    cols = list(zip(*rows, strict=True))

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO job_warnings (job_id, row, seq, warning, value)"
            " SELECT * FROM unnest(%b::text[], %b::int[], %b::int[], %b::text[], %b::text[])",
            tuple(list(c) for c in cols),
        )

    return effect


def counters_effect(
    deltas: dict[str, tuple[int, int, int, int]], warnings: Mapping[str, int] | None = None
) -> Any:
    """Add (created, updated, failed, skipped) to each job's counters, and ``warnings[job]``
    (the warnings stored with these rows) to its ``warning_count``."""
    job_ids = list(deltas)
    created = [deltas[j][0] for j in job_ids]
    updated = [deltas[j][1] for j in job_ids]
    failed = [deltas[j][2] for j in job_ids]
    skipped = [deltas[j][3] for j in job_ids]
    warned = [(warnings or {}).get(j, 0) for j in job_ids]

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "UPDATE import_jobs j SET created_count = j.created_count + d.c,"
            " updated_count = j.updated_count + d.u, failed_count = j.failed_count + d.f,"
            " skipped_count = j.skipped_count + d.s,"
            " warning_count = j.warning_count + d.w, last_progress_at = now()"
            " FROM unnest(%b::text[], %b::int[], %b::int[], %b::int[], %b::int[], %b::int[])"
            " AS d(job_id, c, u, f, s, w) WHERE j.job_id = d.job_id",
            (job_ids, created, updated, failed, skipped, warned),
        )

    return effect


# --- queries -------------------------------------------------------------------------------

_ITEM_COLUMNS = (
    "job_id, status, file_name, created_at, started_at, completed_at, total_rows,"
    " created_count, updated_count, failed_count, skipped_count, mode, dry_run"
)


def list_jobs(
    curs: Cursor[Any], ou: str, page: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    curs.execute("SELECT count(*) AS n FROM import_jobs WHERE ou = %s", (ou,))
    row = curs.fetchone()
    total = int(row["n"]) if row else 0
    curs.execute(
        f"SELECT {_ITEM_COLUMNS} FROM import_jobs WHERE ou = %s"
        " ORDER BY created_at DESC, job_id DESC LIMIT %s OFFSET %s",
        (ou, limit, (page - 1) * limit),
    )
    return [
        {
            "job_id": r["job_id"],
            "status": r["status"],
            "file_name": r["file_name"],
            "created_at": r["created_at"],
            "completed_at": r["completed_at"],
            "total_rows": r["total_rows"],
            "created_count": r["created_count"],
            "updated_count": r["updated_count"],
            "failed_count": r["failed_count"],
            "skipped_count": r["skipped_count"],
            "mode": r["mode"],
            "dry_run": r["dry_run"],
        }
        for r in curs.fetchall()
    ], total


# Errors and warnings in the job detail, each the first in row order; the totals say how many
# there are, ``errors_page`` and ``warnings_page`` walk through all of them.
DETAIL_ITEMS = 100


def get_job(curs: Cursor[Any], ou: str, job_id: str) -> dict[str, Any] | None:
    curs.execute(
        f"SELECT {_ITEM_COLUMNS}, primary_identifier, field_mappings, alias_mappings,"
        " ignored_fields, default_country, failure_reason, undo_report, warning_count"
        " FROM import_jobs WHERE job_id = %s AND ou = %s",
        (job_id, ou),
    )
    job = curs.fetchone()
    if job is None:
        return None
    detail = dict(job)
    # The counters are kept with the rows they count, in the same transaction: a total is read,
    # never counted (errors are the failed rows).
    errors_total, warnings_total = detail["failed_count"], detail.pop("warning_count")
    errors = errors_page(curs, job_id, 0, DETAIL_ITEMS)[0] if errors_total else []
    warnings = warnings_page(curs, job_id, (0, 0), DETAIL_ITEMS)[0] if warnings_total else []
    return {
        **detail,
        "errors": errors,
        "errors_total": errors_total,
        "warnings": warnings,
        "warnings_total": warnings_total,
    }


def job_exists(curs: Cursor[Any], ou: str, job_id: str) -> bool:
    curs.execute("SELECT 1 FROM import_jobs WHERE job_id = %s AND ou = %s", (job_id, ou))
    return curs.fetchone() is not None


def errors_page(
    curs: Cursor[Any], job_id: str, after_row: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The first ``limit`` errors of the job after row ``after_row``, in row order, and the row
    the next page starts after (None: these are the last). Keyset: the partial index
    ``row_outcomes_failed_idx`` gives them in order, however many rows succeeded."""
    curs.execute(
        "SELECT row, error, value FROM row_outcomes WHERE job_id = %s AND outcome = 'failed'"
        " AND row > %s ORDER BY row LIMIT %s",
        (job_id, after_row, limit + 1),
    )
    found = curs.fetchall()
    errors = [{"row": r["row"], "error": r["error"], "value": r["value"]} for r in found[:limit]]
    return errors, (errors[-1]["row"] if len(found) > limit else None)


def warnings_page(
    curs: Cursor[Any], job_id: str, after: tuple[int, int], limit: int
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """The first ``limit`` warnings of the job after ``after`` = (row, seq), in (row, seq)
    order, and the (row, seq) the next page starts after (None: these are the last)."""
    curs.execute(
        "SELECT row, seq, warning, value FROM job_warnings WHERE job_id = %s"
        " AND (row, seq) > (%s, %s) ORDER BY row, seq LIMIT %s",
        (job_id, after[0], after[1], limit + 1),
    )
    found = curs.fetchall()
    warnings = [
        {"row": r["row"], "warning": r["warning"], "value": r["value"]} for r in found[:limit]
    ]
    last = found[limit - 1] if len(found) > limit else None
    return warnings, ((last["row"], last["seq"]) if last else None)


def open_job_ids_at_total(curs: Cursor[Any], job_ids: list[str] | None) -> list[str]:
    """Jobs that every row has reached but are not marked completed yet."""
    query = (
        "SELECT job_id FROM import_jobs WHERE status = ANY(%s)"
        " AND created_count + updated_count + failed_count + skipped_count >= total_rows"
    )
    if job_ids is None:
        curs.execute(query, (status_values(OPEN),))
    else:
        curs.execute(query + " AND job_id = ANY(%s)", (status_values(OPEN), job_ids))
    return [r["job_id"] for r in curs.fetchall()]
