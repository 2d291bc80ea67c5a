"""The importer: streams a job's cached file and publishes one row event per data row.

It also runs the job sweep between polls: purge expired uploads, re-drive stalled jobs, and
complete jobs whose rows all have outcomes (after a crash between the two). Requests with
``"action": "undo"`` undo a whole job instead (consumers/undo.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
import psycopg
from eventsourcing.persistence import IntegrityError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from consumers import undo
from domain import csvfile
from domain.import_job import TERMINAL, ImportJob
from domain.rows import RowMapping, encode_row
from runtime import services
from runtime.bootstrap import Container
from runtime.kafka import make_consumer
from runtime.settings import TOPIC_JOBS, TOPIC_ROWS

log = logging.getLogger(__name__)

GROUP = "lead-import-importer"
FILE_GONE = (
    "The uploaded file is no longer available (it expired before the job could read it). "
    "Upload the file again and start a new import."
)


CANCEL_CHECK_EVERY = 5000  # rows between two looks at the job's status while publishing


def _cancelled(c: Container, job_id: str) -> bool:
    with c.pool.connection() as conn:
        r = conn.execute("SELECT status FROM import_jobs WHERE job_id = %s", (job_id,)).fetchone()
    # A running job can only be undone once cancelled; stop publishing for those states too.
    return r is not None and r["status"] in ("cancelled", "undoing", "undone")


def publish_rows(c: Container, job: ImportJob, max_running: int) -> int | None:
    """Publish the job's rows that have no outcome yet; return how many rows the file has, or
    None when the OU already runs ``max_running`` jobs (the job stays queued; the sweep asks
    again when a slot frees up)."""
    stored = services.load_file(c, job.file_id, fresh_only=False)
    if stored is None:
        job.fail(FILE_GONE)
        services.save_job(c, job)
        return 0
    if not services.start_job(c, job, max_running):
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
        if total % CANCEL_CHECK_EVERY == 0 and _cancelled(c, job.job_id):
            log.info("job %s was cancelled: stopped publishing at row %d", job.job_id, row)
            producer.flush(timeout=60)
            return total
        if row in applied:
            continue
        key, value = encode_row(job.ou, job.job_id, row, cells, mapping)
        send(TOPIC_ROWS, key=key, value=value)
    producer.flush(timeout=60)
    services.change_job(c, job.job_id, lambda j: j.record_rows_published(total))
    return total


def handle_job_requests(c: Container, records: list[Any], max_running: int = 3) -> None:
    seen: set[str] = set()
    for record in records:
        request = orjson.loads(record.value)
        job_id = request["job_id"]
        if request.get("action") == "undo":
            undo.handle_undo_request(c, job_id)  # idempotent: compensated leads are skipped
            continue
        if job_id in seen:
            continue
        seen.add(job_id)
        job = services.get_job_aggregate(c, job_id)
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
        services.complete_jobs(c, [job_id])  # a file of 0 rows, or a re-drive that found all done


def sweep(c: Container, stall_timeout_s: float, max_running: int = 3) -> None:
    """Housekeeping between polls; safe to run in several importers at once."""
    services.purge_expired_files(c)
    services.complete_jobs(c, None)
    undo.redrive_stalled_undos(c, stall_timeout_s)
    for job_id, ou in services.waiting_jobs_with_a_free_slot(c, max_running):
        services.request_job(c, job_id, ou)
    with c.pool.connection() as conn:
        stalled = conn.execute(
            "UPDATE import_jobs SET last_progress_at = now(), redrive_count = redrive_count + 1"
            " WHERE job_id IN (SELECT job_id FROM import_jobs"
            "  WHERE status IN ('queued', 'in_progress')"
            "  AND last_progress_at < now() - make_interval(secs => %s)"
            "  FOR UPDATE SKIP LOCKED)"
            " RETURNING job_id, ou",
            (stall_timeout_s,),
        ).fetchall()
    for r in stalled:
        log.warning(
            "job %s made no progress for %.0f s: re-driving it", r["job_id"], stall_timeout_s
        )
        services.request_job(c, r["job_id"], r["ou"], redrive=True)


# The database is away (a restart, the network): psycopg's errors and the event store's.
DB_UNAVAILABLE = (psycopg.OperationalError, StoreOperationalError)


def handle_job_requests_retrying(
    c: Container, records: list[Any], max_running: int, stop: threading.Event
) -> None:
    """``handle_job_requests`` until the database answers: every step is idempotent (rows that
    have an outcome are not published again, a duplicate row is skipped by the lead workers)."""
    delay = 0.2
    while True:
        try:
            handle_job_requests(c, records, max_running)
            return
        except DB_UNAVAILABLE as e:
            if stop.is_set():
                raise
            log.warning("database unavailable, retrying in %.1f s: %s", delay, e)
            stop.wait(delay)
            delay = min(delay * 2, 5.0)


def sweep_when_possible(c: Container, stall_timeout_s: float, max_running: int) -> None:
    """The sweep, skipped while the database is away: the next idle round runs it again."""
    try:
        sweep(c, stall_timeout_s, max_running)
    except DB_UNAVAILABLE as e:
        log.warning("sweep skipped, database unavailable: %s", e)


def run(c: Container, stop: threading.Event, stall_timeout_s: float, max_running: int = 3) -> None:
    from consumers import loop

    consumer = make_consumer(c.kafka_bootstrap, GROUP, [TOPIC_JOBS], max_poll_records=50)
    loop.run(
        consumer,
        lambda records: handle_job_requests_retrying(c, records, max_running, stop),
        stop,
        idle=lambda: sweep_when_possible(c, stall_timeout_s, max_running),
    )
