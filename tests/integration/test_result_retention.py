"""Result files are kept for the retention period after the job ended, then 410; the upload of a
job is kept as long as them, then purged, while its row outcomes stay. Tested with containers
whose clock the test moves (as tests/integration/test_preview_expiry.py), never by sleeping."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.embedded import EmbeddedKafka
from adapters.tokens import create_token
from api.app import create_app
from application import jobs, previews
from application.container import Container, Limits
from runtime import bootstrap
from tests.helpers import assert_error, import_csv, start, upload, wait_for, wait_job
from tests.services import Workers, own_database

JOBS = "/leads/import/jobs"
CSV = "Email,Name\njane@example.com,Jane\nbroken,Bad\n"
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Clocked:
    """The app over the real services with a clock the test sets."""

    def __init__(self, c: Container, clock: FakeClock) -> None:
        self.container, self.clock = c, clock
        self.client = TestClient(create_app(c), raise_server_exceptions=False)

    def files(self, headers: dict[str, str], job_id: str) -> dict[str, Any]:
        return {
            what: self.client.get(f"{JOBS}/{job_id}/{what}", headers=headers)
            for what in ("errors.csv", "results.csv")
        }


@pytest.fixture
def clocked(database_url: str, kafka_bootstrap: str) -> Iterator[Callable[..., Clocked]]:
    """Makes apps with a moving clock (over the shared broker and database unless others are
    given)."""
    made: list[Clocked] = []

    def make(broker: str = kafka_bootstrap, database: str = database_url, **build: Any) -> Clocked:
        clock = FakeClock(datetime.now().astimezone())
        t = Clocked(bootstrap.build(database, broker, clock=clock, pool_size=2, **build), clock)
        made.append(t)
        return t

    yield make
    for t in made:
        t.client.close()
        t.container.close()


@pytest.fixture(scope="module")
def idle_broker() -> Iterator[str]:
    """A real broker no importer reads: jobs started against it stay queued."""
    broker = EmbeddedKafka()
    try:
        yield broker.start()
    finally:
        broker.stop()


def ended_at(c: Container, job_id: str) -> datetime:
    with c.pool.connection() as conn:
        row = conn.execute(
            "SELECT completed_at FROM import_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert row is not None and row["completed_at"] is not None
    ended: datetime = row["completed_at"]
    return ended


def stored(c: Container, file_id: str) -> bool:
    with c.pool.connection() as conn:
        row = conn.execute("SELECT 1 FROM preview_files WHERE file_id = %s", (file_id,)).fetchone()
    return row is not None


def outcomes(c: Container, job_id: str) -> int:
    with c.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM row_outcomes WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return int(row["n"])


def file_of(c: Container, job_id: str) -> str:
    with c.pool.connection() as conn:
        row = conn.execute(
            "SELECT file_id FROM import_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return str(row["file_id"])


def assert_kept_until(t: Clocked, headers: dict[str, str], job_id: str, until: datetime) -> None:
    """Both files answer 200 and the upload survives the purge up to just before ``until``;
    from ``until`` on both are 410 and the purge deletes the upload, not the row outcomes."""
    c, file_id = t.container, file_of(t.container, job_id)
    rows = outcomes(c, job_id)
    t.clock.now = until - SECOND
    previews.purge_expired_files(c)
    assert stored(c, file_id)
    for what, r in t.files(headers, job_id).items():
        assert r.status_code == 200, (what, r.text)
        assert r.content.startswith(b"\xef\xbb\xbf")

    t.clock.now = until
    for r in t.files(headers, job_id).values():
        message = assert_error(r, 410, "gone")["message"]
        assert job_id in message and "deleted" in message
    previews.purge_expired_files(c)  # global: may delete other tests' old uploads too
    assert not stored(c, file_id)
    assert outcomes(c, job_id) == rows
    detail = t.client.get(f"{JOBS}/{job_id}", headers=headers)
    assert (
        detail.status_code == 200 and detail.json()["errors_total"] == detail.json()["failed_count"]
    )


def test_a_completed_jobs_files_are_kept_for_seven_days(
    client: TestClient, auth: dict[str, str], workers: Workers, clocked: Callable[..., Clocked]
) -> None:
    job = import_csv(client, auth, CSV)
    assert (job["status"], job["failed_count"]) == ("completed", 1)
    t = clocked()
    end = ended_at(t.container, job["job_id"])
    # The preview expired an hour after its upload, but the job's upload is still there.
    t.clock.now = end + timedelta(hours=2)
    previews.purge_expired_files(t.container)
    errors = t.files(auth, job["job_id"])["errors.csv"]
    assert errors.status_code == 200
    assert errors.content.decode("utf-8-sig").splitlines()[1:] == [
        "3,Invalid email format,broken,broken,Bad"
    ]
    message = assert_error(
        t.client.post(
            "/leads/import/start",
            headers=auth,
            json={
                "file_id": file_of(t.container, job["job_id"]),
                "primary_identifier": {"column": "Email", "kind": "email"},
            },
        ),
        404,
    )["message"]
    assert "expired" in message  # kept for its job's files, it is no preview any more
    assert_kept_until(t, auth, job["job_id"], end + WEEK)
    assert "7 days" in t.files(auth, job["job_id"])["results.csv"].json()["error"]["message"]


def test_the_retention_comes_from_the_container(
    client: TestClient, auth: dict[str, str], workers: Workers, clocked: Callable[..., Clocked]
) -> None:
    job = import_csv(client, auth, CSV)
    t = clocked(result_retention=timedelta(days=1))
    end = ended_at(t.container, job["job_id"])
    assert_kept_until(t, auth, job["job_id"], end + timedelta(days=1))
    assert "1 day " in t.files(auth, job["job_id"])["errors.csv"].json()["error"]["message"]


def test_an_undone_jobs_files_are_kept_from_the_end_of_its_import(
    client: TestClient, auth: dict[str, str], workers: Workers, clocked: Callable[..., Clocked]
) -> None:
    job = import_csv(client, auth, CSV)
    t = clocked()
    end = ended_at(t.container, job["job_id"])
    assert client.post(f"{JOBS}/{job['job_id']}/undo", headers=auth).status_code == 202

    def undone() -> bool:
        return bool(
            client.get(f"{JOBS}/{job['job_id']}", headers=auth).json()["status"] == "undone"
        )

    wait_for(undone, 60, "the undo")
    assert ended_at(t.container, job["job_id"]) == end  # the undo did not move the job's end
    results = t.files(auth, job["job_id"])["results.csv"].content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(results, newline="")))
    assert [line[:2] for line in lines] == [["row", "outcome"], ["2", "created"], ["3", "failed"]]
    assert lines[1][2] and lines[2][3] == "Invalid email format"  # as imported: a lead, an error
    assert_kept_until(t, auth, job["job_id"], end + WEEK)


@pytest.mark.parametrize("ending", ["cancelled", "failed"])
def test_a_job_that_stopped_ends_when_it_stopped(
    idle_broker: str, database_url: str, clocked: Callable[..., Clocked], ending: str
) -> None:
    # A database of its own too: no importer's sweep (which starts every queued job its OU has
    # a slot for) sees the job, so it stays queued until the test stops it.
    with own_database(database_url, "retention") as url:
        t = clocked(broker=idle_broker, database=url)
        auth = {"Authorization": f"Bearer {create_token(t.container.pool, 'ou-retention')}"}
        _stop_and_check(t, auth, ending)


def _stop_and_check(t: Clocked, auth: dict[str, str], ending: str) -> None:
    job_id = start(t.client, auth, upload(t.client, auth, CSV)["file_id"])["job_id"]
    # Queued (no importer reads this broker): no end, so kept however old, with no rows yet.
    t.clock.now += timedelta(days=30)
    previews.purge_expired_files(t.container)
    assert stored(t.container, file_of(t.container, job_id))
    for r in t.files(auth, job_id).values():
        assert r.status_code == 200
        assert len(r.content.decode("utf-8-sig").splitlines()) == 1  # the header only
    if ending == "cancelled":
        assert t.client.post(f"{JOBS}/{job_id}/cancel", headers=auth).status_code == 200
    else:
        aggregate = jobs.get_job_aggregate(t.container, job_id)
        assert aggregate is not None
        aggregate.fail("stopped by the test")  # the importer does this in production
        jobs.save_job(t.container, aggregate)
    detail = t.client.get(f"{JOBS}/{job_id}", headers=auth).json()
    assert detail["status"] == ending
    assert_kept_until(t, auth, job_id, ended_at(t.container, job_id) + WEEK)


def test_kept_uploads_of_finished_jobs_do_not_count_as_previews(
    container: Container,
    workers: Workers,
    new_ou: Callable[[], str],
    clocked: Callable[..., Clocked],
) -> None:
    t = clocked(limits=Limits(max_previews_per_ou=1))
    headers = {"Authorization": f"Bearer {create_token(container.pool, new_ou())}"}
    file_id = upload(t.client, headers, CSV)["file_id"]
    job = start(t.client, headers, file_id)
    assert wait_job(t.client, headers, job["job_id"])["status"] == "completed"
    # Within its hour, the upload is a preview that could start another import: it counts.
    r = t.client.post(
        "/leads/import/preview", headers=headers, files={"file": ("b.csv", CSV.encode())}
    )
    assert_error(r, 429, "too_many_previews")
    # After it, the upload is only kept for the job's files: it no longer counts.
    t.clock.now += timedelta(hours=1)
    previews.purge_expired_files(t.container)
    assert stored(t.container, file_id)
    upload(t.client, headers, CSV)
    assert t.files(headers, job["job_id"])["errors.csv"].status_code == 200
