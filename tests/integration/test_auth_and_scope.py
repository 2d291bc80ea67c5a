"""Bearer tokens on every /leads endpoint, hashed storage, and OU isolation (404, never 403)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from application.container import Container
from tests.helpers import assert_error, import_csv, lead_by, start, upload
from tests.services import Workers

CSV = "Email,Name\njane@example.com,Jane\njohn@example.com,John\n"
START_BODY = {"file_id": "preview_x", "primary_identifier": {"column": "Email", "kind": "email"}}


def call(client: TestClient, endpoint: str, headers: dict[str, str]) -> Any:
    """One request to ``endpoint`` ("METHOD path") with a body that would otherwise be valid."""
    method, path = endpoint.split(" ", 1)
    if path == "/leads/import/preview":
        return client.post(
            path, headers=headers, files={"file": ("leads.csv", CSV.encode(), "text/csv")}
        )
    if path == "/leads/import/start":
        return client.post(path, headers=headers, json=START_BODY)
    return client.request(method, path, headers=headers)


ENDPOINTS = [
    "POST /leads/import/preview",
    "POST /leads/import/start",
    "GET /leads/import/jobs",
    "GET /leads/import/jobs/job_0123456789",
    "GET /leads?email=jane@example.com",
    f"GET /leads/{uuid.uuid4()}",
]
BAD_CREDENTIALS = [
    pytest.param({}, id="missing-header"),
    pytest.param({"Authorization": ""}, id="empty-header"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, id="basic-scheme"),
    pytest.param({"Authorization": "Token li_abcdef"}, id="token-scheme"),
    pytest.param({"Authorization": "Bearer"}, id="bearer-without-token"),
    pytest.param({"Authorization": "Bearer    "}, id="bearer-blank-token"),
    pytest.param({"Authorization": f"Bearer li_{secrets.token_urlsafe(32)}"}, id="unknown-token"),
    pytest.param({"Authorization": "Bearer preview_abc123"}, id="not-a-token"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("headers", BAD_CREDENTIALS)
def test_every_leads_endpoint_needs_a_valid_token(
    client: TestClient, endpoint: str, headers: dict[str, str]
) -> None:
    r = call(client, endpoint, headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].lower().startswith("bearer")


@pytest.mark.parametrize("endpoint", ["POST /leads/import/preview", "POST /leads/import/start"])
def test_401_comes_before_the_body_is_judged(client: TestClient, endpoint: str) -> None:
    method, path = endpoint.split(" ", 1)
    assert_error(client.request(method, path, content=b"garbage"), 401, "unauthorized")


def test_a_valid_token_is_accepted_on_every_endpoint(
    client: TestClient, auth: dict[str, str]
) -> None:
    statuses = {endpoint: call(client, endpoint, auth).status_code for endpoint in ENDPOINTS}
    assert statuses == {
        "POST /leads/import/preview": 200,
        "POST /leads/import/start": 404,  # the placeholder file_id does not exist
        "GET /leads/import/jobs": 200,
        "GET /leads/import/jobs/job_0123456789": 404,
        "GET /leads?email=jane@example.com": 200,
        ENDPOINTS[-1]: 404,
    }


def test_tokens_are_stored_hashed(
    client: TestClient,
    container: Container,
    make_auth: Callable[[str], dict[str, str]],
    new_ou: Callable[[], str],
) -> None:
    ou = new_ou()
    headers = make_auth(ou)
    token = headers["Authorization"].removeprefix("Bearer ")
    secret = token.removeprefix("li_")
    assert len(secret) >= 32
    assert client.get("/leads/import/jobs", headers=headers).status_code == 200

    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT t::text AS row FROM api_tokens t WHERE ou = %s", (ou,)
        ).fetchall()
        leaks = conn.execute(
            "SELECT count(*) AS n FROM api_tokens t WHERE strpos(t::text, %s) > 0"
            " OR strpos(t::text, %s) > 0",
            (token, secret),
        ).fetchone()
    assert len(rows) == 1
    assert token not in rows[0]["row"] and secret not in rows[0]["row"]
    assert leaks is not None and leaks["n"] == 0


def test_each_token_is_bound_to_its_ou(
    client: TestClient, make_auth: Callable[[str], dict[str, str]], new_ou: Callable[[], str]
) -> None:
    ou = new_ou()
    first, second = make_auth(ou), make_auth(ou)
    job = start(client, first, upload(client, first, CSV)["file_id"])
    listed = client.get("/leads/import/jobs", headers=second).json()
    assert [j["job_id"] for j in listed["jobs"]] == [job["job_id"]]


# --- OU isolation -----------------------------------------------------------------------------


def test_a_preview_of_another_ou_cannot_be_started(
    client: TestClient, make_auth: Callable[[str], dict[str, str]], new_ou: Callable[[], str]
) -> None:
    owner, stranger = make_auth(new_ou()), make_auth(new_ou())
    file_id = upload(client, owner, CSV)["file_id"]
    body = {"file_id": file_id, "primary_identifier": {"column": "Email", "kind": "email"}}

    unknown_id = "preview_" + secrets.token_urlsafe(18)
    foreign = assert_error(
        client.post("/leads/import/start", headers=stranger, json=body), 404, "not_found"
    )
    missing = assert_error(
        client.post("/leads/import/start", headers=stranger, json={**body, "file_id": unknown_id}),
        404,
        "not_found",
    )
    # A foreign file looks exactly like a file that does not exist.
    assert foreign["message"].replace(file_id, "ID") == missing["message"].replace(unknown_id, "ID")
    assert client.get("/leads/import/jobs", headers=stranger).json()["total"] == 0

    # The owner can still start it: the stranger's attempt changed nothing.
    assert client.post("/leads/import/start", headers=owner, json=body).status_code == 202


def test_a_job_of_another_ou_is_404(
    client: TestClient, make_auth: Callable[[str], dict[str, str]], new_ou: Callable[[], str]
) -> None:
    owner, stranger = make_auth(new_ou()), make_auth(new_ou())
    job_id = start(client, owner, upload(client, owner, CSV)["file_id"])["job_id"]

    mine = client.get(f"/leads/import/jobs/{job_id}", headers=owner)
    assert mine.status_code == 200 and mine.json()["job_id"] == job_id
    assert_error(client.get(f"/leads/import/jobs/{job_id}", headers=stranger), 404, "not_found")
    listed = client.get("/leads/import/jobs", headers=stranger).json()
    assert (listed["jobs"], listed["total"]) == ([], 0)
    assert client.get("/leads/import/jobs", headers=owner).json()["total"] == 1


def test_a_lead_of_another_ou_is_not_found(
    client: TestClient,
    workers: Workers,
    make_auth: Callable[[str], dict[str, str]],
    new_ou: Callable[[], str],
) -> None:
    owner, stranger = make_auth(new_ou()), make_auth(new_ou())
    job = import_csv(client, owner, CSV, field_mappings={"Name": "first_name"})
    assert (job["status"], job["created_count"]) == ("completed", 2)
    [jane] = lead_by(client, owner, email="jane@example.com")
    lead_id = jane["lead_id"]
    assert client.get(f"/leads/{lead_id}", headers=owner).status_code == 200

    assert_error(client.get(f"/leads/{lead_id}", headers=stranger), 404, "not_found")
    assert lead_by(client, stranger, email="jane@example.com") == []

    # The same e-mail in the other OU is a different lead, created, not merged into the first.
    theirs = import_csv(client, stranger, CSV, field_mappings={"Name": "first_name"})
    assert (theirs["created_count"], theirs["updated_count"]) == (2, 0)
    [other_jane] = lead_by(client, stranger, email="jane@example.com")
    assert other_jane["lead_id"] != lead_id
    assert_error(client.get(f"/leads/{other_jane['lead_id']}", headers=owner), 404, "not_found")
