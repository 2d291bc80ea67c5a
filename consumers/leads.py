"""The lead worker: row events from ``lead-import.rows`` → ``application.applying``.

A batch of records is decoded and applied in one transaction (exactly once per row, see
``application.applying``); then the jobs it touched are completed when every row has an outcome.
While the database is away the batch waits and is never skipped.
"""

from __future__ import annotations

import threading
from typing import Any

from adapters import postgres
from adapters.kafka import TOPIC_ROWS, make_consumer
from application import applying, jobs
from application.container import Container
from consumers import loop
from domain.rows import RowFailed, RowImported

GROUP = "lead-import-leads"
BATCH_SIZE = 2000  # rows per transaction; larger did not pay off in the measurements
LINGER_MS = 100  # how long a batch may wait to fill up while rows keep arriving


def parse(value: bytes) -> RowImported | RowFailed:
    if b'"type":"RowFailed"' in value[:40]:
        return RowFailed.model_validate_json(value)
    return RowImported.model_validate_json(value)


def handle_records(c: Container, records: list[Any], stop: threading.Event) -> None:
    rows = [parse(r.value) for r in records]
    touched = postgres.retry_while_unavailable(lambda: applying.apply_rows(c, rows), stop)
    if touched:
        # Once the batch is applied only the completion check is retried.
        postgres.retry_while_unavailable(lambda: jobs.complete_jobs(c, touched), stop)


def run(c: Container, stop: threading.Event) -> None:
    consumer = make_consumer(c.kafka_bootstrap, GROUP, [TOPIC_ROWS], max_poll_records=BATCH_SIZE)
    loop.run(
        consumer,
        lambda records: handle_records(c, records, stop),
        stop,
        batch_size=BATCH_SIZE,
        linger_ms=LINGER_MS,
    )
