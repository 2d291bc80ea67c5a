"""Queries of the row ledger's projection (``row_outcomes``, ``job_warnings``) and of the job
read model that the downloadable result files read: keyset pages in row order, so a file of any
size is read a page at a time, each page a short query of its own."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.resultfiles import FailedRow, RowResult


def download_job(curs: Cursor[Any], ou: str, job_id: str) -> dict[str, Any] | None:
    """What a download needs of ``ou``'s job: status, upload, when it ended; None when the job
    does not exist or belongs to another OU."""
    curs.execute(
        "SELECT job_id, status, file_id, file_name, completed_at FROM import_jobs"
        " WHERE job_id = %s AND ou = %s",
        (job_id, ou),
    )
    row = curs.fetchone()
    return dict(row) if row is not None else None


def failed_rows(curs: Cursor[Any], job_id: str, after_row: int, limit: int) -> list[FailedRow]:
    """The job's first ``limit`` failed rows after row ``after_row``, in row order (the partial
    index ``row_outcomes_failed_idx``)."""
    curs.execute(
        "SELECT row, error, value FROM row_outcomes WHERE job_id = %s AND outcome = 'failed'"
        " AND row > %s ORDER BY row LIMIT %s",
        (job_id, after_row, limit),
    )
    return [FailedRow(r["row"], r["error"] or "", r["value"] or "") for r in curs.fetchall()]


def row_results(curs: Cursor[Any], job_id: str, after_row: int, limit: int) -> list[RowResult]:
    """The job's first ``limit`` row outcomes after row ``after_row``, in row order, each with
    its warnings in their order (primary keys of both tables)."""
    curs.execute(
        "SELECT o.row, o.outcome, o.lead_id, o.error, w.warnings FROM ("
        "  SELECT row, outcome, lead_id, error FROM row_outcomes"
        "  WHERE job_id = %s AND row > %s ORDER BY row LIMIT %s) o"
        " LEFT JOIN LATERAL (SELECT json_agg(json_build_array(warning, value) ORDER BY seq)"
        "  AS warnings FROM job_warnings WHERE job_id = %s AND row = o.row) w ON true"
        " ORDER BY o.row",
        (job_id, after_row, limit, job_id),
    )
    return [
        RowResult(
            row=r["row"],
            outcome=r["outcome"],
            lead_id=str(r["lead_id"]) if r["lead_id"] is not None else None,
            error=r["error"],
            warnings=[(w, v) for w, v in r["warnings"] or ()],
        )
        for r in curs.fetchall()
    ]
