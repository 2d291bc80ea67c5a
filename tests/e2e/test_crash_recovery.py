"""Workers killed with SIGKILL in the middle of a 20,000-row job: nothing lost, nothing twice.

Each test runs its own broker and workers (the shared ones stay untouched) against the suite's
PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters import kafka
from adapters.embedded import EmbeddedKafka
from adapters.kafka import ALL_TOPICS
from adapters.tokens import create_token
from api.app import create_app
from application.container import Container
from runtime import bootstrap
from tests.helpers import start, upload, wait_for, wait_job
from tests.services import Workers

ROWS = 20_000


@dataclass
class Stack:
    container: Container
    client: TestClient
    workers: Workers
    headers: dict[str, str]
    ou: str
    broker: EmbeddedKafka


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    broker = EmbeddedKafka()
    bootstrap_servers = broker.start()
    kafka.create_topics(bootstrap_servers, ALL_TOPICS, partitions=6)
    c = bootstrap.build(database_url, bootstrap_servers)
    workers = Workers(database_url, bootstrap_servers, tmp_path, LEADIMPORT_STALL_TIMEOUT_S="5")
    ou = f"ou-crash-{random.randrange(10**9)}"
    try:
        with TestClient(create_app(c), raise_server_exceptions=False) as client:
            headers = {"Authorization": f"Bearer {create_token(c.pool, ou)}"}
            yield Stack(c, client, workers, headers, ou, broker)
    finally:
        workers.stop_all()
        c.close()
        broker.stop()


def big_csv(rows: int) -> str:
    """About 20 % of rows repeat an earlier e-mail (updates); 1 % are invalid."""
    rnd = random.Random(42)
    lines = ["Email,First Name,Company,Phone"]
    for i in range(rows):
        if i > 10 and rnd.random() < 0.2:
            email = f"user{rnd.randrange(i)}@example.com"
        elif rnd.random() < 0.01:
            email = f"broken-{i}"
        else:
            email = f"user{i}@example.com"
        lines.append(f"{email},Name{i},Company {i % 97},+1 415 555 {i % 10000:04d}")
    return "\n".join(lines) + "\n"


def progress(s: Stack, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = s.client.get(f"/leads/import/jobs/{job_id}", headers=s.headers).json()
    return job


def assert_exact(s: Stack, job: dict[str, Any], content: str) -> None:
    assert job["status"] == "completed"
    assert job["total_rows"] == ROWS
    assert job["created_count"] + job["updated_count"] + job["failed_count"] == ROWS
    emails = [line.split(",")[0] for line in content.splitlines()[1:]]
    valid = {e for e in emails if "@" in e}
    assert job["created_count"] == len(valid)
    assert job["failed_count"] == len(emails) - sum(1 for e in emails if "@" in e)
    with s.container.pool.connection() as conn:
        outcomes = conn.execute(
            "SELECT count(*) AS n, count(DISTINCT row) AS d FROM row_outcomes WHERE job_id = %s",
            (job["job_id"],),
        ).fetchone()
        assert outcomes == {"n": ROWS, "d": ROWS}
        leads = conn.execute(
            "SELECT count(*) AS n FROM leads_view WHERE ou = %s", (s.ou,)
        ).fetchone()
        assert leads == {"n": len(valid)}
        shared = conn.execute(
            "SELECT count(*) AS n FROM (SELECT 1 FROM lead_identifiers WHERE ou = %s"
            " GROUP BY kind, value HAVING count(DISTINCT lead_id) > 1) d",
            (s.ou,),
        ).fetchone()
        assert shared == {"n": 0}


def test_lead_worker_killed_mid_job(stack: Stack) -> None:
    s = stack
    s.workers.start("importer", "importer")
    s.workers.start("leads-a", "leads")
    content = big_csv(ROWS)
    job_id = start(
        s.client,
        s.headers,
        upload(s.client, s.headers, content)["file_id"],
        field_mappings={"First Name": "first_name", "Company": "company"},
        alias_mappings={"Phone": "_alias_phone"},
    )["job_id"]

    def partly_done() -> bool:
        job = progress(s, job_id)
        done = job["created_count"] + job["updated_count"] + job["failed_count"]
        return bool(0 < done < ROWS // 2)

    wait_for(partly_done, 120, "the lead worker to be part way through")
    s.workers.kill("leads-a")
    s.workers.start("leads-b", "leads")
    assert_exact(s, wait_job(s.client, s.headers, job_id, timeout=180), content)


def test_importer_killed_mid_job(stack: Stack) -> None:
    s = stack
    s.workers.start("importer-a", "importer")
    s.workers.start("leads", "leads")
    content = big_csv(ROWS)
    job_id = start(
        s.client,
        s.headers,
        upload(s.client, s.headers, content)["file_id"],
        field_mappings={"First Name": "first_name"},
    )["job_id"]
    wait_for(lambda: progress(s, job_id)["status"] != "queued", 60, "the importer to start")
    s.workers.kill("importer-a")
    s.workers.start("importer-b", "importer")
    assert_exact(s, wait_job(s.client, s.headers, job_id, timeout=180), content)


def test_rows_lost_by_the_broker_are_redriven(stack: Stack) -> None:
    """The broker restarts with memory storage mid-job: its records are gone. The stalled job is
    re-driven from the cached file and completes exactly."""
    s = stack
    s.workers.start("importer", "importer")
    content = big_csv(ROWS)
    job_id = start(s.client, s.headers, upload(s.client, s.headers, content)["file_id"])["job_id"]
    # No lead worker yet: the rows pile up in the broker, then the broker loses them all.
    wait_for(lambda: progress(s, job_id)["status"] == "in_progress", 60, "rows to be published")
    s.workers.stop_all()
    s.broker.restart()
    kafka.create_topics(s.container.kafka_bootstrap, ALL_TOPICS, partitions=6)
    s.workers.start("importer-2", "importer")
    s.workers.start("leads", "leads")
    assert_exact(s, wait_job(s.client, s.headers, job_id, timeout=240), content)
