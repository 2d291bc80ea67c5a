"""What the use cases work with: connections, the event store, Kafka producers, a clock.

``runtime.bootstrap`` builds it (the only place that picks the concrete adapters); the use cases
and workers receive it and never read settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from psycopg_pool import ConnectionPool

from adapters.eventstore import LeadImportStore

Clock = Callable[[], datetime]
ProducerFactory = Callable[..., KafkaProducer]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a process uses, built once. Close it on shutdown."""

    database_url: str
    kafka_bootstrap: str
    pool: ConnectionPool[Any]
    store: LeadImportStore
    new_producer: ProducerFactory
    clock: Clock = utc_now
    _producer: KafkaProducer | None = field(default=None, repr=False)
    _bulk_producer: KafkaProducer | None = field(default=None, repr=False)

    @property
    def producer(self) -> KafkaProducer:
        """For single records that are waited for (job requests)."""
        if self._producer is None:
            self._producer = self.new_producer()
        return self._producer

    @property
    def bulk_producer(self) -> KafkaProducer:
        """For streams of many records: batches fill up before they are sent (a new batch wakes
        the sender thread, which cost the importer a system call every few rows at linger 5)."""
        if self._bulk_producer is None:
            self._bulk_producer = self.new_producer(linger_ms=50, batch_size=1024 * 1024)
        return self._bulk_producer

    def close(self) -> None:
        for producer in (self._producer, self._bulk_producer):
            if producer is not None:
                producer.close(timeout=5)
        self._producer = self._bulk_producer = None
        self.store.close()
        self.pool.close()
