"""The outbox relay seen from a downstream system: a plain kafka-python consumer subscribed to
``leads.events`` and ``lead-import.job-events`` receives the events an import causes, as
documented in docs/events.md ("Subscribing to lead events").

The relay runs as its own worker process (started here, not in the shared ``workers`` fixture);
the importer and lead workers are the shared ones. Other tests share the topics, so everything is
filtered by the fresh OU of each test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from kafka import KafkaConsumer
from starlette.testclient import TestClient

from application.container import Container
from application.envelopes import Outgoing, envelope, event_id
from domain.import_job import ImportJob
from domain.lead import Lead
from tests.helpers import big_csv, import_csv, lead_by, start, upload, wait_for, wait_job
from tests.services import Workers

ENVELOPE = {"id", "type", "schema_version", "ou", "lead_id", "occurred_at", "job_id", "row", "data"}
LEAD_TOPIC = "leads.events"
JOB_TOPIC = "lead-import.job-events"
# The relay first catches up with the events earlier tests stored: allow for that.
DELIVERY_TIMEOUT_S = 180.0


@dataclass
class Received:
    """A message as the subscriber got it."""

    topic: str
    key: str
    body: dict[str, Any]
    at: float  # time.time() when poll() returned it


@dataclass
class Subscriber:
    """What a downstream system would write: its own group, from the earliest offset, JSON."""

    consumer: KafkaConsumer
    messages: list[Received] = field(default_factory=list)

    def pump(self) -> None:
        polled = self.consumer.poll(timeout_ms=200, max_records=5000)
        now = time.time()
        for records in polled.values():
            for r in records:
                if r.value is None:  # the tombstone after a LeadErased (docs/events.md, "Erasure")
                    continue
                body = json.loads(r.value)
                self.messages.append(Received(r.topic, r.key.decode(), body, now))

    def of_ou(self, topic: str, ou: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic and m.body["ou"] == ou]

    def wait(
        self, done: Callable[[], bool], what: str, timeout: float = DELIVERY_TIMEOUT_S
    ) -> None:
        def probe() -> bool:
            self.pump()
            return done()

        wait_for(probe, timeout, what)


@dataclass
class Relays:
    workers: Workers
    started: int = 0

    def start(self) -> str:
        self.started += 1
        name = f"relay-{self.started}"
        self.workers.start(name, "relay")
        return name

    def log(self, name: str) -> str:
        return (self.workers.log_dir / f"{name}.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def relays(
    database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relays]:
    """One relay process for the module (the kill test replaces it)."""
    relays = Relays(Workers(database_url, kafka_bootstrap, tmp_path_factory.mktemp("relay")))
    relays.start()
    yield relays
    relays.workers.stop_all()


@pytest.fixture(scope="module")
def subscriber(kafka_bootstrap: str, relays: Relays) -> Iterator[Subscriber]:
    consumer = KafkaConsumer(
        LEAD_TOPIC,
        JOB_TOPIC,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"downstream-crm-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
    )
    yield Subscriber(consumer)
    consumer.close()


def stored_lead_events(container: Container, ou: str) -> list[dict[str, Any]]:
    """The event store's lead events of the OU's leads, in log order."""
    with container.pool.connection() as conn:
        rows: list[dict[str, Any]] = conn.execute(
            "SELECT e.originator_id, e.originator_version, e.topic FROM leadimport_events e"
            " JOIN leads_view v ON v.lead_id = e.originator_id"
            " WHERE v.ou = %s ORDER BY e.notification_id",
            (ou,),
        ).fetchall()
    return rows


def versions_by_id(stored: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    return {
        event_id(r["originator_id"], r["originator_version"]): (
            str(r["originator_id"]),
            r["originator_version"],
        )
        for r in stored
    }


def first_occurrences(messages: list[Received]) -> list[Received]:
    """What a subscriber that drops duplicate ids keeps."""
    seen: set[str] = set()
    kept = []
    for m in messages:
        if m.body["id"] not in seen:
            seen.add(m.body["id"])
            kept.append(m)
    return kept


def assert_per_lead_order(messages: list[Received], versions: dict[str, tuple[str, int]]) -> None:
    by_lead: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        lead_id, version = versions[m.body["id"]]
        assert m.body["lead_id"] == lead_id == m.key
        by_lead[lead_id].append(version)
    for lead_id, seen in by_lead.items():
        assert seen == sorted(seen), f"lead {lead_id}: versions arrived as {seen}"


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


SMALL_CSV = (
    "Email,First Name,Company,Phone\n"
    "ann@example.com,Ann,Acme,\n"  # row 2: creates Ann
    "bob@example.com,Bob,Beta,+1 415 555 2671\n"  # row 3: creates Bob with a phone alias
    "ANN@example.com,,Acme Two,+1 415 555 2672\n"  # row 4: updates Ann's company, adds a phone
    "cy@example.com,Cy,,\n"  # row 5: creates Cy
    "bob@example.com,Bobby,,\n"  # row 6: updates Bob's first name
    "not-an-email,X,,\n"  # row 7: fails, no event
)
# LeadCreated version 2 added how the lead came in; every lead of an import came from a CSV row.
CREATED_EXTRA = (
    {"source": "csv"} if "source" in {f.name for f in dataclasses.fields(Lead.LeadCreated)} else {}
)


def schema_version(event_type: str) -> int:
    """The documented ``schema_version``: the event class's version (1 when it has none)."""
    cls = getattr(Lead, event_type, None) or getattr(ImportJob, event_type)
    return getattr(cls, "class_version", None) or 1


MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Company": "company"},
    "alias_mappings": {"Phone": "_alias_phone"},
}


def test_subscriber_receives_exactly_the_lead_events_of_an_import(
    client: TestClient,
    container: Container,
    workers: Workers,
    subscriber: Subscriber,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    ou = new_ou()
    auth = make_auth(ou)
    job = import_csv(client, auth, SMALL_CSV, **MAPPINGS)
    assert (job["created_count"], job["updated_count"], job["failed_count"]) == (3, 2, 1)
    stored = stored_lead_events(container, ou)
    versions = versions_by_id(stored)
    assert len(stored) == 6  # 3 created, 2 profile updates, 1 alias added

    subscriber.wait(
        lambda: len(subscriber.of_ou(LEAD_TOPIC, ou)) >= len(stored), f"the lead events of {ou}"
    )
    got = subscriber.of_ou(LEAD_TOPIC, ou)
    assert len(got) == len(stored)
    assert len({m.body["id"] for m in got}) == len(got), "a duplicate id without a relay crash"
    assert {m.body["id"] for m in got} == set(versions)
    assert_per_lead_order(got, versions)
    for m in got:
        assert set(m.body) == ENVELOPE
        assert m.body["schema_version"] == schema_version(m.body["type"])
        assert m.body["job_id"] == job["job_id"]
        assert isinstance(m.body["row"], int)
        assert isinstance(m.body["data"], dict)
        parse_time(m.body["occurred_at"])

    [ann] = lead_by(client, auth, email="ann@example.com")
    [bob] = lead_by(client, auth, email="bob@example.com")
    [cy] = lead_by(client, auth, email="cy@example.com")

    def story(lead_id: str) -> list[tuple[str, int | None, dict[str, Any]]]:
        return [(m.body["type"], m.body["row"], m.body["data"]) for m in got if m.key == lead_id]

    [ann_phone] = ann["identifiers"]["phone"]
    assert story(ann["lead_id"]) == [
        (
            "LeadCreated",
            2,
            {
                "primary": {"kind": "email", "value": "ann@example.com"},
                "fields": {"first_name": "Ann", "company": "Acme"},
                "aliases": [],
                **CREATED_EXTRA,
            },
        ),
        ("LeadProfileUpdated", 4, {"changed": {"company": "Acme Two"}}),
        ("LeadAliasAdded", 4, {"alias": {"kind": "phone", "value": ann_phone}}),
    ]
    [bob_phone] = bob["identifiers"]["phone"]
    assert story(bob["lead_id"]) == [
        (
            "LeadCreated",
            3,
            {
                "primary": {"kind": "email", "value": "bob@example.com"},
                "fields": {"first_name": "Bob", "company": "Beta"},
                "aliases": [{"kind": "phone", "value": bob_phone}],
                **CREATED_EXTRA,
            },
        ),
        ("LeadProfileUpdated", 6, {"changed": {"first_name": "Bobby"}}),
    ]
    assert [t for t, _, _ in story(cy["lead_id"])] == ["LeadCreated"]


def test_job_completed_is_published_on_job_events(
    client: TestClient,
    workers: Workers,
    subscriber: Subscriber,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    ou = new_ou()
    job = import_csv(client, make_auth(ou), "Email\na@example.com\n")
    assert job["status"] == "completed"

    subscriber.wait(lambda: bool(subscriber.of_ou(JOB_TOPIC, ou)), f"JobCompleted of {ou}")
    [m] = subscriber.of_ou(JOB_TOPIC, ou)
    assert m.key == job["job_id"]
    assert set(m.body) == ENVELOPE
    assert m.body["type"] == "JobCompleted"
    assert m.body["job_id"] == job["job_id"]
    assert m.body["lead_id"] is None
    assert m.body["row"] is None
    assert m.body["data"] == {}
    parse_time(m.body["occurred_at"])


HOSTILE_HEADER_CSV = (
    "Email,_type_,_data_,class_version,__proto__\n"
    "eve@example.com,datetime_iso,2026-01-01,2,x\n"
    "mal@example.com,Mal,Corp,,y\n"
)


def test_header_names_that_look_like_stored_structure_stop_nothing(
    client: TestClient,
    workers: Workers,
    subscriber: Subscriber,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    """Columns named like the event store's tags and keys, mapped to profile fields: the job
    completes, its leads hold the values, it can be undone, and the relay goes on publishing
    lead events of every OU (once, such a header stopped it for everybody)."""
    ou, other = new_ou(), new_ou()
    auth = make_auth(ou)
    # Exactly the two keys of a stored tag: {"_type_": ..., "_data_": ...}
    fields = {"_type_": "first_name", "_data_": "company"}
    aliases = {"class_version": "_alias_external_id", "__proto__": "_alias_cookie"}
    job = import_csv(
        client, auth, HOSTILE_HEADER_CSV, field_mappings=fields, alias_mappings=aliases
    )
    assert (job["status"], job["created_count"], job["failed_count"]) == ("completed", 2, 0)
    assert (job["field_mappings"], job["alias_mappings"]) == (fields, aliases)
    [eve] = lead_by(client, auth, email="eve@example.com")
    assert eve["fields"] == {"first_name": "datetime_iso", "company": "2026-01-01"}
    assert eve["identifiers"]["external_id"] == ["2"]
    assert eve["identifiers"]["cookie"] == ["x"]
    later = import_csv(client, make_auth(other), "Email\nzed@example.com\n")
    assert later["status"] == "completed"
    subscriber.wait(
        lambda: (
            len(subscriber.of_ou(LEAD_TOPIC, ou)) == 2
            and len(subscriber.of_ou(LEAD_TOPIC, other)) == 1
        ),
        "the lead events of both OUs",
    )
    created = {m.body["data"]["primary"]["value"]: m for m in subscriber.of_ou(LEAD_TOPIC, ou)}
    assert created["eve@example.com"].body["data"]["fields"] == eve["fields"]
    undo = client.post(f"/leads/import/jobs/{job['job_id']}/undo", headers=auth)
    assert undo.status_code == 202, undo.text
    wait_for(
        lambda: (
            client.get(f"/leads/import/jobs/{job['job_id']}", headers=auth).json()["status"]
            == "undone"
        ),
        60,
        "the undo",
    )
    assert lead_by(client, auth, email="eve@example.com") == []


def test_relay_killed_mid_import_loses_nothing(
    client: TestClient,
    container: Container,
    workers: Workers,
    relays: Relays,
    subscriber: Subscriber,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    ou = new_ou()
    auth = make_auth(ou)
    running = f"relay-{relays.started}"
    # A second relay started now waits for the lock the running one holds.
    standby = relays.start()
    wait_for(lambda: "waiting" in relays.log(standby), 30, f"{standby} to wait for the lock")

    job_id = start(
        client,
        auth,
        upload(client, auth, big_csv(5000, seed=7, prefix="user"))["file_id"],
        field_mappings={"First Name": "first_name"},
        alias_mappings={"Phone": "_alias_phone"},
    )["job_id"]
    subscriber.wait(lambda: bool(subscriber.of_ou(LEAD_TOPIC, ou)), f"first events of {ou}")
    relays.workers.kill(running)  # SIGKILL: no flush, no position update
    seen_at_kill = len(subscriber.of_ou(LEAD_TOPIC, ou))
    status_at_kill = client.get(f"/leads/import/jobs/{job_id}", headers=auth).json()["status"]
    wait_for(lambda: "relay lock taken" in relays.log(standby), 30, f"{standby} to take over")

    assert wait_job(client, auth, job_id)["status"] == "completed"
    stored = stored_lead_events(container, ou)
    versions = versions_by_id(stored)
    subscriber.wait(
        lambda: {m.body["id"] for m in subscriber.of_ou(LEAD_TOPIC, ou)} >= set(versions),
        f"every lead event of {ou}",
    )
    got = subscriber.of_ou(LEAD_TOPIC, ou)
    kept = first_occurrences(got)
    assert {m.body["id"] for m in kept} == set(versions)
    assert len(kept) == len(stored)
    assert_per_lead_order(kept, versions)
    print(
        f"\nrelay killed after {seen_at_kill} of {len(stored)} events reached the subscriber"
        f" (job {status_at_kill}); {len(got) - len(kept)} duplicates republished"
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("LEADIMPORT_MEASURE_RELAY_LAG"),
    reason="a measurement, not a check: set LEADIMPORT_MEASURE_RELAY_LAG=1 to run it",
)
def test_measure_relay_lag_under_a_100k_row_import(
    client: TestClient,
    container: Container,
    workers: Workers,
    subscriber: Subscriber,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    rows = int(os.environ.get("LEADIMPORT_MEASURE_RELAY_ROWS", "100000"))
    ou = new_ou()
    auth = make_auth(ou)
    content = big_csv(rows, seed=11, prefix="user")

    # Drain what earlier tests left, so the figures are about this import only.
    def drained() -> bool:
        before = len(subscriber.messages)
        subscriber.pump()
        return len(subscriber.messages) == before

    wait_for(drained, DELIVERY_TIMEOUT_S, "the backlog of earlier tests to drain")
    subscriber.messages.clear()
    # The subscriber polls in its own thread while the test waits for the job, so the receipt
    # times are the relay's, not the test's (only that thread touches the consumer meanwhile).
    stop = threading.Event()

    def pump_until_stopped() -> None:
        while not stop.is_set():
            subscriber.pump()

    pumping = threading.Thread(target=pump_until_stopped, daemon=True)
    pumping.start()
    try:
        started = time.time()
        job_id = start(
            client,
            auth,
            upload(client, auth, content)["file_id"],
            field_mappings={"First Name": "first_name"},
            alias_mappings={"Phone": "_alias_phone"},
        )["job_id"]
        assert wait_job(client, auth, job_id, timeout=900)["status"] == "completed"
        imported = time.time()
        expected = len(stored_lead_events(container, ou))
        wait_for(lambda: len(subscriber.of_ou(LEAD_TOPIC, ou)) >= expected, 600, "every lead event")
    finally:
        stop.set()
        pumping.join(10)
    got = subscriber.of_ou(LEAD_TOPIC, ou)
    lags = [m.at - parse_time(m.body["occurred_at"]).timestamp() for m in got]
    last = max(m.at for m in got)
    print(
        f"\n{rows} rows, {expected} lead events: import {imported - started:.1f} s,"
        f" last event received {last - started:.1f} s after start;"
        f" lag occurred_at -> received: median {statistics.median(lags) * 1000:.0f} ms,"
        f" p95 {statistics.quantiles(lags, n=20)[-1] * 1000:.0f} ms,"
        f" max {max(lags) * 1000:.0f} ms"
    )


def test_envelope_of_each_kind_of_event_without_services() -> None:
    """The mapping itself: envelope fields, ``data`` without them, which events are published."""
    lead = Lead(
        ou="ou-x",
        primary={"kind": "email", "value": "a@example.com"},
        fields={"first_name": "A"},
        aliases=[],
        job_id="job_1",
        row=2,
    )
    lead.update_profile(changed={"first_name": "B"}, job_id="job_2", row=7)
    lead.delete(undo_of_job="job_1")
    created, updated, deleted = lead.collect_events()
    out = envelope(updated, "ou-x")
    assert out is not None
    assert (out.topic, out.key) == (LEAD_TOPIC, str(lead.id).encode())
    body = json.loads(out.value)
    assert body == {
        "id": event_id(lead.id, 2),
        "type": "LeadProfileUpdated",
        "schema_version": 1,
        "ou": "ou-x",
        "lead_id": str(lead.id),
        "occurred_at": body["occurred_at"],
        "job_id": "job_2",
        "row": 7,
        "data": {"changed": {"first_name": "B"}},
    }
    assert parse_time(body["occurred_at"]) == updated.timestamp
    deleted_body = json.loads(_value(envelope(deleted, "ou-x")))
    assert (deleted_body["type"], deleted_body["row"], deleted_body["data"]) == (
        "LeadDeleted",
        None,
        {"undo": True},
    )
    assert event_id(lead.id, 1) == json.loads(_value(envelope(created, "ou-x")))["id"]

    job = ImportJob(
        ou="ou-x",
        file_id="f",
        file_name="leads.csv",
        total_rows=1,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    job.start()
    job.record_rows_published(1)
    job.fail("gone")
    queued, started, published, failed = job.collect_events()
    assert [envelope(e, "ou-x") for e in (queued, started, published)] == [None, None, None]
    out = envelope(failed, "ou-x")
    assert out is not None
    assert (out.topic, out.key) == (JOB_TOPIC, job.job_id.encode())
    body = json.loads(out.value)
    assert (body["type"], body["job_id"], body["lead_id"], body["row"], body["data"]) == (
        "JobFailed",
        job.job_id,
        None,
        None,
        {"reason": "gone"},
    )


def _value(out: Outgoing | None) -> bytes:
    assert out is not None
    return out.value
