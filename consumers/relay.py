"""The relay worker: holds the relay lock and runs ``application.relaying`` sessions.

Only one relay publishes at a time: it holds a session-level advisory lock on a dedicated
connection for as long as it runs. A database or broker failure ends the session (releasing the
lock); after a back-off a new session takes the lock again and resumes from the recorded position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from kafka.errors import KafkaError

from adapters import locks, postgres
from application.container import Container
from application.relaying import EventUnreadable, PublishFailed, Relay

log = logging.getLogger(__name__)

LOCK_RETRY_S = 0.5  # how often a waiting relay retries the lock (and notices a stop)


@contextmanager
def relay_lock(url: str, stop: threading.Event) -> Iterator[psycopg.Connection[Any] | None]:
    """A connection holding the relay's advisory lock (session level), or None when ``stop`` was
    set while waiting for another relay to release it. Closing the connection releases it."""
    conn = postgres.connect(url, autocommit=True)
    try:
        waiting_logged = False
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (locks.RELAY,)).fetchone()
            if row is not None and row["ok"]:
                break
            if not waiting_logged:
                log.info("another relay holds the relay lock; waiting for it")
                waiting_logged = True
            # pg_advisory_lock() would block without noticing SIGTERM: poll instead.
            if stop.wait(LOCK_RETRY_S):
                yield None
                return
        log.info("relay lock taken")
        yield conn
    finally:
        conn.close()


def run(c: Container, stop: threading.Event, partitions: int) -> None:
    """Run the relay until ``stop`` is set (``leadimport worker relay``).

    A database or broker failure ends the session (releasing the lock); after a back-off a new
    session takes the lock again, creates the topics when the broker lost them (with
    ``partitions`` partitions) and resumes from the recorded position.
    """
    backoff = 0.2
    failures: dict[int, tuple[int, datetime]] = {}  # events that could not be read, so far
    while not stop.is_set():
        relay: Relay | None = None
        try:
            with relay_lock(c.database_url, stop) as conn:
                if conn is None:
                    return
                relay = Relay(c, stop, conn, partitions, failures)
                relay.run()
            return
        except (*postgres.UNAVAILABLE, KafkaError, PublishFailed, EventUnreadable) as e:
            if relay is not None and relay.published:
                backoff = 0.2
            log.warning("relay session ended (%s); resuming in %.1f s", e, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)
