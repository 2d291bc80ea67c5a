"""What the fault-injection tests share: a stack each test owns, a reproducible lead file, and
the invariants every fault must leave intact.

Every test runs its own PostgreSQL (embedded, in its tmp folder), its own broker and its own
worker processes, so a fault touches nothing else and the event store holds only the test's
events (the relay then publishes exactly them).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool
from kafka import KafkaConsumer
from kafka.structs import TopicPartition
from starlette.testclient import TestClient

from adapters.embedded import EmbeddedKafka, EmbeddedPostgres
from adapters.kafka import TOPIC_LEAD_EVENTS
from application.container import Container
from application.envelopes import event_id
from domain.import_job import job_uuid
from tests.helpers import start, upload, wait_for
from tests.services import Workers

# One seed drives every random choice of the suite (the files and the kill points); set
# LEADIMPORT_FAULT_SEED to replay another run. Tests print the seed and the points they chose.
SEED = int(os.environ.get("LEADIMPORT_FAULT_SEED", "20261126"))
STALL_TIMEOUT_S = 5  # LEADIMPORT_STALL_TIMEOUT_S of the workers: re-drives come quickly
JOB_TIMEOUT_S = 240.0
RELAY_TIMEOUT_S = 120.0
MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Company": "company"},
    "alias_mappings": {"Phone": "_alias_phone"},
}


@dataclass(frozen=True)
class LeadFile:
    """A generated CSV and what importing it must give."""

    content: str
    rows: int
    leads: int  # distinct valid primary identifiers: the leads the file creates
    invalid: int  # rows whose e-mail is invalid (they fail)


def lead_file(rows: int, seed: int, name: str = "user") -> LeadFile:
    """About 20 % of rows update an earlier lead (written in another case: identifiers are
    normalized), 2 % have an invalid e-mail, every third row has a phone alias (phones repeat,
    so some aliases already belong to another lead and become warnings). Files with different
    ``name``s share no e-mail."""
    rnd = random.Random(seed)
    lines = ["Email,First Name,Company,Phone"]
    emails: list[str] = []
    for i in range(rows):
        draw = rnd.random()
        if i > 10 and draw < 0.2:
            email = f"{name.title()}{rnd.randrange(i)}@Example.com"
        elif draw < 0.22:
            email = f"broken-{i}"
        else:
            email = f"{name}{i}@example.com"
        phone = f"+1 415 555 {i % 5000:04d}" if i % 3 == 0 else ""
        emails.append(email)
        lines.append(f"{email},Name{i},Company {i % 97},{phone}")
    valid = [e.lower() for e in emails if "@" in e]
    return LeadFile(
        content="\n".join(lines) + "\n",
        rows=rows,
        leads=len(set(valid)),
        invalid=rows - len(valid),
    )


@dataclass
class FaultStack:
    pg: EmbeddedPostgres
    broker: EmbeddedKafka
    container: Container
    client: TestClient
    workers: Workers
    headers: dict[str, str]
    ou: str
    log_dir: Path

    @property
    def bootstrap(self) -> str:
        return self.container.kafka_bootstrap

    def start_job(self, f: LeadFile) -> str:
        file_id = upload(self.client, self.headers, f.content)["file_id"]
        job_id: str = start(self.client, self.headers, file_id, **MAPPINGS)["job_id"]
        return job_id

    def query(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[dict[str, Any]] | None:
        """Rows of a query, or None while the database is unavailable (a restart)."""
        try:
            with self.container.pool.connection(timeout=5) as conn:
                rows: list[dict[str, Any]] = conn.execute(sql, params).fetchall()
                return rows
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            return None

    def done_rows(self, job_id: str) -> int | None:
        """Rows of the job with an outcome (the job's counters), None if unknown right now."""
        rows = self.query(
            "SELECT created_count + updated_count + failed_count AS n FROM import_jobs"
            " WHERE job_id = %s",
            (job_id,),
        )
        return int(rows[0]["n"]) if rows else None

    def wait_done_rows(self, job_id: str, at_least: int, timeout: float = JOB_TIMEOUT_S) -> int:
        def probe() -> int | None:
            n = self.done_rows(job_id)
            return n if n is not None and n >= at_least else None

        return wait_for(probe, timeout, f"{at_least} rows of job {job_id} to have an outcome")

    def wait_job_closed(self, job_id: str, timeout: float = JOB_TIMEOUT_S) -> str:
        def probe() -> str | None:
            rows = self.query("SELECT status FROM import_jobs WHERE job_id = %s", (job_id,))
            status = str(rows[0]["status"]) if rows else None
            return status if status not in (None, "queued", "in_progress") else None

        try:
            return wait_for(probe, timeout, f"job {job_id} to finish")
        except AssertionError as e:
            raise AssertionError(f"{e}; done rows: {self.done_rows(job_id)}\n{self.logs()}") from e

    def rows_published(self, job_id: str) -> bool:
        """The importer read the whole file once (its JobRowsPublished event is stored)."""
        rows = self.query(
            "SELECT count(*) AS n FROM leadimport_events WHERE originator_id = %s"
            " AND topic LIKE %s",
            (job_uuid(job_id), "%JobRowsPublished"),
        )
        return bool(rows and rows[0]["n"])

    def logs(self, tail: int = 30) -> str:
        out = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {path.name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(out)

    def log_of(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")


# --- the invariants -------------------------------------------------------------------------


def one(s: FaultStack, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
    rows = s.query(sql, params)
    assert rows is not None, "the database is unavailable"
    return rows[0]


def assert_exact(s: FaultStack, job_id: str, f: LeadFile) -> None:
    """The job is exact and so are the OU's leads, which all come from this one file."""
    assert_job_exact(s, job_id, f)
    assert_leads_exact(s, f.leads)


def assert_job_exact(s: FaultStack, job_id: str, f: LeadFile) -> None:
    """Completed, every row counted exactly once, one lead created per valid primary."""
    job = s.client.get(f"/leads/import/jobs/{job_id}", headers=s.headers).json()
    assert job["status"] == "completed", job
    assert job["total_rows"] == f.rows
    counted = job["created_count"] + job["updated_count"] + job["failed_count"]
    assert counted == f.rows, job
    assert job["created_count"] == f.leads, job
    assert job["failed_count"] == f.invalid, job
    outcomes = one(
        s,
        "SELECT count(*) AS n, count(DISTINCT row) AS d, min(row) AS lo, max(row) AS hi,"
        " count(*) FILTER (WHERE outcome = 'created') AS created FROM row_outcomes"
        " WHERE job_id = %s",
        (job_id,),
    )
    assert outcomes == {"n": f.rows, "d": f.rows, "lo": 2, "hi": f.rows + 1, "created": f.leads}


def assert_leads_exact(s: FaultStack, leads: int) -> None:
    """The OU has ``leads`` leads (its distinct valid primary identifiers), in the read model
    and in the event store; no identifier is on two leads."""
    count = one(s, "SELECT count(*) AS n FROM leads_view WHERE ou = %s", (s.ou,))
    assert count == {"n": leads}, "leads_view must hold one lead per valid primary identifier"
    # The read model: no identifier on two leads.
    shared = s.query(
        "SELECT k.kind, v.value, count(DISTINCT l.lead_id) AS n FROM leads_view l,"
        " jsonb_each(l.identifiers) AS k(kind, vals), jsonb_array_elements_text(k.vals) AS v(value)"
        " WHERE l.ou = %s GROUP BY 1, 2 HAVING count(DISTINCT l.lead_id) > 1 LIMIT 5",
        (s.ou,),
    )
    assert shared == [], f"identifiers on two leads: {shared}"
    # The identifier index agrees with the read model.
    index = one(
        s,
        "SELECT count(*) AS n, count(*) FILTER (WHERE v.lead_id IS NULL) AS orphans"
        " FROM lead_identifiers i LEFT JOIN leads_view v ON v.lead_id = i.lead_id"
        " WHERE i.ou = %s",
        (s.ou,),
    )
    view_identifiers = one(
        s,
        "SELECT count(*) AS n FROM leads_view l, jsonb_each(l.identifiers) AS k(kind, vals),"
        " jsonb_array_elements_text(k.vals) WHERE l.ou = %s",
        (s.ou,),
    )
    assert index == {"n": view_identifiers["n"], "orphans": 0}
    # The event store: one LeadCreated per lead (no lead was created twice and rolled into one
    # read-model row, no lead exists only in the store).
    created = one(
        s,
        "SELECT count(*) AS n, count(DISTINCT originator_id) AS d FROM leadimport_events"
        " WHERE topic LIKE %s AND convert_from(state, 'UTF8')::jsonb ->> 'ou' = %s",
        ("%Lead.LeadCreated", s.ou),
    )
    assert created == {"n": leads, "d": leads}


# --- leads.events ---------------------------------------------------------------------------


def stored_lead_events(s: FaultStack) -> dict[str, int]:
    """Envelope id → notification id of every lead event of the OU's leads in the event store."""
    rows = s.query(
        "SELECT e.originator_id, e.originator_version, e.notification_id FROM leadimport_events e"
        " JOIN leads_view v ON v.lead_id = e.originator_id WHERE v.ou = %s",
        (s.ou,),
    )
    assert rows is not None
    return {
        event_id(r["originator_id"], r["originator_version"]): int(r["notification_id"])
        for r in rows
    }


def wait_relay_caught_up(s: FaultStack, timeout: float = RELAY_TIMEOUT_S) -> None:
    """Until the relay's recorded position covers every stored event (it records a position
    only after the broker acknowledged everything up to it)."""

    def probe() -> bool:
        rows = s.query(
            "SELECT (SELECT coalesce(max(notification_id), 0) FROM leadimport_events) AS last,"
            " (SELECT notification_id FROM relay_position WHERE name = 'leads.events') AS at"
        )
        return bool(rows and rows[0]["at"] is not None and rows[0]["at"] >= rows[0]["last"])

    try:
        wait_for(probe, timeout, "the relay to publish every stored event")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{s.logs()}") from e


def read_topic(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every record of the topic, read from the beginning up to its high watermark."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="fault-test-reader",
    )
    try:
        partitions = wait_for(
            lambda: consumer.partitions_for_topic(topic), 30, f"partitions of {topic}"
        )
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        bodies: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            for records in consumer.poll(timeout_ms=200, max_records=10_000).values():
                bodies.extend(json.loads(r.value) for r in records)
            ends = {tp: consumer.highwater(tp) for tp in tps}
            if all(h is not None and consumer.position(tp) >= h for tp, h in ends.items()):
                return bodies
            assert time.monotonic() < deadline, f"could not read {topic} to its end in {timeout} s"
    finally:
        consumer.close()


@dataclass(frozen=True)
class Relayed:
    stored: dict[str, int]  # envelope id → notification id, from the event store
    seen: Counter[str]  # envelope ids of the OU on leads.events, with how often each came


def relayed_lead_events(s: FaultStack) -> Relayed:
    wait_relay_caught_up(s)
    stored = stored_lead_events(s)
    seen = Counter(
        b["id"] for b in read_topic(s.bootstrap, TOPIC_LEAD_EVENTS) if b.get("ou") == s.ou
    )
    return Relayed(stored, seen)


def assert_lead_events_complete(s: FaultStack) -> Relayed:
    """Every lead event of the OU in the event store is on leads.events (duplicates allowed:
    delivery is at least once, subscribers drop repeated ids), and nothing else of the OU."""
    r = relayed_lead_events(s)
    missing = set(r.stored) - set(r.seen)
    unknown = set(r.seen) - set(r.stored)
    assert not missing, f"{len(missing)} of {len(r.stored)} lead events never reached the topic"
    assert not unknown, f"{len(unknown)} ids on the topic are not events of the store"
    return r


class TopicEnds:
    """How many records a topic holds so far: the sum of its partitions' high watermarks, as a
    reader that keeps fetching from the beginning sees them (``end_offsets`` is wrong on Tansu)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="fault-test-ends",
        )
        partitions = wait_for(
            lambda: self.consumer.partitions_for_topic(topic), 30, f"partitions of {topic}"
        )
        self.tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(self.tps)
        self.consumer.seek_to_beginning(*self.tps)

    def total(self) -> int:
        self.consumer.poll(timeout_ms=50, max_records=100_000)
        return sum(self.consumer.highwater(tp) or 0 for tp in self.tps)

    def close(self) -> None:
        self.consumer.close()


def assert_workers_alive(s: FaultStack) -> None:
    """No worker process exited (the fault was survived, not crash-restarted)."""
    for name, proc in s.workers.procs.items():
        code = proc.poll()
        assert code is None, f"{name} exited with {code}\n{s.log_of(name)[-3000:]}"


REWIND_LOG = "the broker lost its log"  # consumers/loop.py, when a partition's log shrank


def assert_no_rewind(s: FaultStack) -> None:
    """Without a broker restart no consumer may think a log shrank (a false alarm would make it
    read whole partitions again)."""
    for path in sorted(s.log_dir.glob("*.log")):
        assert REWIND_LOG not in path.read_text(errors="replace"), f"{path.name} rewound"
