"""POST /leads/import/start: the ``Location`` of the job, and ``Idempotency-Key`` (a start sent
again answers the first one's job; another body with the key is a 409; keys are per OU, bounded,
kept 24 hours and race-free: two requests at once with one key make one job)."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import psycopg
import pytest
from starlette.testclient import TestClient

from adapters import locks
from adapters.tokens import create_token
from api import app as app_module
from api.app import create_app
from api.openapi import openapi_document
from application import idempotency, jobs
from application.container import Container
from runtime import bootstrap
from tests.helpers import assert_error, upload, wait_for

START = "/leads/import/start"
CSV = "Email,First Name,Phone\r\njane@example.com,Jane,+1 415 555 2671\r\n"


def body_for(file_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "file_id": file_id,
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {"First Name": "first_name"},
        "alias_mappings": {"Phone": "_alias_phone"},
        **extra,
    }


def post_start(
    client: TestClient, auth: dict[str, str], body: Any, key: str | bytes | None = None
) -> Any:
    headers: dict[str, Any] = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(START, headers=headers, json=body)


def job_count(container: Container, ou: str) -> int:
    with container.pool.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM import_jobs WHERE ou = %s", (ou,)).fetchone()
    assert row is not None
    return int(row["n"])


@pytest.fixture
def ou_auth(container: Container, new_ou: Callable[[], str]) -> tuple[str, dict[str, str]]:
    ou = new_ou()
    return ou, {"Authorization": f"Bearer {create_token(container.pool, ou)}"}


# --- Location --------------------------------------------------------------------------------


def test_start_answers_the_location_of_the_job(client: TestClient, auth: dict[str, str]) -> None:
    file_id = upload(client, auth, CSV)["file_id"]
    r = post_start(client, auth, body_for(file_id))
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert r.headers["location"] == f"/leads/import/jobs/{job_id}"
    assert client.get(r.headers["location"], headers=auth).json()["job_id"] == job_id
    document = openapi_document(app_module.routes)
    reply = document["paths"][START]["post"]["responses"]["202"]
    location = reply["headers"]["Location"]
    assert location["required"]
    assert jsonschema_rs.Draft202012Validator(location["schema"]).is_valid(r.headers["location"])


# --- the same request again ------------------------------------------------------------------


def test_a_start_sent_again_with_its_key_answers_the_same_job(
    client: TestClient, container: Container, ou_auth: tuple[str, dict[str, str]]
) -> None:
    ou, auth = ou_auth
    file_id = upload(client, auth, CSV)["file_id"]
    key = str(uuid.uuid4())
    first = post_start(client, auth, {**body_for(file_id), "field_mappings": {"Shoe": "x"}}, key)
    assert first.status_code == 400  # a failed start keeps no key: it may be sent again
    first = post_start(client, auth, body_for(file_id), key)
    assert first.status_code == 202, first.text

    # The same request, written otherwise: other key order, defaults spelled out, other case
    # of the kind and the country, white space around the key.
    again = {
        "alias_mappings": {"Phone": "_alias_phone"},
        "default_country": "us",
        "field_mappings": {"First Name": "first_name"},
        "primary_identifier": {"kind": "EMAIL", "column": "Email"},
        "file_id": file_id,
    }
    for body, sent_key in ((body_for(file_id), key), (again, f" {key} ")):
        retry = post_start(client, auth, body, sent_key)
        assert retry.status_code == 202, retry.text
        assert retry.json() == first.json()
        assert retry.headers["location"] == first.headers["location"]
    assert job_count(container, ou) == 1

    # Without the key, the same request is a new job.
    other = post_start(client, auth, body_for(file_id))
    assert other.status_code == 202
    assert other.json()["job_id"] != first.json()["job_id"]
    assert job_count(container, ou) == 2


def test_the_answer_is_the_first_one_even_after_the_job_moved_on(
    client: TestClient, container: Container, ou_auth: tuple[str, dict[str, str]]
) -> None:
    ou, auth = ou_auth
    body = body_for(upload(client, auth, CSV)["file_id"], field_mappings={"First Name": "shoe"})
    first = post_start(client, auth, body, "k-1")
    assert first.status_code == 202
    assert first.json()["ignored_fields"] == ["shoe"]
    job_id = first.json()["job_id"]
    assert client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth).status_code in (
        200,
        409,  # the workers finished it first
    )
    retry = post_start(client, auth, body, "k-1")
    assert (retry.status_code, retry.json()) == (202, first.json())
    assert job_count(container, ou) == 1


def test_the_same_key_with_another_body_is_409(
    client: TestClient, container: Container, ou_auth: tuple[str, dict[str, str]]
) -> None:
    ou, auth = ou_auth
    file_id = upload(client, auth, CSV)["file_id"]
    first = post_start(client, auth, body_for(file_id), "order-42")
    assert first.status_code == 202
    for changed in (
        body_for(file_id, field_mappings={}),
        body_for(file_id, default_country="GB"),
        body_for(file_id, primary_identifier={"column": "Phone", "kind": "phone"}),
        body_for(upload(client, auth, CSV)["file_id"]),
    ):
        r = post_start(client, auth, changed, "order-42")
        message = assert_error(r, 409, "conflict")["message"]
        assert "'order-42'" in message and "another start request" in message
        assert first.json()["job_id"] in message
        assert "new key" in message
        assert "location" not in r.headers
    assert job_count(container, ou) == 1


def test_keys_are_per_ou(
    client: TestClient, container: Container, make_auth: Any, new_ou: Callable[[], str]
) -> None:
    ou_a, ou_b = new_ou(), new_ou()
    auth_a, auth_b = make_auth(ou_a), make_auth(ou_b)
    a = post_start(client, auth_a, body_for(upload(client, auth_a, CSV)["file_id"]), "shared")
    b = post_start(client, auth_b, body_for(upload(client, auth_b, CSV)["file_id"]), "shared")
    assert (a.status_code, b.status_code) == (202, 202)
    assert a.json()["job_id"] != b.json()["job_id"]
    # OU B's key never answers OU A's job, nor the reverse.
    assert client.get(b.headers["location"], headers=auth_a).status_code == 404
    assert (job_count(container, ou_a), job_count(container, ou_b)) == (1, 1)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        pytest.param("k" * 201, ["201 characters", "at most 200"], id="201-characters"),
        pytest.param("x" * 5000, ["5,000 characters", "at most 200"], id="5000-characters"),
        pytest.param("", ["empty"], id="empty"),
        pytest.param("   ", ["empty"], id="blank"),
        pytest.param(b"caf\xe9", ["printable ASCII"], id="latin-1"),
        pytest.param("a\tb", ["printable ASCII"], id="tab"),
    ],
)
def test_bad_keys_are_400(
    client: TestClient,
    container: Container,
    ou_auth: tuple[str, dict[str, str]],
    key: str | bytes,
    words: list[str],
) -> None:
    ou, auth = ou_auth
    file_id = upload(client, auth, CSV)["file_id"]
    message = assert_error(post_start(client, auth, body_for(file_id), key), 400)["message"]
    assert "Idempotency-Key" in message
    assert all(w in message for w in words), message
    assert job_count(container, ou) == 0


def test_a_key_of_200_characters_is_fine(
    client: TestClient, container: Container, ou_auth: tuple[str, dict[str, str]]
) -> None:
    ou, auth = ou_auth
    file_id = upload(client, auth, CSV)["file_id"]
    key = "~" + "k" * 198 + "!"
    first = post_start(client, auth, body_for(file_id), key)
    again = post_start(client, auth, body_for(file_id), key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json() == again.json()
    assert job_count(container, ou) == 1


# --- at once ---------------------------------------------------------------------------------


def together(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions in threads released together; their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = actions[i]()
        except BaseException as e:  # reported below, not lost in the thread
            failures.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    return results


def test_two_identical_starts_at_once_make_one_job(
    client: TestClient, container: Container, ou_auth: tuple[str, dict[str, str]]
) -> None:
    ou, auth = ou_auth
    for i in range(5):
        file_id = upload(client, auth, CSV)["file_id"]
        key = f"race-{i}"
        send = functools.partial(post_start, client, auth, body_for(file_id), key)
        first, second = together([send, send])
        assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
        assert first.json() == second.json()
        assert first.headers["location"] == second.headers["location"]
        assert job_count(container, ou) == i + 1


def waiting_on_locks(database_url: str, statement: str) -> int:
    """Backends waiting for a lock while running a statement that contains ``statement``."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE %s",
            (f"%{statement}%",),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_second_of_two_racing_starts_answers_the_first_ones_job(
    client: TestClient,
    container: Container,
    database_url: str,
    ou_auth: tuple[str, dict[str, str]],
) -> None:
    """The interleaving the key's insert guards, made to happen: request A has inserted the key
    and waits (for the OU's queue lock, held here); B found no key when it looked, and its own
    insert waits for A's transaction. When A commits, B rolls back its job and answers A's."""
    ou, auth = ou_auth
    file_id = upload(client, auth, CSV)["file_id"]
    command = jobs.StartCommand(file_id, "Email", "email", {"First Name": "first_name"}, {})
    results: dict[str, Any] = {}
    failures: list[BaseException] = []

    def run(name: str) -> None:
        try:
            results[name] = jobs.start(container, ou, command, "the-key")
        except BaseException as e:  # reported below
            failures.append(e)

    a, b = threading.Thread(target=run, args=("a",)), threading.Thread(target=run, args=("b",))
    with psycopg.connect(database_url) as hold:  # a transaction holding the OU's queue lock
        hold.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (locks.OU_QUEUE, ou))
        a.start()
        wait_for(lambda: waiting_on_locks(database_url, "pg_advisory_xact_lock") >= 1, 30, "A")
        b.start()
        wait_for(
            lambda: waiting_on_locks(database_url, "INSERT INTO idempotency_keys") >= 1, 30, "B"
        )
        hold.rollback()  # A goes on and commits; B's insert then finds A's key
    a.join(timeout=60)
    b.join(timeout=60)
    assert not failures, failures
    assert results["a"] == results["b"]
    assert job_count(container, ou) == 1
    assert (
        client.get(f"/leads/import/jobs/{results['a']['job_id']}", headers=auth).status_code == 200
    )


# --- 24 hours --------------------------------------------------------------------------------


class Clock:
    """A clock the test moves; a day ahead, so the session importer's purges (real time) never
    see what this test stores."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(
    database_url: str, kafka_bootstrap: str
) -> Iterator[tuple[TestClient, Container, Clock]]:
    clock = Clock()
    c = bootstrap.build(database_url, kafka_bootstrap, clock=clock, pool_size=4)
    try:
        with TestClient(create_app(c), raise_server_exceptions=False) as client:
            yield client, c, clock
    finally:
        c.close()


def test_keys_are_kept_24_hours_then_purged(
    clocked: tuple[TestClient, Container, Clock], new_ou: Callable[[], str]
) -> None:
    client, c, clock = clocked
    ou = new_ou()
    auth = {"Authorization": f"Bearer {create_token(c.pool, ou)}"}
    first = post_start(client, auth, body_for(upload(client, auth, CSV)["file_id"]), "daily")
    assert first.status_code == 202

    clock.now += timedelta(hours=23, minutes=59)  # still kept: another body is a conflict
    later = body_for(upload(client, auth, CSV)["file_id"])
    assert_error(post_start(client, auth, later, "daily"), 409, "conflict")
    idempotency.purge_expired_keys(c)
    assert keys(c, ou) == ["daily"]

    clock.now += timedelta(minutes=1)  # 24 hours: the key counts as unused
    again = post_start(client, auth, later, "daily")
    assert again.status_code == 202, again.text
    assert again.json()["job_id"] != first.json()["job_id"]
    assert job_count(c, ou) == 2

    clock.now += timedelta(hours=24)
    assert idempotency.purge_expired_keys(c) >= 1
    assert keys(c, ou) == []


def keys(c: Container, ou: str) -> list[str]:
    with c.pool.connection() as conn:
        rows = conn.execute("SELECT key FROM idempotency_keys WHERE ou = %s", (ou,)).fetchall()
    return [r["key"] for r in rows]
