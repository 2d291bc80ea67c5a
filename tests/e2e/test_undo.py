"""Undo of a whole import over HTTP, against the worker processes: compensating events put every
lead back as it was, keep what later imports changed, and say so in the job's undo_report."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.testclient import TestClient

from adapters.embedded import EmbeddedKafka
from adapters.tokens import create_token
from api.app import create_app
from application import jobs, undo
from application.container import Container
from domain.lead import Lead
from runtime import bootstrap
from tests.helpers import import_csv, lead_by, start, upload, wait_for
from tests.services import Workers, own_database

FIELDS = {"First Name": "first_name", "Company": "company", "City": "city", "Title": "title"}
PHONE_ALIAS = {"Phone": "_alias_phone"}


def fields_of(content: str) -> dict[str, str]:
    """The FIELDS mappings of the columns the file has (a mapped column must exist)."""
    header = content.split("\n", 1)[0].split(",")
    return {column: FIELDS[column] for column in header if column in FIELDS}


def import_file(
    client: TestClient, auth: dict[str, str], content: str, **extra: Any
) -> dict[str, Any]:
    """Import ``content`` (primary identifier: Email) with its FIELDS columns mapped."""
    return import_csv(client, auth, content, field_mappings=fields_of(content), **extra)


def detail(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    r = client.get(f"/leads/import/jobs/{job_id}", headers=auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def undo_and_wait(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    """POST undo, check the 202, and wait for ``undone``: the job detail then."""
    r = client.post(f"/leads/import/jobs/{job_id}/undo", headers=auth)
    assert r.status_code == 202, r.text
    assert r.json() == {"job_id": job_id, "status": "undoing"}

    def undone() -> dict[str, Any] | None:
        job = detail(client, auth, job_id)
        assert job["status"] in ("undoing", "undone"), job["status"]
        return job if job["status"] == "undone" else None

    return wait_for(undone, 120, f"job {job_id} to be undone")


def one_lead(client: TestClient, auth: dict[str, str], **query: str) -> dict[str, Any]:
    [found] = lead_by(client, auth, **query)
    return found


def event_types(container: Container, lead_id: str) -> list[str]:
    return [type(e).__name__ for e in container.store.events.get(UUID(lead_id))]


def test_undo_puts_every_lead_back_as_before_the_import(
    client: TestClient, auth: dict[str, str], workers: Workers, container: Container
) -> None:
    import_file(
        client,
        auth,
        "Email,First Name,Company,City\njane@example.com,Jane,Old Inc,Paris\n",
    )
    jane_before = one_lead(client, auth, email="jane@example.com")
    job = import_file(
        client,
        auth,
        "Email,First Name,Company,Title,Phone\n"
        "jane@example.com,Janet,Acme,CTO,+1 415 555 2671\n"
        "new1@example.com,Nina,One Co,,+1 415 555 2672\n"
        "not-an-email,Bad,Row,,\n"
        "new2@example.com,Noah,,,\n"
        "new1@example.com,,One Co Ltd,,\n",
        alias_mappings=PHONE_ALIAS,
    )
    assert (job["created_count"], job["updated_count"], job["failed_count"]) == (2, 2, 1)
    new1 = one_lead(client, auth, email="new1@example.com")
    new2 = one_lead(client, auth, email="new2@example.com")

    done = undo_and_wait(client, auth, job["job_id"])

    assert done["undo_report"] == {
        "leads_deleted": 2,
        "leads_reverted": 1,
        "fields_reverted": 3,
        "aliases_removed": 1,
        "not_undone": [],
        "not_undone_total": 0,
        "leads_erased": 0,
        "erased_lead_ids": [],
    }
    # Counters and errors stay: they are the history of the import.
    assert (done["created_count"], done["updated_count"], done["failed_count"]) == (2, 2, 1)
    jane = one_lead(client, auth, email="jane@example.com")
    assert {k: jane[k] for k in ("lead_id", "identifiers", "fields", "created_at")} == {
        k: jane_before[k] for k in ("lead_id", "identifiers", "fields", "created_at")
    }
    for gone in (new1, new2):
        [email] = gone["identifiers"]["email"]
        assert lead_by(client, auth, email=email) == []
        assert client.get(f"/leads/{gone['lead_id']}", headers=auth).status_code == 404
        # History is never deleted: the lead's events end with the compensation.
        assert event_types(container, gone["lead_id"])[-1] == "LeadDeleted"
    for phone in ("+14155552671", "+14155552672"):
        assert lead_by(client, auth, phone=phone) == []
    assert event_types(container, jane["lead_id"])[-2:] == [
        "LeadProfileReverted",
        "LeadAliasRemoved",
    ]

    # Undoing twice: the job is undone, a second request is a conflict that changes nothing.
    again = client.post(f"/leads/import/jobs/{job['job_id']}/undo", headers=auth)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert "already undone" in again.json()["error"]["message"]
    assert detail(client, auth, job["job_id"])["undo_report"] == done["undo_report"]
    # A cancel of an undone job is a conflict too.
    assert client.post(f"/leads/import/jobs/{job['job_id']}/cancel", headers=auth).status_code == (
        409
    )

    # The identifiers are free again: importing them creates new leads.
    again_job = import_file(
        client,
        auth,
        "Email,First Name,Phone\nnew1@example.com,Nina,+1 415 555 2671\n",
        alias_mappings=PHONE_ALIAS,
    )
    assert again_job["created_count"] == 1
    reborn = one_lead(client, auth, email="new1@example.com")
    assert reborn["lead_id"] != new1["lead_id"]
    assert reborn["identifiers"] == {"email": ["new1@example.com"], "phone": ["+14155552671"]}


def test_undo_keeps_what_later_imports_changed_and_reports_it(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    import_file(
        client,
        auth,
        "Email,First Name,Company,City\n"
        "jane@example.com,Jane,Old Inc,Paris\n"
        "john@example.com,John,,\n"
        "mary@example.com,Mary,,\n",
    )
    a = import_file(
        client,
        auth,
        "Email,Company,City,Title,Phone\n"
        "jane@example.com,Acme,Lyon,CTO,+1 415 555 2671\n"
        "john@example.com,,,VP,+1 415 555 2672\n"
        "ann@example.com,Ann Co,,,\n"
        "mary@example.com,,,,+1 415 555 2673\n",
        alias_mappings=PHONE_ALIAS,
    )
    # B maps no phones: it changes a field A set (jane's company), adds its own data, and
    # changes the lead A created (ann).
    b = import_csv(
        client,
        auth,
        "Email,Company,Notes\njane@example.com,Beta,from B\nann@example.com,,met at fair\n",
        field_mappings={"Company": "company", "Notes": "notes"},
    )
    # C maps phones: its row for mary may have reached her through A's phone alias.
    c = import_csv(
        client,
        auth,
        "Email,Mobile,Notes\nmary@example.com,,called\n",
        field_mappings={"Notes": "notes"},
        alias_mappings={"Mobile": "_alias_phone"},
    )
    ann = one_lead(client, auth, email="ann@example.com")
    jane_id = one_lead(client, auth, email="jane@example.com")["lead_id"]
    mary_id = one_lead(client, auth, email="mary@example.com")["lead_id"]

    done = undo_and_wait(client, auth, a["job_id"])

    jane = one_lead(client, auth, email="jane@example.com")
    assert jane["fields"] == {
        "first_name": "Jane",
        "company": "Beta",  # B's change stays
        "city": "Paris",  # A's change reverted
        "notes": "from B",
    }
    assert jane["identifiers"] == {"email": ["jane@example.com"]}
    john = one_lead(client, auth, email="john@example.com")
    assert john["fields"] == {"first_name": "John"}
    assert john["identifiers"] == {"email": ["john@example.com"]}
    assert one_lead(client, auth, email="ann@example.com") == ann  # kept as it is
    mary = one_lead(client, auth, email="mary@example.com")
    assert mary["identifiers"] == {"email": ["mary@example.com"], "phone": ["+14155552673"]}
    assert mary["fields"] == {"first_name": "Mary", "notes": "called"}

    report = done["undo_report"]
    assert (report["leads_deleted"], report["leads_reverted"]) == (0, 2)
    assert report["fields_reverted"] == 3  # jane's city and title, john's title
    assert report["aliases_removed"] == 2  # jane's and john's phones
    entries = {(n["lead_id"], n["what"]): n for n in report["not_undone"]}
    assert report["not_undone_total"] == len(entries) == 3
    company = entries[(jane_id, "field")]
    assert (company["field"], company["later_job_id"], company["later_row"]) == (
        "company",
        b["job_id"],
        2,
    )
    kept = entries[(ann["lead_id"], "lead")]
    assert (kept["later_job_id"], kept["later_row"]) == (b["job_id"], 3)
    alias = entries[(mary_id, "alias")]
    assert alias["alias"] == {"kind": "phone", "value": "+14155552673"}
    assert (alias["later_job_id"], alias["later_row"]) == (c["job_id"], 2)
    assert all(n["reason"] for n in report["not_undone"])


def test_a_redelivered_undo_after_a_crash_compensates_each_lead_once(
    client: TestClient, auth: dict[str, str], workers: Workers, container: Container
) -> None:
    job = import_file(
        client,
        auth,
        "Email,First Name\n" + "".join(f"u{i}@example.com,U{i}\n" for i in range(6)),
    )
    job_id = job["job_id"]
    # The undo starts (no request is published: this test plays the importer) and dies after
    # its first batch of leads.
    aggregate = jobs.get_job_aggregate(container, job_id)
    assert aggregate is not None and aggregate.request_undo()
    jobs.save_job(container, aggregate)
    leads = undo.touched_leads(container, job_id)
    assert len(leads) == 6
    undo.undo_leads(container, job_id, leads[:4], {})
    # The request is delivered again, twice.
    undo.handle_undo_request(container, job_id)
    undo.handle_undo_request(container, job_id)

    done = detail(client, auth, job_id)
    assert done["status"] == "undone"
    assert done["undo_report"]["leads_deleted"] == 6
    for lead_id in leads:
        events: list[Any] = list(container.store.events.get(lead_id))
        assert [type(e) for e in events] == [Lead.LeadCreated, Lead.LeadDeleted]
        assert (events[-1].job_id, events[-1].undo) == (job_id, True)
    assert all(lead_by(client, auth, email=f"u{i}@example.com") == [] for i in range(6))


def test_undo_answers_409_for_running_jobs_and_404_for_foreign_ones(database_url: str) -> None:
    # A database and a broker of its own: no importer reads the job request, and no importer's
    # sweep (which starts every queued job its OU has a slot for) sees the job: it stays where
    # this test puts it.
    broker = EmbeddedKafka()
    with own_database(database_url, "undo") as url:
        c = bootstrap.build(url, broker.start())
        try:
            with TestClient(create_app(c), raise_server_exceptions=False) as client:
                _undo_refused_until_cancelled(
                    client,
                    c,
                    {"Authorization": f"Bearer {create_token(c.pool, 'ou-undo')}"},
                    lambda ou: {"Authorization": f"Bearer {create_token(c.pool, ou)}"},
                )
        finally:
            c.close()
            broker.stop()


def _undo_refused_until_cancelled(
    client: TestClient, c: Container, auth: dict[str, str], make_auth: Any
) -> None:
    job_id = start(client, auth, upload(client, auth, "Email\nq@example.com\n")["file_id"])[
        "job_id"
    ]
    url = f"/leads/import/jobs/{job_id}/undo"
    queued = client.post(url, headers=auth)
    assert queued.status_code == 409
    assert queued.json()["error"]["code"] == "conflict"
    assert "cancel it first" in queued.json()["error"]["message"].lower()
    job = jobs.get_job_aggregate(c, job_id)
    assert job is not None
    job.start()
    jobs.save_job(c, job)
    assert detail(client, auth, job_id)["status"] == "in_progress"
    assert client.post(url, headers=auth).status_code == 409

    assert client.post(url, headers=make_auth("ou-someone-else")).status_code == 404
    assert client.post("/leads/import/jobs/job_0123/undo", headers=auth).status_code == 404
    assert client.post("/leads/import/jobs/nonsense/undo", headers=auth).status_code == 404

    assert client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth).status_code == 200
    first = client.post(url, headers=auth)
    assert first.status_code == 202
    assert first.json() == {"job_id": job_id, "status": "undoing"}
    # Asked again while it is undoing (no importer reads this broker): 202, nothing changes.
    assert client.post(url, headers=auth).json() == {"job_id": job_id, "status": "undoing"}
    assert detail(client, auth, job_id)["status"] == "undoing"
    assert client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth).status_code == 409
