"""Rows no job of theirs owns, and failing one row by hand: what the lead worker does with a
record before or instead of applying it (``application.applying``)."""

from __future__ import annotations

from application.applying import apply_rows
from application.container import Container
from domain.rows import RowFailed, RowImported, row_event_id


def rows_of_other_ous(c: Container, rows: list[RowImported | RowFailed]) -> list[int]:
    """Positions in ``rows`` of the rows that no job of theirs owns: their job is unknown, or
    belongs to another OU than the row says. The importer never writes such a row (a foreign or
    broken producer does); they are dead letters, never applied."""
    job_ids = sorted({r.job_id for r in rows})
    with c.pool.connection() as conn:
        found = conn.execute(
            "SELECT job_id, ou FROM import_jobs WHERE job_id = ANY(%b::text[])", (job_ids,)
        ).fetchall()
    ou_of_job = {r["job_id"]: r["ou"] for r in found}
    return [i for i, r in enumerate(rows) if ou_of_job.get(r.job_id) != r.ou]


def fail_row(c: Container, ou: str, job_id: str, row: int, error: str) -> bool:
    """Record row ``row`` of ``ou``'s job ``job_id`` as failed with ``error``, unless it already
    has an outcome, or the job is closed, unknown or another OU's; True when it was recorded."""
    with c.pool.connection() as conn:
        job = conn.execute("SELECT ou FROM import_jobs WHERE job_id = %s", (job_id,)).fetchone()
    if job is None or job["ou"] != ou:
        return False
    failed = RowFailed(
        event_id=row_event_id(job_id, row),
        ou=job["ou"],
        job_id=job_id,
        row=row,
        error=error,
        value="",
    )
    return bool(apply_rows(c, [failed]))
