"""Previews live one hour: tested with an injected clock, never by sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.embedded import EmbeddedKafka
from adapters.tokens import create_token
from api.app import create_app
from application import jobs, previews
from application.container import Container
from runtime import bootstrap
from tests.helpers import upload
from tests.services import own_database

CSV = "Email,Name\njane@example.com,Jane\njohn@example.com,John\n"


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Clocked:
    container: Container
    client: TestClient
    clock: FakeClock
    headers: dict[str, str]


@pytest.fixture(scope="module")
def idle_broker() -> Iterator[str]:
    """A real broker no importer reads: jobs started against it stay queued, whatever other
    tests' worker processes do on the shared broker."""
    broker = EmbeddedKafka()
    try:
        yield broker.start()
    finally:
        broker.stop()


@pytest.fixture
def clocked(database_url: str, idle_broker: str, new_ou: Callable[[], str]) -> Iterator[Clocked]:
    """The app over the real services with a clock the test moves; a token of a fresh OU."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    # A database of its own too: no importer's sweep (which starts every queued job its OU has
    # a slot for) sees the jobs, so they stay queued.
    with own_database(database_url, "expiry") as url:
        c = bootstrap.build(url, idle_broker, clock=clock, pool_size=2)
        try:
            headers = {"Authorization": f"Bearer {create_token(c.pool, new_ou())}"}
            with TestClient(create_app(c), raise_server_exceptions=False) as client:
                yield Clocked(c, client, clock, headers)
        finally:
            c.close()


def start_request(t: Clocked, file_id: str) -> Any:
    return t.client.post(
        "/leads/import/start",
        headers=t.headers,
        json={"file_id": file_id, "primary_identifier": {"column": "Email", "kind": "email"}},
    )


def stored_file_ids(c: Container, file_ids: list[str]) -> set[str]:
    with c.pool.connection() as conn:
        rows = conn.execute(
            "SELECT file_id FROM preview_files WHERE file_id = ANY(%s)", (file_ids,)
        ).fetchall()
    return {r["file_id"] for r in rows}


def test_expires_at_is_exactly_one_hour_after_upload(clocked: Clocked) -> None:
    uploaded_at = clocked.clock.now
    preview = upload(clocked.client, clocked.headers, CSV)
    assert preview["expires_at"] == (uploaded_at + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.mark.parametrize(
    "age",
    [timedelta(0), timedelta(minutes=59), timedelta(minutes=59, seconds=59)],
    ids=["fresh", "59min", "59min59s"],
)
def test_a_preview_younger_than_an_hour_can_be_started(clocked: Clocked, age: timedelta) -> None:
    file_id = upload(clocked.client, clocked.headers, CSV)["file_id"]
    clocked.clock.advance(age)
    r = start_request(clocked, file_id)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    assert r.json()["total_rows"] == 2


@pytest.mark.parametrize(
    "age",
    [timedelta(hours=1), timedelta(minutes=61), timedelta(days=2)],
    ids=["60min", "61min", "2days"],
)
def test_an_expired_preview_is_404(clocked: Clocked, age: timedelta) -> None:
    file_id = upload(clocked.client, clocked.headers, CSV)["file_id"]
    clocked.clock.advance(age)
    r = start_request(clocked, file_id)
    assert r.status_code == 404, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == "not_found"
    assert "expired" in body["error"]["message"] and "preview" in body["error"]["message"]
    listed = clocked.client.get("/leads/import/jobs", headers=clocked.headers).json()
    assert listed["total"] == 0


def test_purge_deletes_expired_uploads_but_keeps_those_an_open_job_reads(
    clocked: Clocked,
) -> None:
    c, clock = clocked.container, clocked.clock
    abandoned = upload(clocked.client, clocked.headers, CSV)["file_id"]
    in_use = upload(clocked.client, clocked.headers, CSV)["file_id"]
    r = start_request(clocked, in_use)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    clock.advance(timedelta(minutes=30))
    recent = upload(clocked.client, clocked.headers, CSV)["file_id"]
    clock.advance(timedelta(minutes=31))  # abandoned and in_use are 61 min old, recent 31 min

    # The purge is global: it may also delete other tests' older uploads, hence ">=".
    assert previews.purge_expired_files(c) >= 1

    assert stored_file_ids(c, [abandoned, in_use, recent]) == {in_use, recent}
    job = clocked.client.get(f"/leads/import/jobs/{job_id}", headers=clocked.headers).json()
    assert job["status"] == "queued"
    # Kept for its job, the expired upload still cannot start a new one.
    assert start_request(clocked, in_use).status_code == 404
    assert start_request(clocked, abandoned).status_code == 404
    assert start_request(clocked, recent).status_code == 202


def test_purge_deletes_an_upload_once_its_finished_jobs_files_expire(clocked: Clocked) -> None:
    c, clock = clocked.container, clocked.clock
    file_id = upload(clocked.client, clocked.headers, CSV)["file_id"]
    r = start_request(clocked, file_id)
    assert r.status_code == 202, r.text
    job = jobs.get_job_aggregate(c, r.json()["job_id"])
    assert job is not None
    job.fail("stopped by the test")  # no API ends a job; the importer does this in production
    jobs.save_job(c, job)
    failed = clocked.client.get(f"/leads/import/jobs/{job.job_id}", headers=clocked.headers)
    assert failed.json()["status"] == "failed"
    clock.advance(timedelta(minutes=61))

    previews.purge_expired_files(c)
    # Kept for the job's result files (errors.csv) for 7 days after it ended
    # (tests/integration/test_result_retention.py tests the exact bound).
    assert stored_file_ids(c, [file_id]) == {file_id}

    clock.advance(c.result_retention)
    previews.purge_expired_files(c)

    assert stored_file_ids(c, [file_id]) == set()
