"""Mapping help through the real HTTP app: the preview's ``suggested_mappings`` (applied as they
are, they start an import that does what they say) and ``GET /leads/import/fields``. Expected
values are written out by hand."""

from __future__ import annotations

import csv
import io
from typing import Any

import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from api import app as app_module
from api.openapi import openapi_document
from tests.helpers import assert_error, lead_by, upload, wait_job
from tests.services import Workers

FIELDS = "/leads/import/fields"


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def documented(method: str, path: str, status: int, body: Any) -> None:
    """``body`` fits the schema the OpenAPI document gives the answer."""
    document = openapi_document(app_module.routes)
    reply = document["paths"][path][method]["responses"][str(status)]
    schema = reply["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    assert [e.message for e in validator.iter_errors(body)] == []


def start_with(
    client: TestClient, auth: dict[str, str], file_id: str, suggested: dict[str, Any]
) -> Any:
    """The start request made of the suggestion, unchanged."""
    body = {
        "file_id": file_id,
        "primary_identifier": suggested["primary_identifier"],
        "field_mappings": suggested["field_mappings"],
        "alias_mappings": suggested["alias_mappings"],
    }
    return client.post("/leads/import/start", headers=auth, json=body)


# --- suggestions in the preview ------------------------------------------------------------------

HUBSPOT = csv_text(
    [
        ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name",
         "Job Title", "Postal Code", "Twitter Username", "Email Opt Out", "Lifecycle Stage"],
        ["501", "Jane", "Doe", "jane@example.com", "+1 415 555 2671", "Example Inc", "CTO",
         "94105", "@janedoe", "false", "lead"],
        ["502", "John", "Smith", "john@example.com", "", "Acme Corp", "", "10001", "", "true",
         "customer"],
    ]
)  # fmt: skip


def test_the_preview_suggests_mappings(client: TestClient, auth: dict[str, str]) -> None:
    preview = upload(client, auth, HUBSPOT, name="hubspot.csv")
    assert preview["suggested_mappings"] == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company Name": "company",
            "Job Title": "title",
            "Postal Code": "postal_code",
        },
        "alias_mappings": {
            "Record ID": "_alias_external_id",
            "Phone Number": "_alias_phone",
            "Twitter Username": "_alias_social",
        },
        "ignored_columns": ["Email Opt Out", "Lifecycle Stage"],
    }
    documented("post", "/leads/import/preview", 200, preview)


def test_suggestions_use_the_values_csv_detection_found(
    client: TestClient, auth: dict[str, str]
) -> None:
    """Columns named like nothing known, but holding e-mail addresses and phone numbers."""
    content = csv_text(
        [
            ["Kontakt", "Erreichbar unter", "Vorname", "Name", "Ort"],
            ["anna@example.de", "+49 30 1234567", "Anna", "Schmidt", "Berlin"],
            ["ben@example.de", "030 7654321", "Ben", "Müller", "Hamburg"],
        ],
        delimiter=";",
    )
    preview = upload(client, auth, content)
    assert preview["auto_detected_identifiers"] == {
        "email_columns": ["Kontakt"],
        "phone_columns": ["Erreichbar unter"],
    }
    assert preview["suggested_mappings"] == {
        "primary_identifier": {"column": "Kontakt", "kind": "email"},
        "field_mappings": {"Vorname": "first_name", "Name": "last_name", "Ort": "city"},
        "alias_mappings": {"Erreichbar unter": "_alias_phone"},
        "ignored_columns": [],
    }


def test_a_file_without_identifiers_suggests_no_primary(
    client: TestClient, auth: dict[str, str]
) -> None:
    preview = upload(client, auth, "Name,Company,Shoe Size\r\nJane,Acme,42\r\n")
    assert preview["suggested_mappings"] == {
        "primary_identifier": None,
        "field_mappings": {"Name": "full_name", "Company": "company"},
        "alias_mappings": {},
        "ignored_columns": ["Shoe Size"],
    }
    documented("post", "/leads/import/preview", 200, preview)


EXPORTS = {
    "salesforce": [
        ["Id", "Salutation", "FirstName", "LastName", "Title", "Company", "Email", "Phone",
         "MobilePhone", "Fax", "Street", "PostalCode", "LeadSource", "Status", "OwnerId"],
        ["00Q1", "Ms.", "Jane", "Doe", "CTO", "Example Inc", "jane@example.com",
         "(415) 555-2671", "", "", "1 Main St", "94105", "Web", "Open", "005A"],
    ],
    "mailchimp": [
        ["Email Address", "First Name", "Last Name", "Phone Number", "TIMEZONE", "LEID", "TAGS"],
        ["jane@example.com", "Jane", "Doe", "415-555-2671", "America/Los_Angeles", "123", ""],
    ],
    "linkedin": [
        ["First Name", "Last Name", "URL", "Email Address", "Company", "Position",
         "Connected On"],
        ["Jane", "Doe", "https://www.linkedin.com/in/janedoe", "jane@example.com", "Acme",
         "CTO", "01 Mar 2024"],
    ],
    "german": [
        ["Kundennummer", "Anrede", "Vorname", "Nachname", "Firma", "E-Mail", "Telefon", "Handy",
         "Straße", "PLZ", "Ort"],
        ["K-1", "Frau", "Anna", "Schmidt", "Beispiel GmbH", "anna@example.de", "030 1234567",
         "0171 1234567", "Hauptstr. 1", "10115", "Berlin"],
    ],
    "french": [
        ["Civilité", "Prénom", "Nom", "Société", "E-mail", "Portable", "Code postal", "Ville"],
        ["Mme", "Claire", "Martin", "Exemple SA", "claire@example.fr", "06 12 34 56 78", "75001",
         "Paris"],
    ],
    "spanish": [
        ["Nombre", "Apellidos", "Empresa", "Correo electrónico", "Móvil", "Número de cliente"],
        ["Lucía", "García López", "Ejemplo SL", "lucia@example.es", "612 345 678", "C-77"],
    ],
    "outlook": [
        ["Title", "First Name", "Last Name", "Job Title", "E-mail Address", "E-mail 2 Address",
         "Business Phone", "Business Fax"],
        ["Dr.", "Jane", "Doe", "CTO", "jane@example.com", "jane.doe@home.example",
         "+1 415 555 2671", "+1 415 555 2672"],
    ],
}  # fmt: skip


@pytest.mark.parametrize("export", list(EXPORTS))
def test_suggestions_applied_as_they_are_start_an_import(
    client: TestClient, auth: dict[str, str], export: str
) -> None:
    preview = upload(client, auth, csv_text(EXPORTS[export]), name=f"{export}.csv")
    suggested = preview["suggested_mappings"]
    assert suggested["primary_identifier"] is not None
    r = start_with(client, auth, preview["file_id"], suggested)
    assert r.status_code == 202, r.text
    assert "ignored_fields" not in r.json()  # every suggested field is a known one


def test_an_import_of_the_suggestions_does_what_they_say(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, HUBSPOT, name="hubspot.csv")
    r = start_with(client, auth, preview["file_id"], preview["suggested_mappings"])
    assert r.status_code == 202, r.text
    job = wait_job(client, auth, r.json()["job_id"])
    assert (job["status"], job["created_count"], job["failed_count"]) == ("completed", 2, 0)
    assert job["warnings"] == []
    [jane] = lead_by(client, auth, email="jane@example.com")
    assert jane["fields"] == {
        "first_name": "Jane",
        "last_name": "Doe",
        "company": "Example Inc",
        "title": "CTO",
        "postal_code": "94105",
    }
    assert jane["identifiers"] == {
        "email": ["jane@example.com"],
        "external_id": ["501"],
        "phone": ["+14155552671"],
        "social": ["janedoe"],
    }
    assert lead_by(client, auth, external_id="502")[0]["fields"]["company"] == "Acme Corp"


# --- GET /leads/import/fields --------------------------------------------------------------------


def test_fields_lists_every_profile_field_and_alias_target(
    client: TestClient, auth: dict[str, str]
) -> None:
    r = client.get(FIELDS, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    documented("get", FIELDS, 200, body)
    assert set(body) == {"fields", "alias_targets"}
    # The table of docs/api.md, in its order.
    assert [f["name"] for f in body["fields"]] == [
        "salutation", "first_name", "middle_name", "last_name", "full_name", "title",
        "department", "company", "industry", "website", "annual_revenue", "employee_count",
        "address", "address2", "city", "state", "postal_code", "country", "timezone",
        "language", "birthday", "gender", "linkedin_url", "twitter", "lead_source",
        "lead_status", "notes",
    ]  # fmt: skip
    by_name = {f["name"]: f["description"] for f in body["fields"]}
    assert by_name["first_name"] == "Given name."
    assert by_name["postal_code"] == "Postal or ZIP code."
    assert all(set(f) == {"name", "description"} and f["description"] for f in body["fields"])
    assert [(a["target"], a["kind"]) for a in body["alias_targets"]] == [
        ("_alias_email", "email"),
        ("_alias_phone", "phone"),
        ("_alias_cookie", "cookie"),
        ("_alias_external_id", "external_id"),
        ("_alias_social", "social"),
    ]
    assert all(a["description"].endswith(".") for a in body["alias_targets"])


def test_fields_needs_a_token(client: TestClient) -> None:
    r = client.get(FIELDS)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get(FIELDS, headers={"Authorization": "Bearer li_not-a-token"})
    assert_error(r, 401, "unauthorized")
