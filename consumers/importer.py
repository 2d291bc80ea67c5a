"""The importer worker: job requests from ``lead-import.jobs`` → ``application.importing``.

Between polls it runs the sweep (purge expired uploads, re-drive stalled jobs and undos, start
waiting jobs, complete jobs whose rows all have outcomes after a crash between the two).

A request that keeps failing is parked by the loop's error policy (``consumers.loop``) and the
job it names fails with a reason that says what happened and what to do.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from adapters import log_context, postgres
from adapters.kafka import TOPIC_JOBS, make_consumer
from application import dead_letters, importing
from application.container import Container
from consumers import loop

log = logging.getLogger(__name__)

GROUP = "lead-import-importer"


def handle_records(
    c: Container, records: list[Any], max_running: int, stop: threading.Event
) -> None:
    """Act on the requests until the database answers: every step is idempotent (rows that have
    an outcome are not published again, a duplicate row is skipped by the lead workers)."""
    requests = [importing.decode_request(r.value) for r in records]
    with log_context.job(log_context.only_job(r.get("job_id") for r in requests)):
        postgres.retry_while_unavailable(
            lambda: importing.handle_job_requests(c, requests, max_running), stop
        )


def park(
    c: Container, record: Any, error: BaseException, attempts: int, first_seen: datetime
) -> None:
    job_id = importing.named_job(record.value)
    origin = dead_letters.Origin(
        worker="importer",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        payload=record.value,
        job_id=job_id,
    )
    letter = dead_letters.park(c, origin, error, attempts, first_seen)
    if job_id is not None:
        importing.fail_job(
            c,
            job_id,
            f"An internal error stopped this import (dead letter {letter}: {type(error).__name__})."
            " Nothing more of it will be imported; rows already imported stay (undo the job to"
            " remove them). Start the import again; if it fails the same way, an operator can see"
            " why with 'leadimport dead-letters list'.",
        )


def sweep_when_possible(c: Container, stall_timeout_s: float, max_running: int) -> None:
    """The sweep, skipped while the database is away: the next idle round runs it again."""
    try:
        importing.sweep(c, stall_timeout_s, max_running)
    except postgres.UNAVAILABLE as e:
        log.warning("sweep skipped, database unavailable: %s", e)


def run(c: Container, stop: threading.Event, stall_timeout_s: float, max_running: int) -> None:
    consumer = make_consumer(
        c.kafka_bootstrap, GROUP, [TOPIC_JOBS], c.kafka_options, max_poll_records=50
    )
    loop.run(
        consumer,
        lambda records: handle_records(c, records, max_running, stop),
        stop,
        idle=lambda: sweep_when_possible(c, stall_timeout_s, max_running),
        park=lambda record, error, attempts, first_seen: park(
            c, record, error, attempts, first_seen
        ),
    )
