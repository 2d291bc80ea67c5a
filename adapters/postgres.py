"""PostgreSQL connections, schema migration, and waiting for a database that is away."""

from __future__ import annotations

import importlib.resources
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from eventsourcing.persistence import OperationalError as StoreOperationalError
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from adapters import locks

log = logging.getLogger(__name__)
T = TypeVar("T")

# The database is away (a restart, the network): psycopg's errors and the event store's.
UNAVAILABLE = (psycopg.OperationalError, StoreOperationalError)


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(url, row_factory=dict_row, **kwargs)


def make_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> ConnectionPool[Any]:
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row},
        open=True,
        # No check on checkout: it costs a round trip per use. A connection broken by a server
        # restart raises OperationalError once and is then discarded by the pool.
    )
    return pool


def migrate(url: str) -> None:
    """Create or update every table, once, whatever number of processes start together."""
    # Imported here: the event store module imports eventsourcing, which reads its own env.
    from adapters.eventstore import create_event_store_tables

    sql = importlib.resources.files("adapters").joinpath("schema.sql").read_text()
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (locks.MIGRATION,))
        try:
            conn.execute(sql)  # a trusted file shipped with the package
            create_event_store_tables(url)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (locks.MIGRATION,))


def ping(url: str, timeout: float = 2.0) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def retry_while_unavailable(action: Callable[[], T], stop: threading.Event) -> T:
    """``action()`` again and again while the database is away (0.2 s, doubling, at most 5 s
    apart), until it answers or ``stop`` is set (then the error is raised). Only for actions
    that are safe to repeat."""
    delay = 0.2
    while True:
        try:
            return action()
        except UNAVAILABLE as e:
            if stop.is_set():
                raise
            log.warning("database unavailable, retrying in %.1f s: %s", delay, e)
            stop.wait(delay)
            delay = min(delay * 2, 5.0)
