"""PostgreSQL connections and schema migration."""

from __future__ import annotations

import importlib.resources
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

MIGRATION_LOCK = 7_431_001  # advisory lock key: one process migrates at a time


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
    from runtime.eventstore import create_event_store_tables

    sql = importlib.resources.files("runtime").joinpath("schema.sql").read_text()
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            conn.execute(sql)  # a trusted file shipped with the package
            create_event_store_tables(url)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def ping(url: str, timeout: float = 2.0) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False
