"""What an erasure does to stored uploads beyond the lead's imported rows: a preview that was
never imported loses the person's whole record (not just the identifier's cell), a job queued
on a file before the erasure still completes (the emptied record gets a failed outcome, so the
job reaches its total), and other people's near-miss values stay."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from application import erasure
from application.container import Container
from tests.e2e.test_erasure import dump, forms, hits
from tests.e2e.test_hot_lead import _close_job, _open_job
from tests.helpers import import_csv, job_items, lead_by, start, upload, wait_job
from tests.services import Workers


def _erase(container: Container, ou: str, lead_id: str) -> dict[str, Any]:
    request, _ = erasure.request_erasure(container, ou, uuid.UUID(lead_id), "test")
    with container.pool.connection() as conn:
        logged = conn.execute(
            "SELECT * FROM erasure_requests WHERE erasure_id = %s", (request["erasure_id"],)
        ).fetchone()
    return erasure.carry_out(container, logged)


def test_uploads_lose_the_persons_records_and_a_queued_job_still_completes(
    client: TestClient,
    container: Container,
    workers: Workers,
    database_url: str,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    ou, tag = new_ou(), uuid.uuid4().hex[:8]
    headers = make_auth(ou)
    email = f"ann.{tag}@erasure-files.example"
    near = f"joann.{tag}@erasure-files.example"  # another person: her address ends the same
    other = f"otto.{tag}@erasure-files.example"
    person = [email, f"Annika{tag}", f"Annecy{tag}", f"Queued{tag}"]
    others = [near, f"Joanna{tag}", f"Joensuu{tag}", other, f"Otto{tag}"]
    imported = import_csv(client, headers, f"Email,Name\n{email},Ann\n")
    assert imported["created_count"] == 1
    [lead] = lead_by(client, headers, email=email)
    # Never imported: only the preview holds these rows.
    upload(
        client,
        headers,
        f"Email,Name,City\n{email},{person[1]},{person[2]}\n{near},{others[1]},{others[2]}\n",
    )
    # The OU runs as many jobs as it may: the next one waits in the queue.
    blockers = [_open_job(container, ou) for _ in range(3)]
    try:
        queued_file = upload(
            client, headers, f"Email,Name\n{email},{person[3]}\n{other},Otto{tag}\n"
        )
        job = start(client, headers, queued_file["file_id"])
        status = client.get(f"/leads/import/jobs/{job['job_id']}", headers=headers).json()
        assert status["status"] == "queued"
        assert set(hits(dump(database_url), person + others)) == set(person + others)

        _erase(container, ou, lead["lead_id"])
    finally:
        for b in blockers:
            _close_job(container, b)

    done = wait_job(client, headers, job["job_id"])
    assert done["status"] == "completed"
    assert (done["total_rows"], done["created_count"], done["failed_count"]) == (2, 1, 1)
    [error] = job_items(client, headers, job["job_id"], "errors")
    assert error["row"] == 2 and error["value"] == ""
    assert lead_by(client, headers, email=email) == []
    dumped = dump(database_url)
    assert set(hits(dumped, others)) == set(others)
    for form in sorted(forms(near), key=len, reverse=True):  # holds his address as a substring
        dumped = dumped.replace(form, b"")
    assert hits(dumped, person) == {}
