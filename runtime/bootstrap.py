"""The composition root: the only place that picks the concrete adapters."""

from __future__ import annotations

import functools
from datetime import timedelta

from adapters import charset, kafka, postgres
from adapters.eventstore import open_event_store
from application.container import RESULT_RETENTION, Clock, Container, Limits, utc_now
from runtime.kafka_settings import KafkaSettings
from runtime.settings import Settings


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_previews_per_ou=settings.max_previews_per_ou,
        max_queued_jobs_per_ou=settings.max_queued_jobs_per_ou,
        max_running_jobs_per_ou=settings.max_running_jobs_per_ou,
    )


def result_retention_from(settings: Settings) -> timedelta:
    days = settings.result_retention_days
    if days < 0:
        raise SystemExit(f"LEADIMPORT_RESULT_RETENTION_DAYS must be 0 or more, got {days}")
    return timedelta(days=days)


def build(
    database_url: str,
    kafka_bootstrap: str,
    *,
    clock: Clock = utc_now,
    pool_size: int = 8,
    limits: Limits | None = None,
    result_retention: timedelta | None = None,
    kafka_settings: KafkaSettings | None = None,
) -> Container:
    """The container of a process; ``limits``: the defaults of `Limits` unless given (the
    processes pass `limits_from` their settings); ``result_retention``: 7 days unless given
    (the processes pass `result_retention_from` their settings); ``kafka_settings``: plain TCP
    and the default topic settings unless given (the processes pass their ``settings.kafka``)."""
    kafka_settings = kafka_settings or KafkaSettings()
    return Container(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        pool=postgres.make_pool(database_url, max_size=pool_size),
        store=open_event_store(database_url),
        new_producer=functools.partial(kafka.make_producer, kafka_bootstrap, kafka_settings.client),
        clock=clock,
        limits=limits or Limits(),
        result_retention=RESULT_RETENTION if result_retention is None else result_retention,
        guess_encoding=charset.guess_encoding,
        kafka_options=kafka_settings.client,
        kafka_topics=kafka_settings.topics,
    )
