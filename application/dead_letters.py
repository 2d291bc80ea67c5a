"""Dead letters: what a worker could not handle after a few attempts, parked so it moves on.

A worker parks a Kafka record (where it came from, its key and payload as received) or, the
relay, an event of the store (its notification id), with the error and how often it failed.
``leadimport dead-letters list`` shows them; ``retry`` re-drives them after a fix: a record is
produced again to its topic with its key, an event is published again by ``relaying``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.container import Container

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000  # an error message is cut to this length (a traceback is in the log)
LIST_LIMIT_MAX = 1000


@dataclass(frozen=True)
class Origin:
    """Where a dead letter came from: a Kafka record, or an event of the store."""

    worker: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    notification_id: int | None = None
    key: bytes | None = None
    payload: bytes | None = None
    job_id: str | None = None


def park(
    c: Container,
    origin: Origin,
    error: BaseException | str,
    attempts: int,
    first_seen: datetime,
) -> int:
    """Store a dead letter; return its id."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    with c.pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO dead_letters (worker, topic, kafka_partition, kafka_offset,"
            " notification_id, record_key, payload, job_id, error, attempts, first_seen,"
            " last_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                origin.worker,
                origin.topic,
                origin.partition,
                origin.offset,
                origin.notification_id,
                origin.key,
                origin.payload,
                origin.job_id,
                message[:MAX_ERROR_CHARS],
                attempts,
                first_seen,
                c.clock(),
            ),
        ).fetchone()
    assert row is not None
    dead_letter_id = int(row["id"])
    log.error(
        "parked as dead letter %d after %d attempts (%s): %s",
        dead_letter_id,
        attempts,
        _where(origin),
        message[:MAX_ERROR_CHARS],
    )
    return dead_letter_id


def _where(origin: Origin) -> str:
    if origin.notification_id is not None:
        return f"{origin.worker}, notification {origin.notification_id}"
    return f"{origin.worker}, {origin.topic}[{origin.partition}] offset {origin.offset}"


def list_dead_letters(
    c: Container, *, include_retried: bool = False, after_id: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """Dead letters in id order (not yet retried, unless ``include_retried``), a page at a time:
    ``after_id`` is the last id of the previous page."""
    limit = max(1, min(limit, LIST_LIMIT_MAX))
    query = (
        "SELECT id, worker, topic, kafka_partition, kafka_offset, notification_id, job_id,"
        " error, attempts, first_seen, last_seen, retried_at, retry_error,"
        " octet_length(payload) AS payload_bytes FROM dead_letters WHERE id > %s"
    )
    if not include_retried:
        query += " AND retried_at IS NULL"
    with c.pool.connection() as conn:
        rows = conn.execute(query + " ORDER BY id LIMIT %s", (after_id, limit)).fetchall()
    return [dict(r) for r in rows]


def open_ids(c: Container) -> list[int]:
    with c.pool.connection() as conn:
        rows = conn.execute(
            "SELECT id FROM dead_letters WHERE retried_at IS NULL ORDER BY id"
        ).fetchall()
    return [int(r["id"]) for r in rows]


def load(c: Container, dead_letter_id: int) -> dict[str, Any] | None:
    with c.pool.connection() as conn:
        row = conn.execute("SELECT * FROM dead_letters WHERE id = %s", (dead_letter_id,)).fetchone()
    return dict(row) if row is not None else None


def mark_retried(c: Container, dead_letter_id: int, error: str | None) -> None:
    """Record a retry: done (``error`` None: no longer listed) or failed (still listed)."""
    with c.pool.connection() as conn:
        if error is None:
            conn.execute(
                "UPDATE dead_letters SET retried_at = %s, retry_error = NULL WHERE id = %s",
                (c.clock(), dead_letter_id),
            )
        else:
            conn.execute(
                "UPDATE dead_letters SET retry_error = %s WHERE id = %s",
                (error[:MAX_ERROR_CHARS], dead_letter_id),
            )


def retry_record(c: Container, letter: dict[str, Any]) -> None:
    """Produce a parked Kafka record again to its topic, with its key (the worker of that topic
    handles it again; effects are idempotent, so a record handled meanwhile changes nothing)."""
    key = bytes(letter["record_key"]) if letter["record_key"] is not None else None
    payload = bytes(letter["payload"]) if letter["payload"] is not None else None
    c.producer.send(letter["topic"], key=key, value=payload).get(timeout=10)
