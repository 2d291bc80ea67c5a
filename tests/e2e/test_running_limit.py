"""Per-OU limit of running jobs: more wait as queued and start when a slot frees up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from runtime import bootstrap, kafka
from runtime.embedded import EmbeddedKafka
from runtime.settings import ALL_TOPICS
from tests.helpers import start, upload, wait_for, wait_job
from tests.services import Workers


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Workers]]:
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


def status(client: TestClient, auth: dict[str, str], job_id: str) -> str:
    body: dict[str, Any] = client.get(f"/leads/import/jobs/{job_id}", headers=auth).json()
    return str(body["status"])


def test_second_job_of_an_ou_waits_for_the_first(
    limited: tuple[TestClient, Workers], make_auth: Any, new_ou: Any
) -> None:
    client, workers = limited
    auth, other = make_auth(new_ou()), make_auth(new_ou())
    content = "Email\n" + "".join(f"w{i}@example.com\n" for i in range(100))
    first = start(client, auth, upload(client, auth, content)["file_id"])["job_id"]
    second = start(client, auth, upload(client, auth, content)["file_id"])["job_id"]
    elsewhere = start(client, other, upload(client, other, content)["file_id"])["job_id"]
    # Only the importer runs: started jobs stay in progress, nothing completes yet.
    workers.start("importer", "importer")
    wait_for(lambda: status(client, auth, first) == "in_progress", 60, "the first job to start")
    wait_for(lambda: status(client, other, elsewhere) == "in_progress", 60, "the other OU's job")
    assert status(client, auth, second) == "queued"
    workers.start("leads", "leads")
    assert wait_job(client, auth, first)["status"] == "completed"
    done = wait_job(client, auth, second)
    assert done["status"] == "completed"
    assert done["updated_count"] == 100
