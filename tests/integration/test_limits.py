"""Limits of a shared service: columns and cell size of a file (400), and per OU the stored
previews and the queued jobs (429 with ``Retry-After`` and the JSON error body, as documented
in the OpenAPI document), counted race-free.

The queued-job cap is tested in a database of its own: the session's importer would start the
jobs this test needs to stay queued.
"""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from adapters.tokens import create_token
from api import app as app_module
from api.app import create_app
from api.openapi import openapi_document
from application import jobs, previews
from application.container import Container, Limits
from domain.errors import TooManyRequests
from runtime import bootstrap
from tests.helpers import assert_error, start, upload
from tests.services import app_on, own_database

PREVIEW = "/leads/import/preview"
START = "/leads/import/start"
CSV = b"Email,First Name\r\njane@example.com,Jane\r\n"


def assert_429(response: Any, method: str, path: str, code: str, retry_after: int) -> str:
    """A 429 as the OpenAPI document describes it, with this code and Retry-After; returns
    the message."""
    error = assert_error(response, 429, code)
    assert response.headers["retry-after"] == str(retry_after)
    document = openapi_document(app_module.routes)
    reply = document["paths"][path][method]["responses"]["429"]
    schema = reply["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    assert validator.is_valid(response.json())
    header = reply["headers"]["Retry-After"]
    assert header["required"]
    assert re.fullmatch(header["schema"]["pattern"], response.headers["retry-after"])
    return str(error["message"])


class Clock:
    """A clock the test moves; a day ahead, so the session importer's purge (real time)
    never takes these previews."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


# --- columns and cells ------------------------------------------------------------------------


def test_over_a_thousand_columns_is_400(client: TestClient, auth: dict[str, str]) -> None:
    header = ",".join(["Email", *(f"Column {i}" for i in range(2, 1002))])
    data = f"{header}\r\njane@example.com\r\n".encode()
    r = client.post(PREVIEW, headers=auth, files={"file": ("wide.csv", data, "text/csv")})
    message = assert_error(r, 400, "invalid_csv")["message"]
    assert "1,001 columns" in message and "limit of 1,000 columns" in message
    assert "Delete the columns you do not import" in message


def test_a_thousand_columns_is_fine(client: TestClient, auth: dict[str, str]) -> None:
    header = ",".join(["Email", *(f"Column {i}" for i in range(2, 1001))])
    body = upload(client, auth, f"{header}\r\njane@example.com\r\n".encode())
    assert len(body["headers"]) == 1000


def test_a_cell_over_131072_characters_is_400(client: TestClient, auth: dict[str, str]) -> None:
    data = b"Email,Notes\r\njane@example.com,ok\r\njohn@example.com," + b"n" * 131_073 + b"\r\n"
    r = client.post(PREVIEW, headers=auth, files={"file": ("big.csv", data, "text/csv")})
    message = assert_error(r, 400, "invalid_csv")["message"]
    assert "Row 3, column 2 (B)" in message and "limit of 131,072 characters" in message
    assert "quote" in message and "shorten the text" in message


# --- stored previews per OU ---------------------------------------------------------------------


@pytest.fixture
def limited(
    database_url: str, kafka_bootstrap: str
) -> Iterator[tuple[TestClient, Container, Clock]]:
    clock = Clock()
    limits = Limits(max_previews_per_ou=3, max_queued_jobs_per_ou=20)
    c = bootstrap.build(database_url, kafka_bootstrap, clock=clock, pool_size=4, limits=limits)
    try:
        with TestClient(create_app(c), raise_server_exceptions=False) as client:
            yield client, c, clock
    finally:
        c.close()


def test_previews_over_the_cap_wait_until_the_oldest_expires(
    limited: tuple[TestClient, Container, Clock],
    make_auth: Callable[[str], dict[str, str]],
    new_ou: Callable[[], str],
) -> None:
    client, _, clock = limited
    auth = make_auth(new_ou())
    for _ in range(3):  # the oldest expires 60 minutes after the first upload
        upload(client, auth, CSV)
        clock.now += timedelta(minutes=10)
    clock.now += timedelta(seconds=7)  # 30 min 7 s after the first upload
    r = client.post(PREVIEW, headers=auth, files={"file": ("leads.csv", CSV, "text/csv")})
    message = assert_429(r, "post", PREVIEW, "too_many_previews", 29 * 60 + 53)
    assert "limit of 3" in message and "expires in 30 minutes" in message
    # Another OU has its own slots.
    upload(client, make_auth(new_ou()), CSV)
    # Once the oldest has expired, there is room for one.
    clock.now += timedelta(minutes=29, seconds=53)
    upload(client, auth, CSV)
    r = client.post(PREVIEW, headers=auth, files={"file": ("leads.csv", CSV, "text/csv")})
    assert_429(r, "post", PREVIEW, "too_many_previews", 10 * 60)


def test_a_start_needing_a_copy_counts_as_a_preview(
    limited: tuple[TestClient, Container, Clock],
    make_auth: Callable[[str], dict[str, str]],
    new_ou: Callable[[], str],
) -> None:
    client, _, clock = limited
    auth = make_auth(new_ou())
    file_id = upload(client, auth, b"Email;Name\r\njane@example.com;Jane\r\n")["file_id"]
    clock.now += timedelta(minutes=5)
    upload(client, auth, CSV)
    upload(client, auth, CSV)
    body = {
        "file_id": file_id,
        "primary_identifier": {"column": "Email;Name", "kind": "cookie"},
        "delimiter": ",",
    }
    r = client.post(START, headers=auth, json=body)
    assert_429(r, "post", START, "too_many_previews", 55 * 60)
    # The same start without another format needs no copy.
    start(client, auth, file_id, column="Email", kind="email")


def test_two_uploads_at_once_cannot_both_take_the_last_slot(
    limited: tuple[TestClient, Container, Clock], new_ou: Callable[[], str]
) -> None:
    _, c, _ = limited
    for _ in range(5):
        ou = new_ou()
        previews.preview(c, ou, "a.csv", CSV)
        previews.preview(c, ou, "b.csv", CSV)
        outcomes = race(2, functools.partial(previews.preview, c, ou, "c.csv", CSV))
        assert sorted(outcomes) == ["ok", "too_many_previews"]
        with c.pool.connection() as conn:
            n = conn.execute("SELECT count(*) AS n FROM preview_files WHERE ou = %s", (ou,))
            assert n.fetchone()["n"] == 3


def race(threads: int, action: Callable[[], object]) -> list[str]:
    """Run ``action`` in ``threads`` threads released together: "ok" or the refusal's code."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def run() -> None:
        barrier.wait(timeout=30)
        try:
            action()
            outcomes.append("ok")
        except TooManyRequests as e:
            outcomes.append(e.code)
        except BaseException as e:  # reported below, not lost in the thread
            failures.append(e)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not failures, failures
    assert len(outcomes) == threads
    return outcomes


# --- queued jobs per OU (a database without workers) ------------------------------------------


@pytest.fixture(scope="module")
def quiet_database(database_url: str) -> Iterator[str]:
    """A database of its own on the session's server: no importer starts its jobs."""
    with own_database(database_url, "leadimport_limits") as url:
        yield url


@pytest.fixture
def queue(quiet_database: str, kafka_bootstrap: str) -> Iterator[tuple[TestClient, Container]]:
    with app_on(
        quiet_database, kafka_bootstrap, Limits(max_previews_per_ou=100, max_queued_jobs_per_ou=2)
    ) as app:
        yield app


def test_queued_jobs_over_the_cap_are_429(queue: tuple[TestClient, Container]) -> None:
    client, c = queue
    auth = {"Authorization": f"Bearer {create_token(c.pool, f'ou-queue-{uuid.uuid4().hex[:8]}')}"}
    rows = 12_000
    big = b"Email\r\n" + b"".join(b"u%d@example.com\r\n" % i for i in range(rows))
    first = start(client, auth, upload(client, auth, big)["file_id"])["job_id"]
    file_id = upload(client, auth, CSV)["file_id"]
    start(client, auth, file_id)
    body = {"file_id": file_id, "primary_identifier": {"column": "Email", "kind": "email"}}
    # Nothing runs: the importer's sweep starts a waiting job within seconds.
    message = assert_429(
        client.post(START, headers=auth, json=body), "post", START, "too_many_queued_jobs", 30
    )
    assert "2 import jobs waiting" in message and "limit of 2" in message
    # The first job starts (as the importer would): one slot frees up, and the next refusal
    # estimates when the running job ends: 12,000 rows at 1,000 rows/s.
    job = jobs.get_job_aggregate(c, first)
    assert job is not None and jobs.start_job(c, job, max_running=3)
    start(client, auth, file_id)
    assert_429(
        client.post(START, headers=auth, json=body), "post", START, "too_many_queued_jobs", 12
    )
    # Cancelling a queued job frees its slot.
    listed = client.get("/leads/import/jobs", headers=auth).json()["jobs"]
    queued = [j["job_id"] for j in listed if j["status"] == "queued"]
    assert len(queued) == 2
    assert client.post(f"/leads/import/jobs/{queued[0]}/cancel", headers=auth).status_code == 200
    start(client, auth, file_id)


def test_two_starts_at_once_cannot_both_take_the_last_slot(
    queue: tuple[TestClient, Container],
) -> None:
    client, c = queue
    for _ in range(5):
        ou = f"ou-race-{uuid.uuid4().hex[:8]}"
        auth = {"Authorization": f"Bearer {create_token(c.pool, ou)}"}
        file_id = upload(client, auth, CSV)["file_id"]
        start(client, auth, file_id)
        command = jobs.StartCommand(file_id, "Email", "email", {}, {})
        outcomes = race(2, functools.partial(jobs.start, c, ou, command))
        assert sorted(outcomes) == ["ok", "too_many_queued_jobs"]
        assert client.get("/leads/import/jobs", headers=auth).json()["total"] == 2
