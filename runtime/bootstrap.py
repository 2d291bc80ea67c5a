"""The composition root: the only place that picks the concrete adapters."""

from __future__ import annotations

import functools

from adapters import kafka, postgres
from adapters.eventstore import open_event_store
from application.container import Clock, Container, utc_now


def build(
    database_url: str, kafka_bootstrap: str, *, clock: Clock = utc_now, pool_size: int = 8
) -> Container:
    return Container(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        pool=postgres.make_pool(database_url, max_size=pool_size),
        store=open_event_store(database_url),
        new_producer=functools.partial(kafka.make_producer, kafka_bootstrap),
        clock=clock,
    )
