"""The spec's three use cases, run as written: preview, start with the spec's body, monitor,
then the final lead state through GET /leads?email=... and GET /leads/{lead_id}."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from starlette.testclient import TestClient

from tests.helpers import import_csv, lead_by, upload, wait_job
from tests.services import Workers


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as spreadsheets write it
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def lead(client: TestClient, auth: dict[str, str], **query: str) -> dict[str, Any]:
    """The one lead found by an identifier, read again by id: both views must agree."""
    found = lead_by(client, auth, **query)
    assert len(found) == 1, found
    r = client.get(f"/leads/{found[0]['lead_id']}", headers=auth)
    assert r.status_code == 200, r.text
    by_id: dict[str, Any] = r.json()
    assert by_id == found[0]
    assert set(by_id) == {"lead_id", "identifiers", "fields", "created_at", "updated_at"}
    return by_id


def start_raw(client: TestClient, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(
        "/leads/import/start", headers={**auth, "Content-Type": "application/json"}, json=body
    )
    assert r.status_code == 202, r.text
    result: dict[str, Any] = r.json()
    return result


def test_migrate_contacts_from_another_system(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    rows = [
        ["jane@example.com", "Jane", "Doe", "Example Inc", "Head of Marketing"],
        ["john@example.com", "John", "Smith", "Acme Corp", ""],
        ["Mary.Major@Example.org", "Mary", "Major", "", "CTO"],
        ["not-an-email", "Bad", "Row", "Nowhere", ""],
        ["", "No", "Email", "Nowhere", ""],
        ["JANE@example.com", "", "", "", "VP Marketing"],
    ]
    content = csv_text(["Email", "FirstName", "LastName", "Company", "Title"], rows)

    # Step 1: preview the CSV
    preview = upload(client, auth, content, name="contacts.csv")
    assert preview["file_id"].startswith("preview_")
    assert preview["file_name"] == "contacts.csv"
    assert preview["headers"] == ["Email", "FirstName", "LastName", "Company", "Title"]
    assert preview["row_count"] == 6
    assert preview["sample_rows"] == rows[:5]
    assert preview["auto_detected_identifiers"]["email_columns"] == ["Email"]

    # Step 2: start the import with the spec's mappings
    started = start_raw(
        client,
        auth,
        {
            "file_id": preview["file_id"],
            "primary_identifier": {"column": "Email", "kind": "email"},
            "field_mappings": {
                "FirstName": "first_name",
                "LastName": "last_name",
                "Company": "company",
                "Title": "title",
            },
        },
    )
    assert started["job_id"].startswith("job_")
    assert {k: v for k, v in started.items() if k != "job_id"} == {
        "status": "queued",
        "message": "Import job started",
        "file_name": "contacts.csv",
        "total_rows": 6,
    }

    # Step 3: monitor progress
    job = wait_job(client, auth, started["job_id"])
    assert job["status"] == "completed"
    assert (job["total_rows"], job["created_count"], job["updated_count"], job["failed_count"]) == (
        6,
        3,
        1,
        2,
    )
    assert job["errors"] == [
        {"row": 5, "error": "Invalid email format", "value": "not-an-email"},
        {"row": 6, "error": "Missing required identifier", "value": ""},
    ]
    assert job["primary_identifier"] == {"column": "Email", "kind": "email"}

    jane = lead(client, auth, email="jane@example.com")
    assert jane["identifiers"] == {"email": ["jane@example.com"]}
    assert jane["fields"] == {
        "first_name": "Jane",
        "last_name": "Doe",
        "company": "Example Inc",
        "title": "VP Marketing",
    }
    john = lead(client, auth, email="john@example.com")
    assert john["fields"] == {"first_name": "John", "last_name": "Smith", "company": "Acme Corp"}
    mary = lead(client, auth, email="mary.major@example.org")
    assert mary["identifiers"] == {"email": ["mary.major@example.org"]}
    assert mary["fields"] == {"first_name": "Mary", "last_name": "Major", "title": "CTO"}
    assert lead_by(client, auth, email="not-an-email@example.com") == []


def test_import_event_leads_with_multiple_identifiers(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    # A lead the CRM already knows, with another phone number.
    import_csv(
        client,
        auth,
        csv_text(["Email", "Phone"], [["ann@example.com", "+1 415 555 0000"]]),
        alias_mappings={"Phone": "_alias_phone"},
    )
    header = ["Email", "Name", "Company", "Booth Notes", "Mobile", "Badge ID"]
    rows = [
        ["ann@example.com", "Ann", "Acme Corp", "Wants a demo", "+1 (415) 555-2671", "B-1001"],
        ["ben@example.com", "Ben", "Globex", "", "415.555.2672", "B-1002"],
        ["cat@example.com", "Cat", "", "Call after 5pm", "", "B-1003"],
        ["dan@example.com", "Dan", "Initech", "Scanned twice", "(415) 555-2674", ""],
        ["dan@example.com", "", "", "", "(415) 555-2674", "B-1004"],  # second scan of Dan
    ]
    preview = upload(client, auth, csv_text(header, rows), name="tradeshow.csv")
    assert preview["auto_detected_identifiers"] == {
        "email_columns": ["Email"],
        "phone_columns": ["Mobile"],
    }
    started = start_raw(
        client,
        auth,
        {
            "file_id": preview["file_id"],
            "primary_identifier": {"column": "Email", "kind": "email"},
            "field_mappings": {"Name": "first_name", "Company": "company", "Booth Notes": "notes"},
            "alias_mappings": {"Mobile": "_alias_phone", "Badge ID": "_alias_external_id"},
        },
    )
    assert started["status"] == "queued"
    job = wait_job(client, auth, started["job_id"])
    assert job["status"] == "completed"
    assert (job["total_rows"], job["created_count"], job["updated_count"], job["failed_count"]) == (
        5,
        3,
        2,
        0,
    )
    assert job["errors"] == []
    assert job["warnings"] == []
    assert job["alias_mappings"] == {"Mobile": "_alias_phone", "Badge ID": "_alias_external_id"}

    ann = lead(client, auth, email="ann@example.com")
    assert ann["identifiers"] == {
        "email": ["ann@example.com"],
        "phone": ["+14155550000", "+14155552671"],
        "external_id": ["B-1001"],
    }
    assert ann["fields"] == {"first_name": "Ann", "company": "Acme Corp", "notes": "Wants a demo"}
    assert lead(client, auth, phone="415-555-2671") == ann
    assert lead(client, auth, external_id="B-1001") == ann

    ben = lead(client, auth, external_id="B-1002")
    assert ben["identifiers"] == {
        "email": ["ben@example.com"],
        "phone": ["+14155552672"],
        "external_id": ["B-1002"],
    }
    assert ben["fields"] == {"first_name": "Ben", "company": "Globex"}

    cat = lead(client, auth, email="cat@example.com")
    assert cat["identifiers"] == {"email": ["cat@example.com"], "external_id": ["B-1003"]}
    assert cat["fields"] == {"first_name": "Cat", "notes": "Call after 5pm"}

    dan = lead(client, auth, phone="+14155552674")
    assert dan["identifiers"] == {
        "email": ["dan@example.com"],
        "phone": ["+14155552674"],
        "external_id": ["B-1004"],
    }
    assert dan["fields"] == {"first_name": "Dan", "company": "Initech", "notes": "Scanned twice"}


def test_bulk_update_existing_leads(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    seeded = import_csv(
        client,
        auth,
        csv_text(
            ["Email", "First Name", "Title", "Company"],
            [
                ["jane@example.com", "Jane", "Marketing Manager", "Example Inc"],
                ["john@example.com", "John", "Engineer", "Acme Corp"],
                ["mary@example.com", "Mary", "Analyst", "Globex"],
            ],
        ),
        field_mappings={"First Name": "first_name", "Title": "title", "Company": "company"},
    )
    assert seeded["created_count"] == 3
    before = {e: lead(client, auth, email=e) for e in ("jane@example.com", "john@example.com")}

    header = ["Email", "Updated Title", "Current Company"]
    rows = [
        ["jane@example.com", "Head of Marketing", "Example Inc"],  # title changes
        ["JOHN@EXAMPLE.COM", "", "Initech"],  # company changes, empty title kept
        ["mary@example.com", "", ""],  # nothing to change: still an update
        ["new.person@example.com", "Founder", "Startup"],  # not known yet: created
        ["n/a", "Ghost", "Nowhere"],
    ]
    preview = upload(client, auth, csv_text(header, rows), name="updates.csv")
    started = start_raw(
        client,
        auth,
        {
            "file_id": preview["file_id"],
            "primary_identifier": {"column": "Email", "kind": "email"},
            "field_mappings": {"Updated Title": "title", "Current Company": "company"},
        },
    )
    job = wait_job(client, auth, started["job_id"])
    assert job["status"] == "completed"
    assert job["file_name"] == "updates.csv"
    assert (job["total_rows"], job["created_count"], job["updated_count"], job["failed_count"]) == (
        5,
        1,
        3,
        1,
    )
    assert job["errors"] == [{"row": 6, "error": "Missing required identifier", "value": "n/a"}]
    assert job["field_mappings"] == {"Updated Title": "title", "Current Company": "company"}

    jane = lead(client, auth, email="jane@example.com")
    assert jane["lead_id"] == before["jane@example.com"]["lead_id"]
    assert jane["fields"] == {
        "first_name": "Jane",
        "title": "Head of Marketing",
        "company": "Example Inc",
    }
    assert jane["created_at"] == before["jane@example.com"]["created_at"]
    john = lead(client, auth, email="john@example.com")
    assert john["lead_id"] == before["john@example.com"]["lead_id"]
    assert john["fields"] == {"first_name": "John", "title": "Engineer", "company": "Initech"}
    mary = lead(client, auth, email="mary@example.com")
    assert mary["fields"] == {"first_name": "Mary", "title": "Analyst", "company": "Globex"}
    new = lead(client, auth, email="new.person@example.com")
    assert new["fields"] == {"title": "Founder", "company": "Startup"}
