"""A queued job says why it waits (``queue``) with the per-OU running limit of the API's own
Container; a running job's ``rows_per_second`` comes from its recent progress samples.

A database of its own on the session's server and no importer: the session's importer would
start the jobs this test needs to stay queued (tests/integration/test_limits.py does the same).
Jobs are started as the importer starts them (``jobs.start_job`` under the limit).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.tokens import create_token
from application import jobs
from application.container import Container, Limits
from domain.progress import RATE_WINDOW_S, Sample
from projections import progress
from tests.helpers import start, upload
from tests.services import app_on, own_database

LIMIT = 2
CSV = "Email\n" + "".join(f"q{i}@example.com\n" for i in range(10))


@pytest.fixture(scope="module")
def quiet_database(database_url: str) -> Iterator[str]:
    """A database of its own on the session's server: no importer starts its jobs."""
    with own_database(database_url, "leadimport_queue") as url:
        yield url


@pytest.fixture
def limited(quiet_database: str, kafka_bootstrap: str) -> Iterator[tuple[TestClient, Container]]:
    with app_on(quiet_database, kafka_bootstrap, Limits(max_running_jobs_per_ou=LIMIT)) as app:
        yield app


def new_auth(c: Container) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(c.pool, f'ou-q-{uuid.uuid4().hex[:8]}')}"}


def detail(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    r = client.get(f"/leads/import/jobs/{job_id}", headers=auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def run(c: Container, job_id: str) -> None:
    """Start the job as the importer does, under the Container's running limit."""
    job = jobs.get_job_aggregate(c, job_id)
    assert job is not None
    assert jobs.start_job(c, job, c.limits.max_running_jobs_per_ou)


def test_queued_jobs_say_why_they_wait(limited: tuple[TestClient, Container]) -> None:
    client, c = limited
    auth, other = new_auth(c), new_auth(c)
    ids = [start(client, auth, upload(client, auth, CSV)["file_id"])["job_id"] for _ in range(4)]
    # Nothing runs yet: the two oldest have a free slot each and are about to start.
    first = detail(client, auth, ids[0])
    assert first["status"] == "queued"
    assert first["queue"]["state"] == "starting"
    assert (first["queue"]["position"], first["queue"]["running"]) == (1, 0)
    assert first["queue"]["limit"] == LIMIT
    assert detail(client, auth, ids[2])["queue"]["state"] == "waiting_for_slot"
    assert (first["processed_rows"], first["percent"], first["rows_per_second"]) == (0, 0, None)
    # Another OU's running job takes none of this OU's slots.
    elsewhere = start(client, other, upload(client, other, CSV)["file_id"])["job_id"]
    run(c, elsewhere)

    run(c, ids[0])
    run(c, ids[1])
    third, fourth = detail(client, auth, ids[2]), detail(client, auth, ids[3])
    assert third["queue"] == {
        "state": "waiting_for_slot",
        "reason": f"The OU already runs 2 jobs, the limit per OU is {LIMIT}: this job starts "
        "when a running job ends.",
        "position": 1,
        "running": 2,
        "limit": LIMIT,
    }
    assert fourth["queue"]["state"] == "waiting_for_slot"
    assert (fourth["queue"]["position"], fourth["queue"]["running"]) == (2, 2)
    assert "1 queued job is ahead" in fourth["queue"]["reason"]
    assert "when 2 running jobs have ended" in fourth["queue"]["reason"]
    running = detail(client, auth, ids[0])
    assert running["status"] == "in_progress" and running["queue"] is None
    # no batch applied yet: no rate, no time left
    assert (running["rows_per_second"], running["eta_seconds"]) == (None, None)

    # One running job ends: the oldest queued one has a free slot.
    assert client.post(f"/leads/import/jobs/{ids[0]}/cancel", headers=auth).status_code == 200
    third, fourth = detail(client, auth, ids[2]), detail(client, auth, ids[3])
    assert third["queue"]["state"] == "starting"
    assert (third["queue"]["position"], third["queue"]["running"]) == (1, 1)
    assert "a slot is free" in third["queue"]["reason"]
    assert fourth["queue"]["state"] == "waiting_for_slot"
    assert fourth["queue"]["position"] == 2
    # The list shows no queue, but the counters' progress.
    listed = client.get("/leads/import/jobs", headers=auth).json()["jobs"]
    assert {(j["processed_rows"], j["percent"]) for j in listed} == {(0, 0)}
    assert all("queue" not in j for j in listed)


def test_the_rate_is_measured_over_the_recent_samples(
    limited: tuple[TestClient, Container],
) -> None:
    """Samples 50 s and 30 s old and one far ahead (never old enough to start the window): the
    rate is measured from the newest sample older than the window, 30 s ago, to now."""
    client, c = limited
    auth = new_auth(c)
    job_id = start(client, auth, upload(client, auth, CSV)["file_id"])["job_id"]
    run(c, job_id)
    with c.pool.connection() as conn:
        now = conn.execute("SELECT clock_timestamp() AS t").fetchone()["t"]
        samples = [(-50, 0), (-30, 2), (3600, 6)]
        for seconds, processed in samples:
            conn.execute(
                "INSERT INTO job_progress (job_id, at, processed) VALUES (%s, %s, %s)",
                (job_id, now + timedelta(seconds=seconds), processed),
            )
        conn.execute(
            "UPDATE import_jobs SET created_count = 5, failed_count = 1 WHERE job_id = %s",
            (job_id,),
        )
        later, before, first = progress.rate_samples(conn.cursor(), job_id)
    assert before == Sample(now - timedelta(seconds=30), 2)
    assert first == Sample(now - timedelta(seconds=50), 0)
    assert later >= now
    job = detail(client, auth, job_id)
    assert (job["processed_rows"], job["percent"]) == (6, 60)
    # 4 rows since the sample of 30 s ago, over at least 30 s (the answer's rounding: 0.1)
    assert 0 < job["rows_per_second"] <= 0.15
    assert job["eta_seconds"] is not None and job["eta_seconds"] > 0
    assert RATE_WINDOW_S < 30
    # Its end deletes the samples.
    assert client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth).status_code == 200
    with c.pool.connection() as conn:
        left = conn.execute(
            "SELECT count(*) AS n FROM job_progress WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert left == {"n": 0}
    assert detail(client, auth, job_id)["rows_per_second"] is None
