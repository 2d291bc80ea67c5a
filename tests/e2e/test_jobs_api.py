"""POST /leads/import/start errors, GET /leads/import/jobs and GET /leads/import/jobs/{id}."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import import_csv, start, upload, wait_job
from tests.services import Workers

CSV = "Email,First Name,Last Name,Company,Phone\njane@example.com,Jane,Doe,Example Inc,555-0100\n"
PRIMARY = {"column": "Email", "kind": "email"}
ITEM_KEYS = {
    "job_id",
    "status",
    "file_name",
    "created_at",
    "completed_at",
    "total_rows",
    "created_count",
    "updated_count",
    "failed_count",
    "skipped_count",
    "processed_rows",
    "percent",
    "mode",
    "dry_run",
}


def error_of(r: Any, status: int) -> str:
    """The message of a JSON error response with the expected status."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    message: str = body["error"]["message"]
    assert message
    return message


def timestamp(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


# --- POST /leads/import/start errors ---------------------------------------------------------

Body = Callable[[str], dict[str, Any]]

BAD_BODIES: list[Any] = [
    pytest.param(lambda f: {"primary_identifier": PRIMARY}, "file_id", id="missing file_id"),
    pytest.param(
        lambda f: {"file_id": "", "primary_identifier": PRIMARY}, "file_id", id="empty file_id"
    ),
    pytest.param(lambda f: {"file_id": f}, "primary_identifier", id="missing primary_identifier"),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": {"kind": "email"}},
        "column",
        id="missing primary column",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": {"column": "Email"}},
        "kind",
        id="missing primary kind",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": {"column": "Email", "kind": "fax"}},
        "'fax'",
        id="bad kind",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": {"column": "Mail", "kind": "email"}},
        "'Mail'",
        id="primary column not a header",
    ),
    pytest.param(
        lambda f: {
            "file_id": f,
            "primary_identifier": PRIMARY,
            "field_mappings": {"Job Title": "title"},
        },
        "'Job Title'",
        id="field column not a header",
    ),
    pytest.param(
        lambda f: {
            "file_id": f,
            "primary_identifier": PRIMARY,
            "alias_mappings": {"Mobile": "_alias_phone"},
        },
        "'Mobile'",
        id="alias column not a header",
    ),
    pytest.param(
        lambda f: {
            "file_id": f,
            "primary_identifier": PRIMARY,
            "alias_mappings": {"Phone": "_alias_fax"},
        },
        "_alias_fax",
        id="alias target _alias_fax",
    ),
    pytest.param(
        lambda f: {
            "file_id": f,
            "primary_identifier": PRIMARY,
            "alias_mappings": {"Phone": "phone"},
        },
        "'phone'",
        id="alias target without prefix",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": PRIMARY, "default_country": "XX"},
        "default_country",
        id="unknown country",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": PRIMARY, "default_country": "GBR"},
        "default_country",
        id="alpha-3 country",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": PRIMARY, "default_country": ""},
        "default_country",
        id="empty country",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": PRIMARY, "field_mappings": ["First Name"]},
        "field_mappings",
        id="field_mappings not an object",
    ),
    pytest.param(
        lambda f: {"file_id": f, "primary_identifier": "Email"},
        "primary_identifier",
        id="primary_identifier not an object",
    ),
    pytest.param(lambda f: [f], "", id="body not an object"),
]


@pytest.mark.parametrize(("body", "named"), BAD_BODIES)
def test_start_rejects_bad_requests_with_400(
    client: TestClient, auth: dict[str, str], body: Body, named: str
) -> None:
    preview = upload(client, auth, CSV)
    r = client.post("/leads/import/start", headers=auth, json=body(preview["file_id"]))
    message = error_of(r, 400)
    assert named in message
    jobs = client.get("/leads/import/jobs", headers=auth).json()
    assert jobs["total"] == 0  # nothing half-started


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b'{"file_id": "preview_x", ', "application/json", id="malformed json"),
        pytest.param(b"", "application/json", id="empty body"),
        pytest.param(b"file_id=preview_x", "application/x-www-form-urlencoded", id="form body"),
        pytest.param(b'{"file_id": "preview_x"}', "text/plain", id="wrong content type"),
    ],
)
def test_start_rejects_unreadable_bodies_with_400(
    client: TestClient, auth: dict[str, str], content: bytes, content_type: str
) -> None:
    r = client.post(
        "/leads/import/start", headers={**auth, "Content-Type": content_type}, content=content
    )
    error_of(r, 400)


def test_start_with_unknown_file_id_is_404(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post(
        "/leads/import/start",
        headers=auth,
        json={"file_id": "preview_doesnotexist", "primary_identifier": PRIMARY},
    )
    assert "preview_doesnotexist" in error_of(r, 404)


def test_start_with_a_file_of_another_ou_is_404(
    client: TestClient,
    auth: dict[str, str],
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    preview = upload(client, auth, CSV)
    r = client.post(
        "/leads/import/start",
        headers=make_auth(new_ou()),
        json={"file_id": preview["file_id"], "primary_identifier": PRIMARY},
    )
    error_of(r, 404)


def test_start_accepts_kind_and_columns_in_any_case(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, CSV)
    started = start(
        client,
        auth,
        preview["file_id"],
        column="email",
        kind="EMAIL",
        field_mappings={"first name": "first_name"},
        alias_mappings={"PHONE": "_ALIAS_PHONE"},
    )
    job = wait_job(client, auth, started["job_id"])
    assert job["status"] == "completed"
    assert job["primary_identifier"] == {"column": "Email", "kind": "email"}
    assert job["field_mappings"] == {"First Name": "first_name"}
    assert job["alias_mappings"] == {"Phone": "_alias_phone"}


# --- GET /leads/import/jobs ------------------------------------------------------------------


def test_job_list_of_a_new_ou_is_empty(client: TestClient, auth: dict[str, str]) -> None:
    r = client.get("/leads/import/jobs", headers=auth)
    assert r.status_code == 200
    assert r.json() == {"jobs": [], "total": 0, "page": 1, "limit": 25}


def test_job_list_is_newest_first_and_paginates(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    names = ["first.csv", "second.csv", "third.csv"]
    ids = []
    for name in names:  # one after the other, so the first one creates jane
        preview = upload(client, auth, CSV, name=name)
        ids.append(
            wait_job(client, auth, start(client, auth, preview["file_id"])["job_id"])["job_id"]
        )

    everything = client.get("/leads/import/jobs", headers=auth).json()
    assert (everything["total"], everything["page"], everything["limit"]) == (3, 1, 25)
    assert [j["job_id"] for j in everything["jobs"]] == ids[::-1]
    assert [j["file_name"] for j in everything["jobs"]] == names[::-1]
    newest = everything["jobs"][0]
    assert set(newest) == ITEM_KEYS
    assert newest["status"] == "completed"
    assert (
        newest["total_rows"],
        newest["created_count"],
        newest["updated_count"],
        newest["failed_count"],
    ) == (1, 0, 1, 0)
    assert (newest["processed_rows"], newest["percent"]) == (1, 100)
    assert timestamp(newest["completed_at"]) >= timestamp(newest["created_at"])
    oldest = everything["jobs"][-1]
    assert (oldest["created_count"], oldest["updated_count"]) == (1, 0)

    page1 = client.get("/leads/import/jobs?page=1&limit=2", headers=auth).json()
    page2 = client.get("/leads/import/jobs?page=2&limit=2", headers=auth).json()
    page3 = client.get("/leads/import/jobs?page=3&limit=2", headers=auth).json()
    assert [j["job_id"] for j in page1["jobs"]] == ids[:0:-1]
    assert [j["job_id"] for j in page2["jobs"]] == ids[:1]
    assert page3["jobs"] == []
    assert [(p["total"], p["page"], p["limit"]) for p in (page1, page2, page3)] == [
        (3, 1, 2),
        (3, 2, 2),
        (3, 3, 2),
    ]
    assert page1["jobs"] + page2["jobs"] == everything["jobs"]

    r = client.get("/leads/import/jobs?limit=100", headers=auth)
    assert r.status_code == 200
    assert r.json()["limit"] == 100


def test_job_list_shows_a_job_as_soon_as_it_is_started(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, CSV, name="fresh.csv")
    started = start(client, auth, preview["file_id"])
    [item] = client.get("/leads/import/jobs", headers=auth).json()["jobs"]
    assert item["job_id"] == started["job_id"]
    assert item["file_name"] == "fresh.csv"
    assert item["total_rows"] == 1
    assert item["status"] in ("queued", "in_progress", "completed")
    wait_job(client, auth, started["job_id"])


@pytest.mark.parametrize(
    "query",
    [
        "limit=101",
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=2.5",
        "page=0",
        "page=-1",
        "page=abc",
        "page=1e3",
    ],
)
def test_job_list_rejects_out_of_range_paging(
    client: TestClient, auth: dict[str, str], query: str
) -> None:
    r = client.get(f"/leads/import/jobs?{query}", headers=auth)
    name = query.split("=")[0]
    assert name in error_of(r, 400)


def test_jobs_are_invisible_to_other_ous(
    client: TestClient,
    auth: dict[str, str],
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    workers: Workers,
) -> None:
    job = import_csv(client, auth, CSV)
    other = make_auth(new_ou())
    assert client.get("/leads/import/jobs", headers=other).json()["total"] == 0
    error_of(client.get(f"/leads/import/jobs/{job['job_id']}", headers=other), 404)
    assert client.get("/leads", headers=other, params={"email": "jane@example.com"}).json() == {
        "leads": []
    }
    [lead] = client.get("/leads", headers=auth, params={"email": "jane@example.com"}).json()[
        "leads"
    ]
    error_of(client.get(f"/leads/{lead['lead_id']}", headers=other), 404)


def test_the_same_email_in_two_ous_makes_two_leads(
    client: TestClient,
    auth: dict[str, str],
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    workers: Workers,
) -> None:
    other = make_auth(new_ou())
    jobs = [import_csv(client, headers, CSV) for headers in (auth, other)]
    assert [(j["created_count"], j["updated_count"]) for j in jobs] == [(1, 0), (1, 0)]
    leads = [
        client.get("/leads", headers=h, params={"email": "jane@example.com"}).json()["leads"]
        for h in (auth, other)
    ]
    assert [len(found) for found in leads] == [1, 1]
    assert leads[0][0]["lead_id"] != leads[1][0]["lead_id"]


# --- GET /leads/import/jobs/{jobId} ----------------------------------------------------------


def test_job_detail_has_every_field_of_the_spec(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    rows = ["Email,First Name,Last Name,Company,Phone,Shoe Size"]
    expected_errors = []
    for n in range(300):
        row = n + 2
        if n % 41 == 5:
            rows.append(f"bad-{n},X,Y,Z,,")
            expected_errors.append(
                {"row": row, "error": "Invalid email format", "value": f"bad-{n}"}
            )
        elif n % 53 == 9:
            rows.append(",X,Y,Z,,")
            expected_errors.append(
                {"row": row, "error": "Missing required identifier", "value": ""}
            )
        else:
            phone = "not a phone" if n == 100 else f"555-{n:04d}"
            rows.append(f"p{n}@example.com,First{n},Last{n},Co{n},{phone},42")
    preview = upload(client, auth, "\n".join(rows) + "\n", name="leads.csv")
    started = start(
        client,
        auth,
        preview["file_id"],
        field_mappings={
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company": "company",
            "Shoe Size": "shoe_size",
        },
        alias_mappings={"Phone": "_alias_phone"},
    )
    job = wait_job(client, auth, started["job_id"])

    spec_fields = {
        "job_id",
        "status",
        "created_at",
        "started_at",
        "completed_at",
        "file_name",
        "total_rows",
        "created_count",
        "updated_count",
        "failed_count",
        "primary_identifier",
        "field_mappings",
        "errors",
    }
    assert spec_fields | {"alias_mappings", "warnings"} <= set(job)
    failed = len(expected_errors)
    assert job["job_id"] == started["job_id"]
    assert job["status"] == "completed"
    assert job["file_name"] == "leads.csv"
    assert (job["total_rows"], job["created_count"], job["updated_count"], job["failed_count"]) == (
        300,
        300 - failed,
        0,
        failed,
    )
    # every row has an outcome; a finished job has no rate, time left or queue
    assert (job["processed_rows"], job["percent"]) == (300, 100)
    assert (job["rows_per_second"], job["eta_seconds"], job["queue"]) == (None, None, None)
    assert job["primary_identifier"] == {"column": "Email", "kind": "email"}
    assert job["field_mappings"] == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company",
    }
    assert job["alias_mappings"] == {"Phone": "_alias_phone"}
    assert job["errors"] == expected_errors  # ordered by row
    assert job["warnings"] == [
        {"row": 102, "warning": "Alias not added: Invalid phone format", "value": "not a phone"}
    ]
    created, begun, done = (timestamp(job[k]) for k in ("created_at", "started_at", "completed_at"))
    assert created <= begun <= done


@pytest.mark.parametrize(
    "job_id", ["job_00000000000000000000000000000000", "job_nothex", "nonsense", "job_"]
)
def test_unknown_job_is_404(client: TestClient, auth: dict[str, str], job_id: str) -> None:
    error_of(client.get(f"/leads/import/jobs/{job_id}", headers=auth), 404)


def test_lead_lookup_errors(client: TestClient, auth: dict[str, str]) -> None:
    error_of(client.get("/leads/00000000-0000-0000-0000-000000000000", headers=auth), 404)
    error_of(client.get("/leads/not-a-uuid", headers=auth), 404)
    error_of(client.get("/leads", headers=auth), 400)
    error_of(client.get("/leads?email=a@example.com&phone=5550100", headers=auth), 400)
    assert client.get("/leads?email=nobody@example.com", headers=auth).json() == {"leads": []}
