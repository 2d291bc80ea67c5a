"""The composition root: settings → connections → event store → services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from psycopg_pool import ConnectionPool

from runtime import db
from runtime.eventstore import EventStore, open_event_store
from runtime.kafka import make_producer

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a process uses, built once. Close it on shutdown."""

    database_url: str
    kafka_bootstrap: str
    pool: ConnectionPool[Any]
    events: EventStore
    clock: Clock = utc_now
    _producer: KafkaProducer | None = field(default=None, repr=False)
    _bulk_producer: KafkaProducer | None = field(default=None, repr=False)

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = make_producer(self.kafka_bootstrap)
        return self._producer

    @property
    def bulk_producer(self) -> KafkaProducer:
        """For streams of many records: batches fill up before they are sent (a new batch wakes
        the sender thread, which cost the importer a system call every few rows at linger 5)."""
        if self._bulk_producer is None:
            self._bulk_producer = make_producer(
                self.kafka_bootstrap, linger_ms=50, batch_size=1024 * 1024
            )
        return self._bulk_producer

    def close(self) -> None:
        for producer in (self._producer, self._bulk_producer):
            if producer is not None:
                producer.close(timeout=5)
        self._producer = self._bulk_producer = None
        self.events.close()
        self.pool.close()


def build(
    database_url: str, kafka_bootstrap: str, *, clock: Clock = utc_now, pool_size: int = 8
) -> Container:
    return Container(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        pool=db.make_pool(database_url, max_size=pool_size),
        events=open_event_store(database_url),
        clock=clock,
    )
