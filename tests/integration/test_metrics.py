"""``GET /metrics``: the Prometheus text format, public, with the figures docs/operations.md
("Metrics") documents, read back with prometheus-client's own parser. Expected values come from
what each test did: the requests it sent, the rows of the file it imported, the records it
produced and committed, the job and dead letter it stored in a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from adapters import kafka
from adapters.embedded import free_port
from api.app import create_app
from application import dead_letters
from application.container import Container
from application.jobs import save_job
from domain.import_job import ImportJob
from runtime import bootstrap
from tests.helpers import import_csv
from tests.services import own_database

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
DOCUMENTED = {  # every family of our own, as docs/operations.md lists them
    "leadimport_http_requests": "counter",
    "leadimport_http_request_duration_seconds": "histogram",
    "leadimport_jobs": "gauge",
    "leadimport_rows": "counter",
    "leadimport_dead_letters": "gauge",
    "leadimport_dead_letters_parked": "counter",
    "leadimport_relay_lag_events": "gauge",
    "leadimport_relay_position": "gauge",
    "leadimport_event_store_last_notification_id": "gauge",
    "leadimport_consumer_lag_records": "gauge",
    "leadimport_metrics_source_up": "gauge",
}


def scrape(client: TestClient) -> tuple[Samples, str]:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, r.text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_public_and_in_the_prometheus_format(client: TestClient) -> None:
    r = client.get("/metrics")  # no token
    assert r.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    ours = {name: f.type for name, f in families.items() if name.startswith("leadimport_")}
    assert ours == DOCUMENTED
    assert all(families[name].documentation for name in ours)
    assert "process_cpu_seconds" in families
    samples, _ = scrape(client)
    assert value(samples, "leadimport_metrics_source_up", source="postgres") == 1
    assert value(samples, "leadimport_metrics_source_up", source="kafka") == 1


def test_requests_by_route_template_and_status(
    client: TestClient, make_auth: Callable[[str], dict[str, str]]
) -> None:
    ou = f"ou-secret-{uuid.uuid4().hex[:8]}"
    auth = make_auth(ou)
    template = "/leads/import/jobs/{job_id}"
    job_ids = [f"job_{uuid.uuid4().hex}" for _ in range(3)]
    stray = f"/nothing-here-{uuid.uuid4().hex}"
    labels_404 = {"method": "GET", "route": template, "status": "404"}
    labels_unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    before, _ = scrape(client)
    for job_id in job_ids:
        assert client.get(f"/leads/import/jobs/{job_id}", headers=auth).status_code == 404
    assert client.get(stray).status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405
    after, text = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("leadimport_http_requests_total", **labels_404) == 3
    assert delta("leadimport_http_request_duration_seconds_count", **labels_404) == 3
    assert delta("leadimport_http_request_duration_seconds_bucket", le="+Inf", **labels_404) == 3
    assert delta("leadimport_http_requests_total", **labels_unmatched) == 1
    other = {"method": "other", "route": "/healthz", "status": "405"}
    assert delta("leadimport_http_requests_total", **other) == 1
    # user data never becomes a label: no path, job id, OU or method of a request
    for data in (*job_ids, stray, ou, "BREW"):
        assert data not in text


def test_jobs_and_rows_by_outcome(client: TestClient, auth: dict[str, str], workers: Any) -> None:
    csv = (
        "Email,First Name\n"
        f"a-{uuid.uuid4().hex}@example.com,A\n"
        f"b-{uuid.uuid4().hex}@example.com,B\n"
        "not-an-email,C\n"
        f"c-{uuid.uuid4().hex}@example.com,D\n"
    )
    first = csv.splitlines()[1]
    csv += first.replace(",A", ",A2") + "\n"  # the same lead again: an update
    before, _ = scrape(client)
    job = import_csv(client, auth, csv)
    assert job["status"] == "completed", job
    after, _ = scrape(client)
    outcomes = {
        o: value(after, "leadimport_rows_total", outcome=o)
        - value(before, "leadimport_rows_total", outcome=o)
        for o in ("created", "updated", "failed", "skipped")
    }
    assert outcomes == {"created": 3, "updated": 1, "failed": 1, "skipped": 0}
    done = "leadimport_jobs"
    assert value(after, done, status="completed") - value(before, done, status="completed") == 1


@pytest.fixture
def fresh(database_url: str, kafka_bootstrap: str) -> Iterator[tuple[TestClient, Container]]:
    """The API over a database of its own (nothing else writes there)."""
    with own_database(database_url, "metrics") as url:
        c = bootstrap.build(url, kafka_bootstrap, pool_size=2)
        try:
            with TestClient(create_app(c, metrics_max_age_s=0)) as client:
                yield client, c
        finally:
            c.close()


def test_a_fresh_database_then_one_job_and_one_dead_letter(
    fresh: tuple[TestClient, Container],
) -> None:
    client, c = fresh
    samples, _ = scrape(client)
    statuses = ("queued", "in_progress", "completed", "failed", "cancelled", "undoing", "undone")
    assert {s: value(samples, "leadimport_jobs", status=s) for s in statuses} == dict.fromkeys(
        statuses, 0
    )
    assert value(samples, "leadimport_relay_lag_events") == 0
    job = ImportJob(
        "ou-metrics", "file_x", "x.csv", 1, {"column": "Email", "kind": "email"}, [], [], [], "US"
    )
    save_job(c, job)  # one event (JobQueued), not yet relayed: no relay runs on this database
    origin = dead_letters.Origin(worker="leads", topic="lead-import.rows", payload=b"?")
    dead_letters.park(c, origin, ValueError("bad"), 3, datetime.now(UTC))
    samples, text = scrape(client)
    assert value(samples, "leadimport_jobs", status="queued") == 1
    assert value(samples, "leadimport_relay_lag_events") == 1
    assert value(samples, "leadimport_relay_position") == 0
    assert value(samples, "leadimport_event_store_last_notification_id") >= 1
    assert value(samples, "leadimport_dead_letters", worker="leads") == 1
    assert value(samples, "leadimport_dead_letters_parked_total", worker="leads") == 1
    assert value(samples, "leadimport_dead_letters", worker="importer") == 0
    assert "ou-metrics" not in text


def test_a_recent_database_reading_is_reused(database_url: str, kafka_bootstrap: str) -> None:
    """Scrapes within ``max_age_s`` of a reading answer that reading (a flood of scrapes does not
    query PostgreSQL each time): a job stored in between shows only in a later reading."""
    with own_database(database_url, "metrics_cache") as url:
        c = bootstrap.build(url, kafka_bootstrap, pool_size=1)
        try:
            with TestClient(create_app(c, metrics_max_age_s=3600)) as client:
                before, _ = scrape(client)
                key = {"column": "Email", "kind": "email"}
                save_job(c, ImportJob("ou-m", "file_y", "y.csv", 1, key, [], [], [], "US"))
                cached, _ = scrape(client)
            with TestClient(create_app(c, metrics_max_age_s=0)) as client:
                fresh_reading, _ = scrape(client)
        finally:
            c.close()
    assert value(before, "leadimport_jobs", status="queued") == 0
    assert value(cached, "leadimport_jobs", status="queued") == 0
    assert value(fresh_reading, "leadimport_jobs", status="queued") == 1


def test_consumer_lag_per_group_and_partition(container: Container, kafka_bootstrap: str) -> None:
    """Records produced in one batch per partition (the embedded broker's ListOffsets answers
    short of the end of such a batch: the lag must not), some committed by a group."""
    topic, group = f"metrics-lag-{uuid.uuid4().hex[:8]}", f"metrics-{uuid.uuid4().hex[:8]}"
    kafka.create_topics(kafka_bootstrap, [topic], 3)
    producer = kafka.make_producer(kafka_bootstrap, linger_ms=50)
    produced = {0: 7, 1: 4, 2: 0}
    for partition, n in produced.items():
        for i in range(n):
            producer.send(topic, value=b"r%d" % i, partition=partition)
    producer.flush()
    producer.close()
    committed = {0: 5, 1: 0}  # partition 2: never committed
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    consumer.commit(
        {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in committed.items()}
    )
    consumer.close()
    with TestClient(create_app(container, consumer_groups={group: [topic]})) as client:
        samples, _ = scrape(client)
    lag = {
        p: value(
            samples, "leadimport_consumer_lag_records", group=group, topic=topic, partition=str(p)
        )
        for p in produced
    }
    assert lag == {0: 7 - 5, 1: 4 - 0, 2: 0}
    assert (
        "leadimport_consumer_lag_records",
        (("group", group), ("partition", "0"), ("topic", topic)),
    ) in samples


def test_a_broker_that_does_not_answer_leaves_out_only_its_metrics(database_url: str) -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    c = bootstrap.build(database_url, dead, pool_size=1)
    try:
        app = create_app(c, consumer_groups={"lead-import-leads": ["lead-import.rows"]})
        with TestClient(app) as client:
            samples, _ = scrape(client)
            again, _ = scrape(client)  # the failed reading is kept a few seconds: no new wait
    finally:
        c.close()
    for s in (samples, again):
        assert value(s, "leadimport_metrics_source_up", source="kafka") == 0
        assert value(s, "leadimport_metrics_source_up", source="postgres") == 1
        assert not [k for k in s if k[0] == "leadimport_consumer_lag_records"]
        assert ("leadimport_jobs", (("status", "completed"),)) in s
