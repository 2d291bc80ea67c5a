"""Per-OU limit of running jobs: more wait as queued and start when a slot frees up."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters import kafka
from adapters import postgres as db
from adapters.embedded import EmbeddedKafka, EmbeddedPostgres
from adapters.kafka import ALL_TOPICS
from adapters.tokens import create_token
from api.app import create_app
from runtime import bootstrap
from tests.helpers import start, upload, wait_for, wait_job
from tests.services import Workers


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[TestClient, Workers]]:
    # Its own database too: the session's importer sweeps every queued job of its database
    # with the default limit and would start the job this test expects to wait.
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="leadimport-limit-")))
    database_url = pg.start()
    db.migrate(database_url)
    broker = EmbeddedKafka()
    servers = broker.start()
    kafka.create_topics(servers, ALL_TOPICS, partitions=6)
    c = bootstrap.build(database_url, servers)
    workers = Workers(database_url, servers, tmp_path, LEADIMPORT_MAX_RUNNING_JOBS_PER_OU="1")
    try:
        with TestClient(create_app(c), raise_server_exceptions=False) as client:
            yield client, workers
    finally:
        workers.stop_all()
        c.close()
        broker.stop()
        pg.stop(mode="immediate")


def status(client: TestClient, auth: dict[str, str], job_id: str) -> str:
    body: dict[str, Any] = client.get(f"/leads/import/jobs/{job_id}", headers=auth).json()
    return str(body["status"])


def test_second_job_of_an_ou_waits_for_the_first(limited: tuple[TestClient, Workers]) -> None:
    client, workers = limited
    c = client.app.state.container  # type: ignore[attr-defined]
    auth, other = (
        {"Authorization": f"Bearer {create_token(c.pool, f'ou-limit-{i}')}"} for i in (1, 2)
    )
    content = "Email\n" + "".join(f"w{i}@example.com\n" for i in range(100))
    first = start(client, auth, upload(client, auth, content)["file_id"])["job_id"]
    second = start(client, auth, upload(client, auth, content)["file_id"])["job_id"]
    elsewhere = start(client, other, upload(client, other, content)["file_id"])["job_id"]
    # Only the importer runs: started jobs stay in progress, nothing completes yet. Job requests
    # are keyed by job id, so either of the OU's two jobs may be the one that starts.
    workers.start("importer", "importer")

    def one_started() -> bool:
        return "in_progress" in (status(client, auth, first), status(client, auth, second))

    wait_for(one_started, 60, "one of the OU's jobs to start")
    wait_for(lambda: status(client, other, elsewhere) == "in_progress", 60, "the other OU's job")
    assert sorted([status(client, auth, first), status(client, auth, second)]) == [
        "in_progress",
        "queued",
    ]
    workers.start("leads", "leads")
    jobs = [wait_job(client, auth, first), wait_job(client, auth, second)]
    assert [j["status"] for j in jobs] == ["completed", "completed"]
    assert sorted(j["created_count"] for j in jobs) == [0, 100]
    assert sorted(j["updated_count"] for j in jobs) == [0, 100]
