"""The lead worker: row events from ``lead-import.rows`` → ``application.applying``.

A batch of records is decoded and applied in one transaction (exactly once per row, see
``application.applying``); then the jobs it touched are completed when every row has an outcome.
While the database is away the batch waits and is never skipped.

Records no job owns (unknown job, or a job of another OU than the record says) are dead letters
at once. A record that keeps failing is parked by the loop's error policy (``consumers.loop``);
its row, when the record names one of an open job of the same OU, fails with an error that says
so, so the job still completes.

Each worker keeps the leads it committed in a bounded cache between batches
(``applying.LEAD_CACHE_SIZE``, see ``application.applying``).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters import log_context, postgres
from adapters.eventstore import AggregateCache
from adapters.kafka import TOPIC_ROWS, make_consumer
from application import applying, dead_letters, jobs, row_checks
from application.container import Container
from consumers import loop
from domain.rows import RowFailed, RowImported

log = logging.getLogger(__name__)

GROUP = "lead-import-leads"
BATCH_SIZE = 2000  # rows per transaction; larger did not pay off in the measurements
LINGER_MS = 100  # how long a batch may wait to fill up while rows keep arriving
NOT_OWNED = "No job owns this row: its job is unknown or belongs to another OU than the row says."


def parse(value: bytes) -> RowImported | RowFailed:
    if b'"type":"RowFailed"' in value[:40]:
        return RowFailed.model_validate_json(value)
    return RowImported.model_validate_json(value)


def handle_records(
    c: Container, records: list[Any], stop: threading.Event, cache: AggregateCache | None = None
) -> None:
    rows = [parse(r.value) for r in records]
    # Log lines of the batch name its job when it is all one job's rows (the usual case).
    with log_context.job(log_context.only_job(r.job_id for r in rows)):
        _apply(c, records, rows, stop, cache)


def _apply(
    c: Container,
    records: list[Any],
    rows: list[RowImported | RowFailed],
    stop: threading.Event,
    cache: AggregateCache | None,
) -> None:
    foreign = postgres.retry_while_unavailable(lambda: row_checks.rows_of_other_ous(c, rows), stop)
    if foreign:
        for i in foreign:
            _park(c, records[i], NOT_OWNED, 1, datetime.now(UTC), fail_its_row=False)
        skip = set(foreign)
        rows = [r for i, r in enumerate(rows) if i not in skip]
    touched = postgres.retry_while_unavailable(lambda: applying.apply_rows(c, rows, cache), stop)
    if touched:
        # Once the batch is applied only the completion check is retried.
        postgres.retry_while_unavailable(lambda: jobs.complete_jobs(c, touched), stop)


def _park(
    c: Container,
    record: Any,
    error: BaseException | str,
    attempts: int,
    first_seen: datetime,
    *,
    fail_its_row: bool = True,
) -> None:
    ou, job_id, row = _named_row(record.value)
    origin = dead_letters.Origin(
        worker="leads",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        payload=record.value,
        job_id=job_id,
    )
    letter = dead_letters.park(c, origin, error, attempts, first_seen)
    if fail_its_row and ou is not None and job_id is not None and row is not None:
        message = (
            f"This row could not be processed (dead letter {letter}); an operator can see why "
            "with 'leadimport dead-letters list'. Import the row again once it is fixed."
        )
        if row_checks.fail_row(c, ou, job_id, row, message):
            jobs.complete_jobs(c, [job_id])


def _named_row(value: bytes | None) -> tuple[str | None, str | None, int | None]:
    """The OU, job id and row a record names, as far as it names them."""
    try:
        body = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None, None, None
    if not isinstance(body, dict):
        return None, None, None
    ou, job_id, row = body.get("ou"), body.get("job_id"), body.get("row")
    return (
        ou if isinstance(ou, str) and "\x00" not in ou else None,
        job_id if isinstance(job_id, str) and "\x00" not in job_id else None,
        row if type(row) is int and 0 < row < 2**31 else None,
    )


def run(c: Container, stop: threading.Event) -> None:
    consumer = make_consumer(
        c.kafka_bootstrap, GROUP, [TOPIC_ROWS], c.kafka_options, max_poll_records=BATCH_SIZE
    )
    cache = AggregateCache(applying.LEAD_CACHE_SIZE)
    loop.run(
        consumer,
        lambda records: handle_records(c, records, stop, cache),
        stop,
        batch_size=BATCH_SIZE,
        linger_ms=LINGER_MS,
        park=lambda record, error, attempts, first_seen: _park(
            c, record, error, attempts, first_seen
        ),
    )
