"""Progress of a job in the detail and the list: ``processed_rows``, ``percent``, the recent
``rows_per_second`` and ``eta_seconds`` while it runs (docs/api.md, "Progress of a job").

What the counts must be comes from the test's own file: every data row gets an outcome."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from application.container import Container
from tests.helpers import big_csv, import_csv, start, upload, wait_for, wait_job
from tests.services import Workers

PROGRESS_KEYS = ("processed_rows", "percent", "rows_per_second", "eta_seconds", "queue")


def counted(job: dict[str, Any]) -> int:
    keys = ("created_count", "updated_count", "failed_count", "skipped_count")
    return sum(int(job[k]) for k in keys)


def test_a_large_job_shows_its_progress_rate_and_time_left(
    client: TestClient, auth: dict[str, str], container: Container, workers: Workers
) -> None:
    rows = 50_000
    content = big_csv(rows, seed=11, prefix="progress")
    assert content.count("\n") == rows + 1  # the header and one line per row: the oracle
    job_id = start(client, auth, upload(client, auth, content)["file_id"])["job_id"]
    polls: list[dict[str, Any]] = []

    def moving() -> dict[str, Any] | None:
        r = client.get(f"/leads/import/jobs/{job_id}", headers=auth)
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        polls.append(job)
        assert job["status"] in ("queued", "in_progress"), (
            f"the job ended before its detail showed a rate and a time left: {polls[-5:]}"
        )
        shows = (
            0 < job["percent"] < 100
            and isinstance(job["rows_per_second"], int | float)
            and job["rows_per_second"] > 0
            and isinstance(job["eta_seconds"], int)
        )
        return job if shows else None

    running = wait_for(moving, 120, "the detail to show a rate and a time left")
    assert running["status"] == "in_progress" and running["queue"] is None
    assert 0 < running["processed_rows"] < rows
    assert running["processed_rows"] == counted(running)
    assert running["eta_seconds"] >= 0
    # the list shows the same progress figures
    [item] = client.get("/leads/import/jobs", headers=auth).json()["jobs"]
    assert item["processed_rows"] >= running["processed_rows"]
    assert item["percent"] >= running["percent"]

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/leads/import/jobs/{job_id}", headers=auth).json()
        polls.append(job)
        return job if job["status"] not in ("queued", "in_progress") else None

    done = wait_for(finished, 180, f"job {job_id} to finish")
    assert done["status"] == "completed"
    assert (done["total_rows"], done["processed_rows"], counted(done)) == (rows, rows, rows)
    assert done["percent"] == 100
    assert (done["rows_per_second"], done["eta_seconds"], done["queue"]) == (None, None, None)
    # percent and rows processed never go back, and 100 comes only with every row
    percents = [p["percent"] for p in polls]
    processed = [p["processed_rows"] for p in polls]
    assert percents == sorted(percents) and processed == sorted(processed)
    assert all(p["percent"] < 100 for p in polls if p["processed_rows"] < rows)
    [item] = client.get("/leads/import/jobs", headers=auth).json()["jobs"]
    assert (item["processed_rows"], item["percent"]) == (rows, 100)
    # the job's progress samples went with its end
    with container.pool.connection() as conn:
        left = conn.execute(
            "SELECT count(*) AS n FROM job_progress WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert left == {"n": 0}


def test_skipped_rows_are_processed_rows(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    content = "Email,First Name\n" + "".join(f"s{i}@example.com,S{i}\n" for i in range(40))
    first = import_csv(client, auth, content)
    again = import_csv(client, auth, content, mode="create_only")
    assert (first["created_count"], again["skipped_count"]) == (40, 40)
    for job in (first, again):
        assert (job["processed_rows"], job["percent"]) == (40, 100)


def test_a_job_of_no_rows_is_done_when_it_completed(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, "Email,First Name\n")
    started = start(client, auth, preview["file_id"])
    queued = client.get(f"/leads/import/jobs/{started['job_id']}", headers=auth).json()
    if queued["status"] != "completed":
        assert queued["percent"] == 0
    job = wait_job(client, auth, started["job_id"])
    assert job["status"] == "completed"
    assert (job["total_rows"], job["processed_rows"], job["percent"]) == (0, 0, 100)
    assert all(k in job for k in PROGRESS_KEYS)
