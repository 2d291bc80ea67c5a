"""Cancel: a running job stops where it is; a finished one cannot be cancelled."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from adapters.embedded import EmbeddedKafka
from adapters.tokens import create_token
from api.app import create_app
from application.container import Container
from runtime import bootstrap
from tests.helpers import import_csv, start, upload, wait_for
from tests.services import Workers, own_database


def csv_rows(n: int) -> str:
    return "Email,First Name\n" + "".join(f"c{i}@example.com,N{i}\n" for i in range(n))


def detail(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/leads/import/jobs/{job_id}", headers=auth).json()
    return body


def test_cancel_running_job_stops_counters(
    client: TestClient, auth: dict[str, str], workers: Workers, container: Container
) -> None:
    rows = 20_000
    job_id = start(client, auth, upload(client, auth, csv_rows(rows))["file_id"])["job_id"]
    wait_for(lambda: detail(client, auth, job_id)["created_count"] > 0, 60, "first rows applied")
    r = client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    at_cancel = r.json()["created_count"]
    # Idempotent: a second cancel answers the same.
    again = client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth)
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"
    # The workers drain what is still in the topic: nothing of it may be applied. Wait until the
    # lead workers have moved past every row of the job (their group lag is not visible here, so
    # import a small job after it and wait for that one: rows are consumed in publish order per
    # partition and the small job's rows land on every partition).
    import_csv(client, auth, csv_rows(200).replace("c", "after-"))
    final = detail(client, auth, job_id)
    assert final["status"] == "cancelled"
    assert final["created_count"] == at_cancel < rows
    with container.pool.connection() as conn:
        applied = conn.execute(
            "SELECT count(*) AS n FROM row_outcomes WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert applied == {"n": at_cancel}


def test_cancel_completed_job_is_a_conflict(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(client, auth, csv_rows(3))
    r = client.post(f"/leads/import/jobs/{job['job_id']}/cancel", headers=auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"
    assert detail(client, auth, job["job_id"])["status"] == "completed"


def test_cancel_queued_job_and_foreign_job(database_url: str) -> None:
    # A database and a broker of its own: no importer reads the job request, and no importer's
    # sweep (which starts every queued job its OU has a slot for) sees the job: it stays
    # queued for certain.
    broker = EmbeddedKafka()
    with own_database(database_url, "cancel") as url:
        c = bootstrap.build(url, broker.start())
        try:
            with TestClient(create_app(c), raise_server_exceptions=False) as client:
                auth = {"Authorization": f"Bearer {create_token(c.pool, 'ou-cancel')}"}
                _cancel_queued(
                    client,
                    auth,
                    lambda ou: {"Authorization": f"Bearer {create_token(c.pool, ou)}"},
                )
        finally:
            c.close()
            broker.stop()


def _cancel_queued(client: TestClient, auth: dict[str, str], make_auth: Any) -> None:
    job_id = start(client, auth, upload(client, auth, csv_rows(2))["file_id"])["job_id"]
    assert detail(client, auth, job_id)["status"] == "queued"
    other = make_auth("ou-someone-else")
    assert client.post(f"/leads/import/jobs/{job_id}/cancel", headers=other).status_code == 404
    r = client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert r.json()["completed_at"] is not None
    missing = client.post("/leads/import/jobs/job_0123/cancel", headers=auth)
    assert missing.status_code == 404
