"""What the use cases work with: connections, the event store, Kafka producers, a clock, the
charset detector and the per-OU limits.

``runtime.bootstrap`` builds it (the only place that picks the concrete adapters); the use cases
and workers receive it and never read settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer
from psycopg_pool import ConnectionPool

from adapters.eventstore import LeadImportStore
from adapters.kafka import ClientOptions, TopicSettings
from domain.encodings import GuessEncoding

Clock = Callable[[], datetime]
ProducerFactory = Callable[..., KafkaProducer]


@dataclass(frozen=True)
class Limits:
    """What one OU may hold at once in a shared service (``runtime.settings`` has the knobs)."""

    max_previews_per_ou: int = 100  # stored, unexpired previews (uploads)
    max_queued_jobs_per_ou: int = 20  # jobs waiting as ``queued``
    # Jobs running (``in_progress``) at once; more wait as ``queued``. The importer enforces it;
    # the API tells a queued job's place in the queue with it (the job detail's ``queue``).
    max_running_jobs_per_ou: int = 3


# How long a finished job's result files (and the upload errors.csv is made of) are kept after
# the job ended (``runtime.settings``: LEADIMPORT_RESULT_RETENTION_DAYS).
RESULT_RETENTION = timedelta(days=7)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a process uses, built once. Close it on shutdown."""

    database_url: str = field(repr=False)  # carries the password
    kafka_bootstrap: str
    pool: ConnectionPool[Any]
    store: LeadImportStore
    new_producer: ProducerFactory
    clock: Clock = utc_now
    limits: Limits = field(default_factory=Limits)
    result_retention: timedelta = RESULT_RETENTION
    # Asked about uploads that are neither UTF-8 nor UTF-16; None: read them as Windows-1252.
    guess_encoding: GuessEncoding | None = None
    # How every Kafka client connects (TLS, SASL), and what topics are created with; the
    # producers of ``new_producer`` have the options already.
    kafka_options: ClientOptions = field(default_factory=ClientOptions)
    kafka_topics: TopicSettings = field(default_factory=TopicSettings)
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
