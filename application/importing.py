"""Importing: publish a job's rows (one row event per data row), re-drive stalled jobs, and the
housekeeping sweep between polls. Requests with ``"action": "undo"`` go to ``application.undo``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError

from adapters.kafka import TOPIC_ROWS
from application import erasure, idempotency, jobs, undo
from application.container import Container
from application.previews import load_file, purge_expired_files
from domain import csvfile
from domain.errors import Conflict
from domain.import_job import OPEN, STOPPED, TERMINAL, ImportJob, status_values
from domain.rows import RowMapping, encode_row

log = logging.getLogger(__name__)

FILE_GONE = (
    "The uploaded file is no longer available (it expired before the job could read it). "
    "Upload the file again and start a new import."
)
CANCEL_CHECK_EVERY = 5000  # rows between two looks at the job's status while publishing


def _stopped(c: Container, job_id: str) -> bool:
    with c.pool.connection() as conn:
        r = conn.execute("SELECT status FROM import_jobs WHERE job_id = %s", (job_id,)).fetchone()
    return r is not None and r["status"] in STOPPED


def publish_rows(c: Container, job: ImportJob, max_running: int) -> int | None:
    """Publish the job's rows that have no outcome yet; return how many rows the file has, or
    None when the OU already runs ``max_running`` jobs (the job stays queued; the sweep asks
    again when a slot frees up)."""
    stored = load_file(c, job.file_id, fresh_only=False)
    if stored is None:
        job.fail(FILE_GONE)
        jobs.save_job(c, job)
        return 0
    if not jobs.start_job(c, job, max_running):
        log.info("job %s waits: its OU already runs %d jobs", job.job_id, max_running)
        return None
    with c.pool.connection() as conn:
        applied = {
            r["row"]
            for r in conn.execute("SELECT row FROM row_outcomes WHERE job_id = %s", (job.job_id,))
        }
    mapping = RowMapping.build(
        stored.headers,
        job.primary_identifier["column"],
        job.primary_identifier["kind"],  # type: ignore[arg-type]
        job.field_mappings,
        job.alias_mappings_kinds(),
        job.default_country,
    )
    log.info("job %s: publishing rows (%d already applied)", job.job_id, len(applied))
    producer = c.bulk_producer
    send = producer.send
    total = 0
    for row, cells in csvfile.iter_rows(stored.content, stored.format):
        total += 1
        if total % CANCEL_CHECK_EVERY == 0 and _stopped(c, job.job_id):
            log.info("job %s was cancelled: stopped publishing at row %d", job.job_id, row)
            producer.flush(timeout=60)
            return total
        if row in applied:
            continue
        key, value = encode_row(job.ou, job.job_id, row, cells, mapping)
        send(TOPIC_ROWS, key=key, value=value)
    producer.flush(timeout=60)
    jobs.change_job(c, job.job_id, lambda j: j.record_rows_published(total))
    return total


def handle_job_requests(c: Container, requests: list[dict[str, Any]], max_running: int) -> None:
    """Act on a batch of job requests (decoded from ``lead-import.jobs``); every step is
    idempotent, so a redelivered request is harmless."""
    seen: set[str] = set()
    for request in requests:
        job_id = request["job_id"]
        if request.get("action") == "undo":
            undo.handle_undo_request(c, job_id)  # idempotent: compensated leads are skipped
            continue
        if job_id in seen:
            continue
        seen.add(job_id)
        job = jobs.get_job_aggregate(c, job_id)
        if job is None or job.status in TERMINAL:
            continue
        if job.rows_published is not None and not request.get("redrive"):
            continue  # a duplicate request for a job already published (only re-drives repeat)
        try:
            total = publish_rows(c, job, max_running)
        except IntegrityError:
            # The job changed while it was being started (cancelled, or started by another
            # importer): whoever changed it owns what happens next.
            log.info("job %s changed while it was being started; request skipped", job_id)
            continue
        if total is None:
            continue
        log.info("job %s: %d rows in file, rows published", job_id, total)
        jobs.complete_jobs(c, [job_id])  # a file of 0 rows, or a re-drive that found all done


def decode_request(value: bytes) -> dict[str, Any]:
    """A job request as the API and the sweep write it; ValueError for anything else."""
    request = orjson.loads(value)
    if not isinstance(request, dict) or not isinstance(request.get("job_id"), str):
        raise ValueError("not a job request: a JSON object with a string 'job_id' was expected")
    return request


def named_job(value: bytes | None) -> str | None:
    """The job id a record names, if it names one (also when it is no valid request)."""
    try:
        request = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    job_id = request.get("job_id") if isinstance(request, dict) else None
    return job_id if isinstance(job_id, str) and "\x00" not in job_id else None


def fail_job(c: Container, job_id: str, reason: str) -> None:
    """Fail a job that is still queued or running (anything else stays as it is)."""
    job = jobs.get_job_aggregate(c, job_id)
    if job is None or job.status in TERMINAL:
        return
    try:
        jobs.change_job(c, job_id, lambda j: j.fail(reason) if j.status not in TERMINAL else None)
    except Conflict:
        log.info("job %s could not be failed: it kept changing", job_id)


def sweep(c: Container, stall_timeout_s: float, max_running: int) -> None:
    """Housekeeping between polls; safe to run in several importers at once."""
    purge_expired_files(c)
    erasure.run_pending(c)  # requested erasures (DELETE /leads/{lead_id})
    idempotency.purge_expired_keys(c)
    jobs.complete_jobs(c, None)
    undo.redrive_stalled_undos(c, stall_timeout_s)
    for job_id, ou in jobs.waiting_jobs_with_a_free_slot(c, max_running):
        jobs.request_job(c, job_id, ou)
    with c.pool.connection() as conn:
        stalled = conn.execute(
            "UPDATE import_jobs SET last_progress_at = now(), redrive_count = redrive_count + 1"
            " WHERE job_id IN (SELECT job_id FROM import_jobs"
            "  WHERE status = ANY(%s)"
            "  AND last_progress_at < now() - make_interval(secs => %s)"
            "  FOR UPDATE SKIP LOCKED)"
            " RETURNING job_id, ou",
            (status_values(OPEN), stall_timeout_s),
        ).fetchall()
    for r in stalled:
        log.warning(
            "job %s made no progress for %.0f s: re-driving it", r["job_id"], stall_timeout_s
        )
        jobs.request_job(c, r["job_id"], r["ou"], redrive=True)
