"""``GET /metrics``: the Prometheus text format (prometheus-client), every metric documented in
docs/operations.md ("Metrics").

Each app has a registry of its own: the HTTP metrics of ``api.middleware`` (requests by method,
route template and status, and their latency), the process metrics, and ``ServiceCollector``,
which reads at scrape time what the whole service holds: jobs by status, rows by outcome, dead
letters and the relay's lag from PostgreSQL (``application.metrics``; single-flight, a reading
reused for ``max_age_s``, 1 s by default), the consumer lag per group
and partition from the broker (``adapters.kafka_lag``, cached for a few seconds). A source that
does not answer is reported by ``leadimport_metrics_source_up`` = 0 and its metrics are left
out; the scrape itself still answers 200.

No label carries user data: routes are templates (an unmatched path is ``unmatched``), methods a
fixed set, and nothing is labelled by OU (every figure sums all OUs).

Public like ``/healthz``: no bearer token (Prometheus scrapes it, typically on an internal
network); it shows no tenant's data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from adapters.kafka_lag import LagReader
from application.container import Container
from application.metrics import StoreMetrics, read_store_metrics

log = logging.getLogger(__name__)

# Seconds; from a cached lookup to a large upload or download.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HttpMetrics:
    """Requests by method, route template and status, and their latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter(
            "leadimport_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels,
            registry=registry,
        )
        self.latency = Histogram(
            "leadimport_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer (a streamed file: its "
            "last byte), by method, route template and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        status_label = str(status)
        self.requests.labels(method, route, status_label).inc()
        self.latency.labels(method, route, status_label).observe(seconds)


# Seconds a database reading is reused by the next scrapes (see ``ServiceCollector``).
MAX_AGE_S = 1.0


class ServiceCollector(Collector):
    """The service's state, read from PostgreSQL and the broker at scrape time.

    ``/metrics`` is public, so a flood of scrapes must not starve the API of pool connections:
    the database figures are read single-flight (one reading at a time; a scrape arriving during
    a reading waits for it and takes its result) and a reading, failed or not, younger than
    ``max_age_s`` seconds is reused."""

    def __init__(self, c: Container, lag: LagReader, max_age_s: float = MAX_AGE_S) -> None:
        self.c = c
        self.lag = lag
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._store_reading: StoreMetrics | None = None  # None: the last reading failed
        self._store_at = -float("inf")

    def _read_store(self) -> StoreMetrics | None:
        with self._lock:
            if time.monotonic() - self._store_at >= self.max_age_s:
                try:
                    self._store_reading = read_store_metrics(self.c)
                except Exception as e:  # the database is away or slow: report that, not a 500
                    log.warning("metrics: PostgreSQL did not answer: %s", e)
                    self._store_reading = None
                self._store_at = time.monotonic()
            return self._store_reading

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "leadimport_metrics_source_up",
            "1 when the source answered this scrape, 0 when its metrics are left out.",
            labels=["source"],
        )
        yield from self._store(up)
        yield from self._lag(up)
        yield up

    def _store(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        m = self._read_store()
        if m is None:
            up.add_metric(["postgres"], 0)
            return
        up.add_metric(["postgres"], 1)
        jobs = GaugeMetricFamily(
            "leadimport_jobs", "Import jobs by status (all OUs).", labels=["status"]
        )
        for status, n in m.jobs.items():
            jobs.add_metric([status], n)
        rows = CounterMetricFamily(
            "leadimport_rows",
            "Rows applied by the lead workers, by outcome, over all jobs (dry runs included).",
            labels=["outcome"],
        )
        for outcome, n in m.rows.items():
            rows.add_metric([outcome], n)
        waiting = GaugeMetricFamily(
            "leadimport_dead_letters",
            "Dead letters not retried yet, by the worker that parked them.",
            labels=["worker"],
        )
        parked = CounterMetricFamily(
            "leadimport_dead_letters_parked",
            "Dead letters ever parked, by the worker that parked them.",
            labels=["worker"],
        )
        for worker, n in m.dead_letters_waiting.items():
            waiting.add_metric([worker], n)
            parked.add_metric([worker], m.dead_letters_parked[worker])
        yield from (jobs, rows, waiting, parked)
        yield GaugeMetricFamily(
            "leadimport_relay_lag_events",
            "Events stored but not yet published by the relay (notification ids after its "
            "position: an upper bound).",
            value=m.relay_lag,
        )
        yield GaugeMetricFamily(
            "leadimport_relay_position",
            "The last notification id of the event store the relay published.",
            value=m.relay_position,
        )
        yield GaugeMetricFamily(
            "leadimport_event_store_last_notification_id",
            "The last notification id of the event store.",
            value=m.last_notification_id,
        )

    def _lag(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        reading = self.lag.read()
        up.add_metric(["kafka"], 1 if reading.ok else 0)
        if not reading.ok:
            return
        lag = GaugeMetricFamily(
            "leadimport_consumer_lag_records",
            "Records of a partition its consumer group has not committed yet.",
            labels=["group", "topic", "partition"],
        )
        for p in reading.partitions:
            lag.add_metric([p.group, p.topic, str(p.partition)], p.lag)
        yield lag


def make_registry(
    c: Container,
    consumer_groups: Mapping[str, Sequence[str]],
    *,
    max_age_s: float = MAX_AGE_S,
) -> tuple[CollectorRegistry, HttpMetrics]:
    """The app's registry and its HTTP metrics; ``consumer_groups``: ``{group: [topic, ...]}``
    whose lag is reported; ``max_age_s``: how long a database reading is reused (0: a fresh
    reading at each scrape, still one at a time)."""
    # No ``*_created`` series beside each counter (a process-wide switch).
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    http = HttpMetrics(registry)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    lag = LagReader(c.kafka_bootstrap, consumer_groups, c.kafka_options.config())
    registry.register(ServiceCollector(c, lag, max_age_s))
    return registry, http


async def serve(request: Request) -> Response:
    """``GET /metrics``: public, no token needed."""
    registry: CollectorRegistry = request.app.state.metrics
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
