"""Bounded answers: the job detail holds the first 100 errors and warnings with exact totals;
``GET /leads/import/jobs/{jobId}/errors`` and ``.../warnings`` page through all of them with a
keyset cursor; long values are cut. Expected values come from the generated CSV, not from the
code under test."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.tokens import create_token
from application.container import Container
from tests.helpers import assert_error, job_items, start, upload, wait_job
from tests.services import Workers

ROWS = 420
JOBS = "/leads/import/jobs"
INVALID_EMAIL = "Invalid email format"
MISSING = "Missing required identifier"
BAD_PHONE = "Alias not added: Invalid phone format"
BAD_EMAIL = "Alias not added: Invalid email format"
# (row, "error" or "warning") -> the cell of over 1000 characters behind it (noisy_file fills it)
LONG_CELLS: dict[tuple[int, str], str] = {}


def cut(value: str) -> str:
    """The documented cap, written out here: over 1000 characters, the first 1000, then
    ``… [cut: N characters in all]`` with N's digits grouped by commas."""
    if len(value) <= 1000:
        return value
    return value[:1000] + "… [cut: " + f"{len(value):,}" + " characters in all]"


def noisy_file() -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """A CSV whose rows fail (more than 100) or carry alias warnings (more than 100, some rows
    two), some values far over 1000 characters; and the errors and warnings it must give, in
    row order (a row's warnings in the order of its alias columns: Phone, then Other Email)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email", "Phone", "Other Email"])
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for n in range(ROWS):
        row = n + 2
        email, phone, other = f"lead{n}@example.com", f"+1 415 555 {n:04d}", ""
        if n % 3 == 0:
            email = f"bad-{n}" if n % 39 else "not-an-email-" + "x" * (1000 + n)
            if len(email) > 1000:
                LONG_CELLS[row, "error"] = email
            errors.append({"row": row, "error": INVALID_EMAIL, "value": cut(email)})
        elif n % 17 == 1:
            email = ""
            errors.append({"row": row, "error": MISSING, "value": ""})
        else:
            if n % 2 == 0:
                phone = f"call me {n}" if n % 11 else "call me " * (150 + n)
                if len(phone) > 1000:
                    LONG_CELLS[row, "warning"] = phone
                warnings.append({"row": row, "warning": BAD_PHONE, "value": cut(phone)})
            if n % 5 == 2:
                other = f"other-{n}"
                warnings.append({"row": row, "warning": BAD_EMAIL, "value": other})
        writer.writerow([email, phone, other])
    return out.getvalue(), errors, warnings


@pytest.fixture(scope="module")
def noisy_job(
    client: TestClient, container: Container, workers: Workers
) -> tuple[dict[str, str], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(headers of the job's OU, its finished detail, the expected errors and warnings)."""
    token = create_token(container.pool, f"ou-bounded-{uuid.uuid4().hex[:12]}")
    headers = {"Authorization": f"Bearer {token}"}
    content, errors, warnings = noisy_file()
    assert len(errors) > 100 and len(warnings) > 100
    assert any(len(e["value"]) > 1000 for e in errors)
    assert any(len(w["value"]) > 1000 for w in warnings)
    preview = upload(client, headers, content)
    job_id = start(
        client,
        headers,
        preview["file_id"],
        alias_mappings={"Phone": "_alias_phone", "Other Email": "_alias_email"},
    )["job_id"]
    return headers, wait_job(client, headers, job_id), errors, warnings


def test_the_detail_holds_the_first_100_of_each_and_exact_totals(noisy_job: Any) -> None:
    _, job, errors, warnings = noisy_job
    assert job["status"] == "completed"
    assert job["failed_count"] == job["errors_total"] == len(errors)
    assert job["created_count"] == ROWS - len(errors)
    assert job["errors"] == errors[:100]
    assert job["warnings_total"] == len(warnings)
    assert job["warnings"] == warnings[:100]


@pytest.mark.parametrize(("what", "limit"), [("errors", 7), ("warnings", 9), ("errors", 1)])
def test_small_pages_walk_every_item_once_in_row_order(
    client: TestClient, noisy_job: Any, what: str, limit: int
) -> None:
    headers, job, errors, warnings = noisy_job
    expected = errors if what == "errors" else warnings
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = client.get(f"{JOBS}/{job['job_id']}/{what}", headers=headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"job_id", what, "next_cursor"}
        assert page["job_id"] == job["job_id"]
        assert 1 <= len(page[what]) <= limit
        pages.append(page[what])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    walked = [item for page in pages for item in page]
    assert walked == expected  # each exactly once, in row order
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == -(-len(expected) // limit)  # no empty last page


def test_default_and_largest_pages(client: TestClient, noisy_job: Any) -> None:
    headers, job, errors, warnings = noisy_job
    for what, expected in (("errors", errors), ("warnings", warnings)):
        first = client.get(f"{JOBS}/{job['job_id']}/{what}", headers=headers).json()
        assert first[what] == expected[:100] and first["next_cursor"] is not None
        rest = client.get(
            f"{JOBS}/{job['job_id']}/{what}",
            headers=headers,
            params={"cursor": first["next_cursor"], "limit": 1000},
        ).json()
        assert rest == {"job_id": job["job_id"], what: expected[100:], "next_cursor": None}
        assert job_items(client, headers, job["job_id"], what, limit=1000) == expected


def test_long_values_are_cut_and_marked(noisy_job: Any, client: TestClient) -> None:
    headers, job, _, _ = noisy_job
    seen = 0
    for what in ("errors", "warnings"):
        for item in job_items(client, headers, job["job_id"], what):
            cell = LONG_CELLS.get((item["row"], what[:-1]))
            if cell is None or (what == "warnings" and item["warning"] != BAD_PHONE):
                assert len(item["value"]) <= 1000, item
                continue
            seen += 1
            assert item["value"] == f"{cell[:1000]}… [cut: {len(cell):,} characters in all]"
    assert seen == len(LONG_CELLS) > 0


@pytest.mark.parametrize("what", ["errors", "warnings"])
@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-1", "1.5", "10 ", "٣"])
def test_limit_out_of_bounds_is_a_400(
    client: TestClient, noisy_job: Any, what: str, limit: str
) -> None:
    headers, job, _, _ = noisy_job
    r = client.get(f"{JOBS}/{job['job_id']}/{what}", headers=headers, params={"limit": limit})
    error = assert_error(r, 400)
    assert "'limit'" in error["message"] and "1000" in error["message"]


@pytest.mark.parametrize("what", ["errors", "warnings"])
def test_a_cursor_that_is_not_one_of_this_list_is_a_400(
    client: TestClient, noisy_job: Any, what: str
) -> None:
    headers, job, _, _ = noisy_job
    url = f"{JOBS}/{job['job_id']}/{what}"
    other = "warnings" if what == "errors" else "errors"
    good = client.get(url, headers=headers, params={"limit": 5}).json()["next_cursor"]
    foreign = client.get(
        f"{JOBS}/{job['job_id']}/{other}", headers=headers, params={"limit": 5}
    ).json()["next_cursor"]
    for cursor in ("nonsense", "!!!", good + "A", good + "==", foreign, "x" * 500, "é"):
        r = client.get(url, headers=headers, params={"cursor": cursor})
        error = assert_error(r, 400, "invalid_request")
        assert "cursor" in error["message"] and "next_cursor" in error["message"], cursor
    assert client.get(url, headers=headers, params={"cursor": good}).status_code == 200


@pytest.mark.parametrize("what", ["errors", "warnings"])
def test_another_ous_job_or_an_unknown_one_is_a_404_like_the_detail(
    client: TestClient,
    noisy_job: Any,
    auth: dict[str, str],
    what: str,
) -> None:
    _, job, _, _ = noisy_job
    for job_id in (job["job_id"], "job_00000000000000000000000000000000", "nonsense"):
        detail = assert_error(client.get(f"{JOBS}/{job_id}", headers=auth), 404)
        page = assert_error(client.get(f"{JOBS}/{job_id}/{what}", headers=auth), 404)
        assert page == detail
    assert_error(client.get(f"{JOBS}/{job['job_id']}/{what}"), 401)
    # A NUL in the id names no job (PostgreSQL text cannot hold it): 404, not 500.
    assert_error(client.get(f"{JOBS}/job_%00/{what}", headers=auth), 404)


def test_a_job_without_errors_or_warnings_has_empty_pages(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, "Email\njane@example.com\njohn@example.com\n")
    job = wait_job(client, auth, start(client, auth, preview["file_id"])["job_id"])
    assert (job["errors"], job["errors_total"], job["warnings"], job["warnings_total"]) == (
        [],
        0,
        [],
        0,
    )
    for what in ("errors", "warnings"):
        page = client.get(f"{JOBS}/{job['job_id']}/{what}", headers=auth).json()
        assert page == {"job_id": job["job_id"], what: [], "next_cursor": None}
