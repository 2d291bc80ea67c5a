"""The relay's records are CloudEvents in the Kafka protocol binding's binary mode: the
``ce_*`` and ``content-type`` headers carry the event's attributes and the value is the envelope,
unchanged (docs/events.md). Read back with the ``cloudevents`` SDK, an independent parser that
validates the attributes (required ones present, ``time`` RFC 3339 with a zone).

The relay runs as its own worker process (started here); ``GET /metrics`` shows its lag drained
once it caught up."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from application.container import Container
from application.envelopes import JOB_LIFECYCLE, envelope
from domain.import_job import job_uuid
from tests.helpers import import_csv, lead_by, wait_for
from tests.services import Workers

LEAD_TOPIC, JOB_TOPIC = "leads.events", "lead-import.job-events"
DELIVERY_TIMEOUT_S = 180.0  # the relay first publishes what earlier tests stored
CSV = (
    "Email,First Name,Phone\n"
    "ann@example.com,Ann,\n"  # creates Ann
    "bob@example.com,Bob,\n"  # creates Bob
    "ann@example.com,Annie,+1 415 555 2671\n"  # updates Ann's name, adds a phone alias
)
MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name"},
    "alias_mappings": {"Phone": "_alias_phone"},
}


@pytest.fixture(scope="module")
def relay(
    database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    w = Workers(database_url, kafka_bootstrap, tmp_path_factory.mktemp("relay-ce"))
    w.start("relay", "relay")
    yield w
    w.stop_all()


def received_of(consumer: KafkaConsumer, ou: str, want: int) -> list[Any]:
    """The records of ``ou`` on both topics, once there are ``want`` of them."""
    got: list[Any] = []

    def enough() -> bool:
        for records in consumer.poll(timeout_ms=200, max_records=5000).values():
            # (a tombstone, an erasure's null value, belongs to no OU's envelope)
            got.extend(
                r for r in records if r.value is not None and orjson.loads(r.value)["ou"] == ou
            )
        return len(got) >= want

    wait_for(enough, DELIVERY_TIMEOUT_S, f"{want} events of {ou}")
    return got


def expected_values(
    container: Container, ou: str, lead_ids: list[str], job_id: str
) -> dict[str, bytes]:
    """id -> the record value ``envelope`` makes of each published stored event."""
    ids = [uuid.UUID(i) for i in lead_ids] + [job_uuid(job_id)]
    out: dict[str, bytes] = {}
    for events in container.store.load_events(ids).values():
        for event in events:
            shaped = envelope(event, ou)
            if shaped is not None and shaped.value is not None:  # None: an erasure's tombstone
                out[orjson.loads(shaped.value)["id"]] = shaped.value
    return out


def test_each_record_is_a_cloudevent_with_the_envelope_as_its_data(
    client: TestClient,
    container: Container,
    workers: Workers,
    relay: Workers,
    kafka_bootstrap: str,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    consumer = KafkaConsumer(
        LEAD_TOPIC,
        JOB_TOPIC,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"ce-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    ou = f"{new_ou()} / Ünïcode & more"  # any OU: percent-encoded into ce_source
    auth = make_auth(ou)
    job = import_csv(client, auth, CSV, **MAPPINGS)
    assert (job["created_count"], job["updated_count"]) == (2, 1), job
    lead_ids = [
        lead_by(client, auth, email=e)[0]["lead_id"] for e in ("ann@example.com", "bob@example.com")
    ]
    expected = expected_values(container, ou, lead_ids, job["job_id"])
    # 2 LeadCreated, a LeadProfileUpdated and a LeadAliasAdded of Ann, the job's JobCompleted
    assert len(expected) == 5
    try:
        records = received_of(consumer, ou, len(expected))
    finally:
        consumer.close()

    by_id: dict[str, bytes] = {}
    for r in records:
        headers = dict(r.headers)
        assert len(headers) == len(r.headers) == 7, r.headers  # no header twice
        assert set(headers) == {
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_subject",
            "content-type",
        }
        event = from_binary(KafkaMessage(headers, r.key, r.value), JSONFormat())
        body = orjson.loads(r.value)
        by_id[body["id"]] = r.value
        assert event.get_data() == body  # the data is the envelope
        kind = "lead" if r.topic == LEAD_TOPIC else "job"
        subject = body["lead_id"] if r.topic == LEAD_TOPIC else body["job_id"]
        assert (
            event.get_specversion(),
            event.get_id(),
            event.get_source(),
            event.get_type(),
            event.get_subject(),
            event.get_datacontenttype(),
        ) == (
            "1.0",
            body["id"],
            "/leadimport/ou/" + quote(ou, safe=""),
            f"com.leadimport.{kind}.{body['type']}",
            subject,
            "application/json",
        )
        assert r.key.decode() == subject
        assert event.get_time() == datetime.fromisoformat(body["occurred_at"])
        assert (r.topic == JOB_TOPIC) == (body["type"] in JOB_LIFECYCLE)
    # The values are exactly the envelopes, byte for byte.
    assert by_id == expected

    def relay_lag() -> float | None:
        text = client.get("/metrics").text
        for family in text_string_to_metric_families(text):
            if family.name == "leadimport_relay_lag_events":
                return family.samples[0].value
        return None

    wait_for(lambda: relay_lag() == 0, DELIVERY_TIMEOUT_S, "the relay's lag to drain")
