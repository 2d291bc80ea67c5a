"""Result files of an import job, to download: ``errors.csv`` (the failed rows as the upload has
them, with the error, to fix and upload again) and ``results.csv`` (the outcome of every row the
job applied). Both are streamed: the ledger is read a page at a time (a short query each, no
connection held while the client reads) and the lines are written as they come
(``domain.resultfiles``).

Kept for ``Container.result_retention`` after the job ended (``import_jobs.completed_at``: when
it completed, failed or was cancelled; an undo does not move it), then `Gone`. While the job is
queued or running, the files hold what is applied so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from psycopg import Cursor

from application.container import Container
from application.jobs import job_not_found
from application.previews import load_file
from domain import csvfile
from domain.errors import Gone
from domain.import_job import OPEN
from domain.resultfiles import csv_bytes, download_names, error_lines, result_lines
from projections import results as results_view

# Ledger rows read per query: a page is a few hundred KB at most, however large the job.
PAGE_ROWS = 1000


@dataclass(frozen=True)
class Download:
    """A file to send: its name (``leads-errors.csv``), the same in plain ASCII, and its bytes,
    produced as they are read."""

    name: str
    ascii_name: str
    chunks: Iterator[bytes]


class _Numbered(Protocol):
    @property
    def row(self) -> int: ...


R = TypeVar("R", bound=_Numbered)


def errors_file(c: Container, ou: str, job_id: str) -> Download:
    """``errors.csv`` of ``ou``'s job: `NotFound` as the job detail, `Gone` after the
    retention or when the upload is no longer stored."""
    job = _kept_job(c, ou, job_id)
    stored = load_file(c, job["file_id"], ou, fresh_only=False)
    if stored is None:
        raise Gone(
            f"The uploaded file of import job {job_id!r} is no longer stored, so its failed rows "
            "cannot be written out as they were uploaded. GET /leads/import/jobs/"
            f"{job_id}/errors lists every error with its row, and results.csv every row's "
            "outcome."
        )
    name, ascii_name = download_names(job["file_name"], "errors")
    rows = csvfile.iter_rows(stored.content, stored.format)
    failed = _keyset(
        c, lambda curs, after: results_view.failed_rows(curs, job_id, after, PAGE_ROWS)
    )
    return Download(name, ascii_name, csv_bytes(error_lines(stored.headers, rows, failed)))


def results_file(c: Container, ou: str, job_id: str) -> Download:
    """``results.csv`` of ``ou``'s job: one line per row with an outcome, in row order.
    `NotFound` as the job detail, `Gone` after the retention."""
    job = _kept_job(c, ou, job_id)
    name, ascii_name = download_names(job["file_name"], "results")
    results = _keyset(
        c, lambda curs, after: results_view.row_results(curs, job_id, after, PAGE_ROWS)
    )
    return Download(name, ascii_name, csv_bytes(result_lines(results)))


def retention_ends(c: Container, status: str, ended: datetime | None) -> datetime | None:
    """When a job's result files (and its upload) stop being kept; None while it runs."""
    if status in OPEN or ended is None:
        return None
    return ended + c.result_retention


def _kept_job(c: Container, ou: str, job_id: str) -> dict[str, Any]:
    job = None
    if "\x00" not in job_id:  # NUL is never part of an id (and PostgreSQL refuses it)
        with c.pool.connection() as conn:
            job = results_view.download_job(conn.cursor(), ou, job_id)
    if job is None:
        raise job_not_found(job_id)
    until = retention_ends(c, job["status"], job["completed_at"])
    if until is not None and c.clock() >= until:
        ended = job["completed_at"].strftime("%Y-%m-%d %H:%M UTC")
        raise Gone(
            f"The result files of import job {job_id!r} were kept for "
            f"{_duration(c.result_retention)} after it ended ({ended}) and have been deleted. "
            f"Its counters, errors and warnings are still in GET /leads/import/jobs/{job_id} "
            "(all of them: .../errors and .../warnings)."
        )
    return job


def _keyset(c: Container, page: Callable[[Cursor[Any], int], list[R]]) -> Iterator[R]:
    """Every item of a listing in row order, ``PAGE_ROWS`` per query, each query on a
    connection taken from the pool only for it (a slow download holds none)."""
    after = 0  # row numbers start at 1
    while True:
        with c.pool.connection() as conn:
            items = page(conn.cursor(), after)
        yield from items
        if len(items) < PAGE_ROWS:
            return
        after = items[-1].row


def _duration(period: timedelta) -> str:
    days, rest = divmod(period, timedelta(days=1))
    if not rest:
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{period.total_seconds() / 3600:g} hours"
