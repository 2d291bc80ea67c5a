"""No worker crash-loops on one record or event: what it cannot handle is parked as a dead letter,
what belongs to a job is failed with a reason, and everything else goes on.

Against the shared importer and lead workers (and a relay of this module), with a foreign
producer writing to the same topics every other test uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer
from starlette.testclient import TestClient

from adapters.kafka import TOPIC_JOBS, TOPIC_ROWS, make_producer
from application import jobs
from application.container import Container
from consumers import leads as lead_worker
from domain.import_job import ImportJob
from tests.helpers import import_csv, lead_by, run_cli, upload, wait_for
from tests.services import Workers


@pytest.fixture(scope="module")
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = make_producer(kafka_bootstrap)
    yield p
    p.close(timeout=5)


def dead_letters_with(container: Container, marker: str) -> list[dict[str, Any]]:
    """The dead letters whose payload holds ``marker``."""
    with container.pool.connection() as conn:
        rows: list[dict[str, Any]] = conn.execute(
            "SELECT * FROM dead_letters WHERE position(%s::bytea IN payload) > 0 ORDER BY id",
            (marker.encode(),),
        ).fetchall()
    return rows


def test_garbage_and_wrong_shapes_on_every_topic_stop_nothing(
    client: TestClient,
    container: Container,
    workers: Workers,
    producer: KafkaProducer,
    auth: dict[str, str],
) -> None:
    marker = uuid.uuid4().hex
    foreign = {
        TOPIC_ROWS: [
            b"\xff\xfe\x00 not json " + marker.encode(),
            orjson.dumps({"type": "RowImported", "note": marker}),
            orjson.dumps([marker, 1, 2]),
            orjson.dumps({"type": "RowFailed", "job_id": marker, "row": "two"}),
        ],
        TOPIC_JOBS: [
            b"\x00\x01garbage " + marker.encode(),
            orjson.dumps({"job_id": 5, "note": marker}),
            orjson.dumps([marker]),
            orjson.dumps("just a string " + marker),
        ],
    }
    for topic, values in foreign.items():
        for i, value in enumerate(values):
            # Keys spread the records over the partitions the real records use too.
            producer.send(topic, key=f"{marker}-{i}".encode(), value=value)
    producer.flush(timeout=30)

    job = import_csv(client, auth, "Email,First Name\nann@example.com,Ann\nbob@example.com,Bob\n")

    assert (job["status"], job["created_count"], job["failed_count"]) == ("completed", 2, 0)

    def all_parked() -> list[dict[str, Any]] | None:
        found = dead_letters_with(container, marker)
        return found if len(found) == 8 else None

    parked = wait_for(all_parked, 60, "the foreign records to be parked")
    assert sorted((r["worker"], r["topic"]) for r in parked) == sorted(
        [("leads", TOPIC_ROWS)] * 4 + [("importer", TOPIC_JOBS)] * 4
    )
    for letter in parked:
        assert letter["attempts"] == 3 and letter["error"]
        assert letter["kafka_offset"] is not None and letter["first_seen"] <= letter["last_seen"]
    assert {bytes(r["payload"]) for r in parked} == {v for vs in foreign.values() for v in vs}


def test_a_row_of_another_ous_job_is_a_dead_letter_never_applied(
    client: TestClient,
    container: Container,
    workers: Workers,
    producer: KafkaProducer,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    """A record naming a real job of OU A but saying it is of OU B is not applied to either."""
    victim, intruder = new_ou(), new_ou()
    victim_auth = make_auth(victim)
    job = import_csv(client, victim_auth, "Email\nann@example.com\n")
    forged = {
        "type": "RowImported",
        "schema_version": 1,
        "event_id": f"{job['job_id']}:3",
        "ou": intruder,
        "job_id": job["job_id"],
        "row": 3,
        "primary": {"kind": "email", "value": "mallory@example.com"},
        "fields": {"first_name": "Mallory"},
        "aliases": [],
        "warnings": [],
    }
    producer.send(TOPIC_ROWS, key=b"forged", value=orjson.dumps(forged)).get(timeout=30)

    [letter] = wait_for(
        lambda: dead_letters_with(container, intruder), 60, "the forged row to be parked"
    )
    assert letter["worker"] == "leads" and letter["job_id"] == job["job_id"]
    assert "another OU" in letter["error"]
    assert lead_by(client, victim_auth, email="mallory@example.com") == []
    assert lead_by(client, make_auth(intruder), email="mallory@example.com") == []
    after = client.get(f"/leads/import/jobs/{job['job_id']}", headers=victim_auth).json()
    assert (after["created_count"], after["failed_count"]) == (1, 0)


@dataclass
class Record:
    """A Kafka record as the loop hands it to a worker (a value, not a stand-in for Kafka)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def test_a_parked_row_fails_in_its_job_with_a_reason_and_the_job_completes(
    client: TestClient, container: Container, auth: dict[str, str], new_ou: Callable[[], str]
) -> None:
    """The lead worker's park: the dead letter is stored and the row it names fails, saying so
    (here for a job the importer has nothing more to publish for)."""
    ou = new_ou()
    file_id = upload(client, auth, "Email\nann@example.com\n")["file_id"]
    job = ImportJob(
        ou=ou,
        file_id=file_id,
        file_name="leads.csv",
        total_rows=1,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    job.record_rows_published(1)  # no importer publishes it: the row comes from here alone
    jobs.save_job(container, job)
    assert jobs.start_job(container, job, max_running=100)
    value = orjson.dumps(
        {"type": "RowImported", "ou": ou, "job_id": job.job_id, "row": 2, "primary": "?"}
    )
    record = Record(TOPIC_ROWS, 3, 12345, b"k", value)

    lead_worker._park(
        container, record, ValueError("primary: not an identifier"), 3, datetime.now(UTC)
    )

    [letter] = dead_letters_with(container, job.job_id)
    assert (letter["kafka_partition"], letter["kafka_offset"], letter["attempts"]) == (3, 12345, 3)
    assert letter["error"] == "ValueError: primary: not an identifier"
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT status, failed_count FROM import_jobs WHERE job_id = %s", (job.job_id,)
        ).fetchone()
        [error] = conn.execute(
            "SELECT row, error FROM row_outcomes WHERE job_id = %s", (job.job_id,)
        ).fetchall()
    assert row == {"status": "completed", "failed_count": 1}
    assert error["row"] == 2
    assert f"dead letter {letter['id']}" in error["error"]
    assert "leadimport dead-letters list" in error["error"]


def test_operators_list_and_retry_dead_letters(
    container: Container,
    workers: Workers,
    producer: KafkaProducer,
    database_url: str,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    marker = uuid.uuid4().hex
    producer.send(TOPIC_JOBS, key=b"x", value=b"not json " + marker.encode()).get(timeout=30)
    [letter] = wait_for(lambda: dead_letters_with(container, marker), 60, "the record parked")
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LEADIMPORT_DATA_DIR": str(tmp_path),
    }

    listed = run_cli(
        "dead-letters", "list", "--after", str(letter["id"] - 1), "--limit", "1000", env=env
    )
    assert listed.returncode == 0, listed.stderr
    shown = {d["id"]: d for d in orjson.loads(listed.stdout)}
    assert shown[letter["id"]]["topic"] == TOPIC_JOBS
    assert shown[letter["id"]]["worker"] == "importer"

    retried = run_cli("dead-letters", "retry", str(letter["id"]), env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"dead letter {letter['id']}: retried" in retried.stdout
    # The record went back to its topic: the importer parks it again (it is still not JSON).
    wait_for(lambda: len(dead_letters_with(container, marker)) == 2, 60, "the retried record")
    again = run_cli("dead-letters", "retry", str(letter["id"]), env=env)
    assert again.returncode == 1 and "already retried" in again.stderr
    missing = run_cli("dead-letters", "retry", "999999999", env=env)
    assert missing.returncode == 1 and "no dead letter 999999999" in missing.stderr
    listed_after = orjson.loads(
        run_cli("dead-letters", "list", "--after", str(letter["id"] - 1), env=env).stdout
    )
    assert letter["id"] not in {d["id"] for d in listed_after}


@pytest.fixture(scope="module")
def relay(
    database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    relays = Workers(database_url, kafka_bootstrap, tmp_path_factory.mktemp("relay-dl"))
    relays.start("relay", "relay")
    yield relays
    relays.stop_all()


def relay_position(container: Container) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT notification_id FROM relay_position WHERE name = 'leads.events'"
        ).fetchone()
    return int(row["notification_id"]) if row else 0


def test_an_event_the_relay_cannot_read_is_parked_and_the_relay_goes_on(
    client: TestClient,
    container: Container,
    workers: Workers,
    relay: Workers,
    auth: dict[str, str],
) -> None:
    """A stored event whose state is not what its class reads (here: not JSON at all) is tried
    a few times, parked with its notification id, and every event after it is published."""
    bad_id = uuid.uuid4()
    with container.pool.connection() as conn:
        [inserted] = conn.execute(
            "INSERT INTO leadimport_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, 1, 'domain.lead:Lead.LeadCreated', %s) RETURNING notification_id",
            (bad_id, b"\x00 this is no event " + bad_id.hex.encode()),
        ).fetchall()
    try:
        job = import_csv(client, auth, "Email\nzoe@example.com\n")
        assert job["status"] == "completed"
        with container.pool.connection() as conn:
            last = conn.execute(
                "SELECT max(notification_id) AS n FROM leadimport_events"
            ).fetchone()
        wait_for(lambda: relay_position(container) >= last["n"], 120, "the relay to go past it")
        [letter] = dead_letters_with(container, bad_id.hex)
        assert letter["worker"] == "relay"
        assert letter["notification_id"] == inserted["notification_id"]
        assert letter["topic"] == "domain.lead:Lead.LeadCreated"
        assert letter["attempts"] == 3 and "LeadCreated" in letter["error"]
    finally:
        # Replay (another module) rebuilds from every stored event and rightly stops at one it
        # cannot read: this made-up event does not stay.
        with container.pool.connection() as conn:
            conn.execute("DELETE FROM leadimport_events WHERE originator_id = %s", (bad_id,))
