"""The spec's first use case end to end: preview, start, completed, leads stored."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.helpers import import_csv, lead_by
from tests.services import Workers

CSV = (
    "Email,First Name,Last Name,Company,Phone\n"
    "jane@example.com,Jane,Doe,Example Inc,+1-555-0100\n"
    "john@example.com,John,Smith,Acme Corp,+1-555-0101\n"
    "not-an-email,X,Y,Z,\n"
    ",Nobody,,,\n"
)


def test_migrate_contacts(client: TestClient, auth: dict[str, str], workers: Workers) -> None:
    job = import_csv(
        client,
        auth,
        CSV,
        field_mappings={"First Name": "first_name", "Last Name": "last_name", "Company": "company"},
        alias_mappings={"Phone": "_alias_phone"},
    )
    assert job["status"] == "completed"
    assert (job["total_rows"], job["created_count"], job["updated_count"], job["failed_count"]) == (
        4,
        2,
        0,
        2,
    )
    assert job["errors"] == [
        {"row": 4, "error": "Invalid email format", "value": "not-an-email"},
        {"row": 5, "error": "Missing required identifier", "value": ""},
    ]
    [jane] = lead_by(client, auth, email="JANE@example.com")
    assert jane["fields"] == {"first_name": "Jane", "last_name": "Doe", "company": "Example Inc"}
    assert jane["identifiers"] == {"email": ["jane@example.com"], "phone": ["+15550100"]}
