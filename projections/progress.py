"""A running job's recent progress (``job_progress``) and a queued job's place in its OU's queue.

``job_progress (job_id, at, processed)``: one sample per applied lead-worker batch, written in
the batch's transaction after the job's counters (``sample_effect``), so ``processed`` is what
the counters add up to at that commit; the same statement deletes the job's samples older than
``SAMPLE_KEEP_S``. The end of the job deletes them all (``cleanup_effect``, in the transaction of
``JobCompleted``, ``JobFailed`` or ``JobCancelled``). The job's row lock, taken first in every
batch (``application.applying``), orders a job's samples: ``at`` is the start of the sample's
statement (``statement_timestamp()``), which runs after that lock, so a later sample has a
later time and more rows. (Not ``now()``, the transaction's start: a batch that waited for the
lock would get an earlier time than the one it waited for. Not ``clock_timestamp()``: volatile,
it would keep the prune from using the index.) The detail reads in one snapshot, so every
sample it sees was written before its own ``statement_timestamp()``.

Operational, like ``import_jobs.last_progress_at``: no event carries it, it is not a projection
table (not in ``projections.swap.TABLES``), and a replay neither rebuilds nor touches it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from psycopg import Cursor

from domain.import_job import IN_PROGRESS, QUEUED
from domain.progress import RATE_WINDOW_S, SAMPLE_KEEP_S, Sample

Effect = Callable[[Cursor[Any]], None]


def sample_effect(job_ids: list[str]) -> Effect:
    """Record the jobs' rows processed now (after this batch's counters), and delete their
    samples older than ``SAMPLE_KEEP_S``: one statement per batch."""
    jobs = sorted(job_ids)

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "WITH pruned AS (DELETE FROM job_progress WHERE job_id = ANY(%b::text[])"
            f" AND at < statement_timestamp() - interval '{int(SAMPLE_KEEP_S)} seconds')"
            " INSERT INTO job_progress (job_id, at, processed)"
            " SELECT job_id, statement_timestamp(),"
            " created_count + updated_count + failed_count + skipped_count"
            " FROM import_jobs WHERE job_id = ANY(%b::text[])",
            (jobs, jobs),
        )

    return effect


def cleanup_effect(job_id: str) -> Effect:
    """Delete the job's samples (it ended: no row of it is applied any more)."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute("DELETE FROM job_progress WHERE job_id = %s", (job_id,))

    return effect


def rate_samples(curs: Cursor[Any], job_id: str) -> tuple[datetime, Sample | None, Sample | None]:
    """(now, the newest sample at least ``RATE_WINDOW_S`` old, the oldest sample) of a job:
    what ``domain.progress.recent_rate`` needs, in one query of two index lookups."""
    curs.execute(
        "SELECT n.now, b.at AS b_at, b.processed AS b_processed,"
        " f.at AS f_at, f.processed AS f_processed"
        " FROM (SELECT statement_timestamp() AS now) n"
        " LEFT JOIN LATERAL (SELECT at, processed FROM job_progress WHERE job_id = %s"
        f"  AND at <= n.now - interval '{int(RATE_WINDOW_S)} seconds'"
        "  ORDER BY at DESC LIMIT 1) b ON true"
        " LEFT JOIN LATERAL (SELECT at, processed FROM job_progress WHERE job_id = %s"
        "  ORDER BY at LIMIT 1) f ON true",
        (job_id, job_id),
    )
    r = curs.fetchone()
    assert r is not None
    before = Sample(r["b_at"], r["b_processed"]) if r["b_at"] is not None else None
    first = Sample(r["f_at"], r["f_processed"]) if r["f_at"] is not None else None
    return r["now"], before, first


def queue_place(curs: Cursor[Any], ou: str, job_id: str) -> tuple[int, int]:
    """(position, running) of a queued job: 1 + the OU's queued jobs created before it (the
    order the importer's sweep starts them in: ``application.jobs.waiting_jobs_with_a_free_slot``),
    and the OU's jobs in progress."""
    curs.execute(
        "SELECT (SELECT count(*) FROM import_jobs q WHERE q.ou = j.ou AND q.status = %s"
        "  AND (q.created_at, q.job_id) < (j.created_at, j.job_id)) + 1 AS position,"
        " (SELECT count(*) FROM import_jobs r WHERE r.ou = j.ou AND r.status = %s) AS running"
        " FROM import_jobs j WHERE j.job_id = %s AND j.ou = %s",
        (QUEUED.value, IN_PROGRESS.value, job_id, ou),
    )
    r = curs.fetchone()
    if r is None:
        return 1, 0
    return int(r["position"]), int(r["running"])
