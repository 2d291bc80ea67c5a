"""Issue 3's import rules end to end: HTTP in, real broker and workers, leads out over HTTP."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient

from application.container import Container
from tests.helpers import import_csv, job_items, lead_by, start, upload, wait_job
from tests.services import Workers

ALIAS_TAKEN = "Alias not added: it already belongs to another lead"


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def counts(job: dict[str, Any]) -> tuple[str, int, int, int, int]:
    return (
        job["status"],
        job["total_rows"],
        job["created_count"],
        job["updated_count"],
        job["failed_count"],
    )


def one_lead(client: TestClient, auth: dict[str, str], **query: str) -> dict[str, Any]:
    leads = lead_by(client, auth, **query)
    assert len(leads) == 1, leads
    return leads[0]


# --- normalization ---------------------------------------------------------------------------


def test_email_case_and_spaces_make_one_lead(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(
        client,
        auth,
        csv_text(
            ["Email", "First Name"], [["Jane@Example.COM", "Jane"], [" jane@example.com ", ""]]
        ),
        field_mappings={"First Name": "first_name"},
    )
    assert counts(job) == ("completed", 2, 1, 1, 0)
    for spelled in ("jane@example.com", "JANE@EXAMPLE.COM", " Jane@example.com"):
        lead = one_lead(client, auth, email=spelled)
        assert lead["identifiers"] == {"email": ["jane@example.com"]}
        assert lead["fields"] == {"first_name": "Jane"}


@pytest.mark.parametrize(
    ("kind", "cells", "stored", "lookups"),
    [
        pytest.param(
            "phone",
            ["555-0100", "+1-555-0100", "(415) 555-2671"],
            ["5550100", "+15550100", "+14155552671"],
            ["555-0100", "+1-555-0100", "415.555.2671"],
            id="phone",
        ),
        pytest.param(
            "social",
            ["@JaneDoe", "https://x.com/JohnDoe/"],
            ["janedoe", "https://x.com/johndoe"],
            ["janedoe", "https://x.com/JohnDoe"],
            id="social",
        ),
        pytest.param(
            "external_id",
            [" CRM-001 ", "crm-001"],
            ["CRM-001", "crm-001"],
            ["CRM-001", "crm-001"],
            id="external_id",
        ),
        pytest.param("cookie", ["AbC123"], ["AbC123"], [" AbC123 "], id="cookie"),
    ],
)
def test_primary_identifiers_of_each_kind_import_normalized(
    client: TestClient,
    auth: dict[str, str],
    workers: Workers,
    kind: str,
    cells: list[str],
    stored: list[str],
    lookups: list[str],
) -> None:
    rows = [[cell, f"Person {i}"] for i, cell in enumerate(cells)]
    job = import_csv(
        client,
        auth,
        csv_text(["Id", "Name"], rows),
        column="Id",
        kind=kind,
        field_mappings={"Name": "first_name"},
    )
    assert counts(job) == ("completed", len(cells), len(cells), 0, 0)
    assert job["errors"] == []
    for i, (value, lookup) in enumerate(zip(stored, lookups, strict=True)):
        lead = one_lead(client, auth, **{kind: lookup})
        assert lead["identifiers"] == {kind: [value]}
        assert lead["fields"] == {"first_name": f"Person {i}"}


@pytest.mark.parametrize(
    ("default_country", "stored"),
    [("GB", "+442079460958"), ("gb", "+442079460958"), (None, "02079460958")],
)
def test_default_country_for_phones_without_country_code(
    client: TestClient,
    auth: dict[str, str],
    workers: Workers,
    default_country: str | None,
    stored: str,
) -> None:
    extra = {} if default_country is None else {"default_country": default_country}
    job = import_csv(
        client,
        auth,
        csv_text(["Phone", "Email"], [["020 7946 0958", "jane@example.co.uk"]]),
        column="Phone",
        kind="phone",
        alias_mappings={"Email": "_alias_email"},
        **extra,
    )
    assert counts(job) == ("completed", 1, 1, 0, 0)
    lead = one_lead(client, auth, email="jane@example.co.uk")
    assert lead["identifiers"] == {"phone": [stored], "email": ["jane@example.co.uk"]}
    assert one_lead(client, auth, phone=stored)["lead_id"] == lead["lead_id"]


def test_default_country_applies_to_alias_phones(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(
        client,
        auth,
        csv_text(["Email", "Phone"], [["jane@example.co.uk", "020 7946 0958"]]),
        alias_mappings={"Phone": "_alias_phone"},
        default_country="GB",
    )
    assert counts(job) == ("completed", 1, 1, 0, 0)
    lead = one_lead(client, auth, phone="+44 20 7946 0958")
    assert lead["identifiers"] == {"email": ["jane@example.co.uk"], "phone": ["+442079460958"]}


# --- row errors ------------------------------------------------------------------------------


def test_row_errors_have_exact_messages_values_and_spreadsheet_rows(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    rows = [
        ["jane@example.com", "Jane"],  # row 2
        ["not-an-email", "X"],  # row 3
        ["", "Nobody"],  # row 4
        ["n/a", "Placeholder"],  # row 5
        ["NULL", "Placeholder"],  # row 6
        ["  ", "Blank"],  # row 7
        ["john@example.com", "John"],  # row 8
        ["john at example dot com", "Y"],  # row 9
        ["-", "Dash"],  # row 10
    ]
    job = import_csv(
        client, auth, csv_text(["Email", "Name"], rows), field_mappings={"Name": "first_name"}
    )
    assert counts(job) == ("completed", 9, 2, 0, 7)
    assert job["errors"] == [
        {"row": 3, "error": "Invalid email format", "value": "not-an-email"},
        {"row": 4, "error": "Missing required identifier", "value": ""},
        {"row": 5, "error": "Missing required identifier", "value": "n/a"},
        {"row": 6, "error": "Missing required identifier", "value": "NULL"},
        {"row": 7, "error": "Missing required identifier", "value": "  "},
        {"row": 9, "error": "Invalid email format", "value": "john at example dot com"},
        {"row": 10, "error": "Missing required identifier", "value": "-"},
    ]
    assert one_lead(client, auth, email="john@example.com")["fields"] == {"first_name": "John"}


def test_invalid_phone_primary_fails_the_row(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    rows = [["555-0100"], ["555-CALL-NOW"], ["12"], ["none"], ["+1 (415) 555-2671 ext. 7"]]
    job = import_csv(client, auth, csv_text(["Mobile"], rows), column="Mobile", kind="phone")
    assert counts(job) == ("completed", 5, 2, 0, 3)
    assert job["errors"] == [
        {"row": 3, "error": "Invalid phone format", "value": "555-CALL-NOW"},
        {"row": 4, "error": "Invalid phone format", "value": "12"},
        {"row": 5, "error": "Missing required identifier", "value": "none"},
    ]
    assert one_lead(client, auth, phone="+14155552671 x7")["identifiers"] == {
        "phone": ["+14155552671;ext=7"]
    }


def test_row_numbers_count_blank_lines_like_a_spreadsheet(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    content = "Email,Name\njane@example.com,Jane\n\nbad-email,X\n"
    job = import_csv(client, auth, content)
    assert counts(job) == ("completed", 2, 1, 0, 1)
    assert job["errors"] == [{"row": 4, "error": "Invalid email format", "value": "bad-email"}]


# --- create / update, profile fields ---------------------------------------------------------


def test_second_import_updates_even_when_nothing_changed(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    content = csv_text(
        ["Email", "First Name", "Company"],
        [["jane@example.com", "Jane", "Example Inc"], ["john@example.com", "John", "Acme"]],
    )
    mappings = {"First Name": "first_name", "Company": "company"}
    first = import_csv(client, auth, content, field_mappings=mappings)
    assert counts(first) == ("completed", 2, 2, 0, 0)
    before = one_lead(client, auth, email="jane@example.com")

    second = import_csv(client, auth, content, field_mappings=mappings)
    assert counts(second) == ("completed", 2, 0, 2, 0)
    after = one_lead(client, auth, email="jane@example.com")
    assert after["lead_id"] == before["lead_id"]
    assert after["fields"] == before["fields"] == {"first_name": "Jane", "company": "Example Inc"}
    assert after["identifiers"] == before["identifiers"]


def test_empty_cells_never_overwrite(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    header = ["Email", "First Name", "Company", "Title"]
    mappings = {"First Name": "first_name", "Company": "company", "Title": "title"}
    import_csv(
        client,
        auth,
        csv_text(header, [["jane@example.com", "Jane", "Example Inc", "CEO"]]),
        field_mappings=mappings,
    )
    job = import_csv(
        client,
        auth,
        csv_text(header, [["jane@example.com", "", "  ", "CTO"]]),
        field_mappings=mappings,
    )
    assert counts(job) == ("completed", 1, 0, 1, 0)
    lead = one_lead(client, auth, email="jane@example.com")
    assert lead["fields"] == {"first_name": "Jane", "company": "Example Inc", "title": "CTO"}


def test_a_new_lead_gets_no_field_for_an_empty_cell(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(
        client,
        auth,
        csv_text(["Email", "First Name", "Company"], [["jane@example.com", "", "X"]]),
        field_mappings={"First Name": "first_name", "Company": "company"},
    )
    assert counts(job) == ("completed", 1, 1, 0, 0)
    assert one_lead(client, auth, email="jane@example.com")["fields"] == {"company": "X"}


def test_profile_values_are_strings_as_written(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    values = {
        "postal_code": "00123",
        "employee_count": "51-200",
        "annual_revenue": "1,000,000",
        "birthday": "01/02/1990",
        "lead_status": "TRUE",
        "notes": 'Said "call me" on 2024-01-05\nthen left',
        "company": "Ünïcödé GmbH",
        "website": "0.50",
    }
    header = ["Email", *values]
    job = import_csv(
        client,
        auth,
        csv_text(header, [["jane@example.com", *values.values()]]),
        field_mappings={name: name for name in values},
    )
    assert counts(job) == ("completed", 1, 1, 0, 0)
    assert one_lead(client, auth, email="jane@example.com")["fields"] == values


def test_mapping_target_names_are_case_insensitive(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(
        client,
        auth,
        csv_text(
            ["Email", "Given", "Family", "Org", "Role"],
            [["jane@example.com", "Jane", "Doe", "Example Inc", "CEO"]],
        ),
        field_mappings={
            "Given": "First_Name",
            "Family": "LAST NAME",
            "Org": "Company",
            "Role": "title",
        },
    )
    assert counts(job) == ("completed", 1, 1, 0, 0)
    assert job["field_mappings"] == {
        "Given": "first_name",
        "Family": "last_name",
        "Org": "company",
        "Role": "title",
    }
    assert one_lead(client, auth, email="jane@example.com")["fields"] == {
        "first_name": "Jane",
        "last_name": "Doe",
        "company": "Example Inc",
        "title": "CEO",
    }


def test_unknown_fields_are_ignored_and_listed(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(
        client,
        auth,
        csv_text(
            ["Email", "First Name", "Shoe Size", "Colour"],
            [["jane@example.com", "Jane", "38", "green"]],
        ),
    )
    started = start(
        client,
        auth,
        preview["file_id"],
        field_mappings={
            "First Name": "first_name",
            "Shoe Size": "shoe_size",
            "Colour": "favourite colour",
        },
    )
    assert started["status"] == "queued"
    assert started["ignored_fields"] == ["shoe_size", "favourite colour"]
    job = wait_job(client, auth, started["job_id"])
    assert counts(job) == ("completed", 1, 1, 0, 0)
    assert job["errors"] == []
    assert one_lead(client, auth, email="jane@example.com")["fields"] == {"first_name": "Jane"}


def test_no_ignored_fields_when_all_are_known(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, csv_text(["Email", "Name"], [["jane@example.com", "Jane"]]))
    started = start(client, auth, preview["file_id"], field_mappings={"Name": "first_name"})
    assert started.get("ignored_fields", []) == []
    wait_job(client, auth, started["job_id"])


# --- aliases ---------------------------------------------------------------------------------


def test_spec_example_alias_is_added_not_replaced(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    """Existing lead jane@example.com with phone 555-0200; a row with 555-0100: both phones."""
    header = ["Email", "Phone"]
    aliases = {"Phone": "_alias_phone"}
    first = import_csv(
        client, auth, csv_text(header, [["jane@example.com", "555-0200"]]), alias_mappings=aliases
    )
    assert counts(first) == ("completed", 1, 1, 0, 0)
    second = import_csv(
        client, auth, csv_text(header, [["jane@example.com", "555-0100"]]), alias_mappings=aliases
    )
    assert counts(second) == ("completed", 1, 0, 1, 0)
    assert second["warnings"] == []

    lead = one_lead(client, auth, email="jane@example.com")
    assert lead["identifiers"] == {"email": ["jane@example.com"], "phone": ["5550200", "5550100"]}
    for phone in ("555-0200", "555-0100"):
        assert one_lead(client, auth, phone=phone)["lead_id"] == lead["lead_id"]
    r = client.get(f"/leads/{lead['lead_id']}", headers=auth)
    assert r.status_code == 200
    assert r.json()["identifiers"] == lead["identifiers"]


def test_duplicate_aliases_are_ignored(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    header = ["Email", "Phone", "Mobile", "Other Email"]
    aliases = {"Phone": "_alias_phone", "Mobile": "_alias_phone", "Other Email": "_alias_email"}
    rows = [
        ["jane@example.com", "555-0100", "555.0100", "JANE@example.com"],  # same phone twice
        ["jane@example.com", "555 0100", "", "jd@work.example"],  # phone already on the lead
        ["jane@example.com", "", "555-0100", "JD@Work.Example"],  # both already on the lead
    ]
    job = import_csv(client, auth, csv_text(header, rows), alias_mappings=aliases)
    assert counts(job) == ("completed", 3, 1, 2, 0)
    assert job["warnings"] == []
    again = import_csv(client, auth, csv_text(header, rows[:1]), alias_mappings=aliases)
    assert counts(again) == ("completed", 1, 0, 1, 0)
    lead = one_lead(client, auth, email="jane@example.com")
    assert lead["identifiers"] == {
        "email": ["jane@example.com", "jd@work.example"],
        "phone": ["5550100"],
    }


@pytest.mark.parametrize("empty", ["", "   ", "n/a", "NULL"])
def test_empty_alias_cells_are_skipped(
    client: TestClient, auth: dict[str, str], workers: Workers, empty: str
) -> None:
    job = import_csv(
        client,
        auth,
        csv_text(["Email", "Phone", "Badge"], [["jane@example.com", empty, empty]]),
        alias_mappings={"Phone": "_alias_phone", "Badge": "_alias_external_id"},
    )
    assert counts(job) == ("completed", 1, 1, 0, 0)
    assert job["warnings"] == []
    assert one_lead(client, auth, email="jane@example.com")["identifiers"] == {
        "email": ["jane@example.com"]
    }


def test_invalid_alias_is_a_warning_and_the_row_succeeds(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(
        client,
        auth,
        csv_text(
            ["Email", "Phone", "Other Email", "First Name"],
            [
                ["jane@example.com", "555-0100", "not-an-email", "Jane"],
                ["john@example.com", "call me maybe", "", "John"],
            ],
        ),
        alias_mappings={"Phone": "_alias_phone", "Other Email": "_alias_email"},
        field_mappings={"First Name": "first_name"},
    )
    assert counts(job) == ("completed", 2, 2, 0, 0)
    assert job["errors"] == []
    assert job["warnings"] == [
        {"row": 2, "warning": "Alias not added: Invalid email format", "value": "not-an-email"},
        {"row": 3, "warning": "Alias not added: Invalid phone format", "value": "call me maybe"},
    ]
    assert one_lead(client, auth, email="jane@example.com")["identifiers"] == {
        "email": ["jane@example.com"],
        "phone": ["5550100"],
    }
    john = one_lead(client, auth, email="john@example.com")
    assert john["identifiers"] == {"email": ["john@example.com"]}
    assert john["fields"] == {"first_name": "John"}


def test_alias_of_another_lead_is_not_moved(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    header = ["Email", "Phone", "Title"]
    import_csv(
        client,
        auth,
        csv_text(
            header, [["ann@example.com", "555-0100", ""], ["bob@example.com", "555-0200", ""]]
        ),
        alias_mappings={"Phone": "_alias_phone"},
    )
    ann = one_lead(client, auth, email="ann@example.com")
    job = import_csv(
        client,
        auth,
        csv_text(
            header,
            [
                ["bob@example.com", "555-0300", "CEO"],
                ["bob@example.com", "555-0100", "CTO"],
                ["cy@example.com", "555-0100", "CFO"],
            ],
        ),
        alias_mappings={"Phone": "_alias_phone"},
        field_mappings={"Title": "title"},
    )
    assert counts(job) == ("completed", 3, 1, 2, 0)
    assert job["errors"] == []
    assert job["warnings"] == [
        {"row": 3, "warning": ALIAS_TAKEN, "value": "5550100"},
        {"row": 4, "warning": ALIAS_TAKEN, "value": "5550100"},
    ]
    [owner] = lead_by(client, auth, phone="555-0100")
    assert owner["lead_id"] == ann["lead_id"]
    assert owner["identifiers"] == {"email": ["ann@example.com"], "phone": ["5550100"]}
    bob = one_lead(client, auth, email="bob@example.com")
    assert bob["identifiers"] == {"email": ["bob@example.com"], "phone": ["5550200", "5550300"]}
    assert bob["fields"] == {"title": "CTO"}  # the row itself succeeded
    cy = one_lead(client, auth, email="cy@example.com")
    assert cy["identifiers"] == {"email": ["cy@example.com"]}
    assert cy["fields"] == {"title": "CFO"}


def test_a_primary_identifier_owned_as_alias_updates_that_lead(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    """Dedup looks the primary up among every identifier, aliases included."""
    import_csv(
        client,
        auth,
        csv_text(["Email", "Other"], [["jane@example.com", "jd@work.example"]]),
        alias_mappings={"Other": "_alias_email"},
    )
    job = import_csv(
        client,
        auth,
        csv_text(["Work Email", "Title"], [["JD@work.example", "CEO"]]),
        column="Work Email",
        field_mappings={"Title": "title"},
    )
    assert counts(job) == ("completed", 1, 0, 1, 0)
    lead = one_lead(client, auth, email="jane@example.com")
    assert lead["fields"] == {"title": "CEO"}
    assert lead["identifiers"] == {"email": ["jane@example.com", "jd@work.example"]}


# --- rows sharing a primary identifier -------------------------------------------------------


def test_rows_sharing_a_primary_apply_in_file_order(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    header = ["Email", "First Name", "Company", "Title", "Phone"]
    rows = [
        ["jane@example.com", "Jane", "Example Inc", "", "555-0100"],
        ["JANE@example.com", "Janet", "", "CEO", "555-0101"],
        ["jane@example.com", "Janey", "", "", "555-0100"],
    ]
    job = import_csv(
        client,
        auth,
        csv_text(header, rows),
        field_mappings={"First Name": "first_name", "Company": "company", "Title": "title"},
        alias_mappings={"Phone": "_alias_phone"},
    )
    assert counts(job) == ("completed", 3, 1, 2, 0)
    lead = one_lead(client, auth, email="jane@example.com")
    assert lead["fields"] == {"first_name": "Janey", "company": "Example Inc", "title": "CEO"}
    assert lead["identifiers"] == {"email": ["jane@example.com"], "phone": ["5550100", "5550101"]}


def test_many_repeated_primaries_keep_the_last_row_values(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    """1,200 rows, 40 people each written 30 times, interleaved: the last row of each wins."""
    people = 40
    rows = [
        [f"person{i % people}@example.com", f"row {n}"]
        for i, n in zip(range(1200), range(2, 1202), strict=True)
    ]
    job = import_csv(
        client, auth, csv_text(["Email", "Notes"], rows), field_mappings={"Notes": "notes"}
    )
    assert counts(job) == ("completed", 1200, people, 1200 - people, 0)
    for p in (0, 17, 39):
        last_row = max(
            n for n, (email, _) in enumerate(rows, start=2) if email == f"person{p}@example.com"
        )
        lead = one_lead(client, auth, email=f"person{p}@example.com")
        assert lead["fields"] == {"notes": f"row {last_row}"}


# --- concurrency and volume ------------------------------------------------------------------


def test_two_overlapping_jobs_make_one_lead_per_identifier(
    client: TestClient,
    container: Container,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    workers: Workers,
) -> None:
    ou = new_ou()
    auth = make_auth(ou)
    header = ["Email", "First Name", "Phone"]

    def rows(first: int, label: str) -> list[list[str]]:
        return [
            [f"p{i}@example.com", f"{label}{i}", f"+1 415 555 {i:04d}"]
            for i in range(first, first + 2000)
        ]

    files = [
        upload(client, auth, csv_text(header, rows(lo, label)), name=f"{label}.csv")
        for lo, label in ((0, "a"), (1000, "b"))
    ]
    mappings: dict[str, Any] = {
        "field_mappings": {"First Name": "first_name"},
        "alias_mappings": {"Phone": "_alias_phone"},
    }
    started = [start(client, auth, f["file_id"], **mappings) for f in files]
    jobs = [wait_job(client, auth, s["job_id"], timeout=300) for s in started]

    distinct = 3000
    assert [j["status"] for j in jobs] == ["completed", "completed"]
    assert [j["failed_count"] for j in jobs] == [0, 0]
    assert sum(j["created_count"] for j in jobs) == distinct
    assert sum(j["updated_count"] for j in jobs) == 4000 - distinct
    assert all(j["created_count"] + j["updated_count"] == 2000 for j in jobs)
    a, b = jobs
    assert a["started_at"] <= b["completed_at"] and b["started_at"] <= a["completed_at"]

    with container.pool.connection() as conn:
        shared = conn.execute(
            "SELECT kind, value, count(DISTINCT lead_id) FROM lead_identifiers WHERE ou = %s"
            " GROUP BY 1, 2 HAVING count(DISTINCT lead_id) > 1",
            (ou,),
        ).fetchall()
        leads = conn.execute("SELECT count(*) AS n FROM leads_view WHERE ou = %s", (ou,)).fetchone()
        per_kind = {
            r["kind"]: r["n"]
            for r in conn.execute(
                "SELECT kind, count(*) AS n FROM lead_identifiers WHERE ou = %s GROUP BY kind",
                (ou,),
            ).fetchall()
        }
    assert shared == []
    assert leads is not None and leads["n"] == distinct
    assert per_kind == {"email": distinct, "phone": distinct}
    for i in (0, 999, 1000, 1999, 2000, 2999):
        lead = one_lead(client, auth, email=f"p{i}@example.com")
        assert lead["identifiers"] == {
            "email": [f"p{i}@example.com"],
            "phone": [f"+1415555{i:04d}"],
        }


def test_ten_thousand_rows_complete_with_exact_counts(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    total = 10_000
    rows: list[list[str]] = []
    expected_errors: list[dict[str, Any]] = []
    created = updated = 0
    for n in range(total):
        row_number = n + 2
        if n % 250 == 7:
            rows.append([f"bad-{n}", "X", ""])
            expected_errors.append(
                {"row": row_number, "error": "Invalid email format", "value": f"bad-{n}"}
            )
        elif n % 100 == 50:
            rows.append(["", "X", ""])
            expected_errors.append(
                {"row": row_number, "error": "Missing required identifier", "value": ""}
            )
        elif n % 20 == 19:
            rows.append([f"lead{n - 19}@example.com", f"Again {n}", ""])
            updated += 1
        else:
            rows.append([f"lead{n}@example.com", f"Name {n}", f"Company {n % 37}"])
            created += 1
    failed = len(expected_errors)
    assert created + updated + failed == total

    preview = upload(client, auth, csv_text(["Email", "First Name", "Company"], rows))
    assert preview["row_count"] == total
    began = time.monotonic()
    started = start(
        client,
        auth,
        preview["file_id"],
        field_mappings={"First Name": "first_name", "Company": "company"},
    )
    job = wait_job(client, auth, started["job_id"], timeout=600)
    elapsed = time.monotonic() - began
    print(f"\n10,000-row job: start -> completed in {elapsed:.1f} s ({total / elapsed:.0f} rows/s)")

    assert counts(job) == ("completed", total, created, updated, failed)
    assert failed > 100  # the detail holds the first 100, the errors pages all of them
    assert (job["errors"], job["errors_total"]) == (expected_errors[:100], failed)
    assert job_items(client, auth, job["job_id"], "errors", limit=64) == expected_errors
    assert one_lead(client, auth, email="lead0@example.com")["fields"] == {
        "first_name": "Again 19",
        "company": "Company 0",
    }
    assert one_lead(client, auth, email="lead9980@example.com")["fields"] == {
        "first_name": "Again 9999",
        "company": f"Company {9980 % 37}",
    }


def test_two_jobs_racing_for_the_same_aliases_give_each_to_one_lead(
    client: TestClient,
    container: Container,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    workers: Workers,
) -> None:
    """Different primaries (so different partitions and workers) claim the same phone numbers:
    each number ends on exactly one lead, the other row gets a warning and still succeeds."""
    ou = new_ou()
    auth = make_auth(ou)
    n = 600
    files = [
        upload(
            client,
            auth,
            csv_text(
                ["Email", "Phone"],
                [[f"{side}{i}@example.com", f"+1 415 555 {i:04d}"] for i in range(n)],
            ),
        )
        for side in ("a", "b")
    ]
    started = [
        start(client, auth, f["file_id"], alias_mappings={"Phone": "_alias_phone"}) for f in files
    ]
    jobs = [wait_job(client, auth, s["job_id"], timeout=300) for s in started]
    assert [counts(j) for j in jobs] == [("completed", n, n, 0, 0)] * 2
    warnings = [w for j in jobs for w in job_items(client, auth, j["job_id"], "warnings")]
    assert len(warnings) == sum(j["warnings_total"] for j in jobs) == n
    assert {w["warning"] for w in warnings} == {ALIAS_TAKEN}
    assert sorted(w["value"] for w in warnings) == [f"+1415555{i:04d}" for i in range(n)]

    with container.pool.connection() as conn:
        shared = conn.execute(
            "SELECT kind, value, count(DISTINCT lead_id) FROM lead_identifiers WHERE ou = %s"
            " GROUP BY 1, 2 HAVING count(DISTINCT lead_id) > 1",
            (ou,),
        ).fetchall()
        phones = conn.execute(
            "SELECT count(*) AS n FROM lead_identifiers WHERE ou = %s AND kind = 'phone'", (ou,)
        ).fetchone()
    assert shared == []
    assert phones is not None and phones["n"] == n
    for i in (0, 299, 599):
        [owner] = lead_by(client, auth, phone=f"415-555-{i:04d}")
        assert owner["identifiers"]["phone"] == [f"+1415555{i:04d}"]
        others = [lead_by(client, auth, email=f"{side}{i}@example.com")[0] for side in "ab"]
        assert sorted(len(o["identifiers"]) for o in others) == [1, 2]


def test_one_lead_updated_through_two_identifiers_at_once_keeps_every_change(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    """Job A finds leads by email, job B by phone: different partitions, same Lead aggregates."""
    n = 500
    seed = import_csv(
        client,
        auth,
        csv_text(
            ["Email", "Phone"], [[f"u{i}@example.com", f"+1 415 555 {i:04d}"] for i in range(n)]
        ),
        alias_mappings={"Phone": "_alias_phone"},
    )
    assert counts(seed) == ("completed", n, n, 0, 0)
    by_email = upload(
        client,
        auth,
        csv_text(
            ["Email", "Company", "Badge"],
            [[f"u{i}@example.com", f"Co {i}", f"B-{i}"] for i in range(n)],
        ),
    )
    by_phone = upload(
        client,
        auth,
        csv_text(
            ["Phone", "Title", "Handle"],
            [[f"(415) 555-{i:04d}", f"Title {i}", f"@user{i}"] for i in range(n)],
        ),
    )
    started = [
        start(
            client,
            auth,
            by_email["file_id"],
            field_mappings={"Company": "company"},
            alias_mappings={"Badge": "_alias_external_id"},
        ),
        start(
            client,
            auth,
            by_phone["file_id"],
            column="Phone",
            kind="phone",
            field_mappings={"Title": "title"},
            alias_mappings={"Handle": "_alias_social"},
        ),
    ]
    jobs = [wait_job(client, auth, s["job_id"], timeout=300) for s in started]
    assert [counts(j) for j in jobs] == [("completed", n, 0, n, 0)] * 2
    assert [j["warnings"] for j in jobs] == [[], []]
    for i in (0, 250, 499):
        lead = one_lead(client, auth, email=f"u{i}@example.com")
        assert lead["fields"] == {"company": f"Co {i}", "title": f"Title {i}"}
        assert lead["identifiers"] == {
            "email": [f"u{i}@example.com"],
            "phone": [f"+1415555{i:04d}"],
            "external_id": [f"B-{i}"],
            "social": [f"user{i}"],
        }
        assert one_lead(client, auth, social=f"@User{i}")["lead_id"] == lead["lead_id"]
        assert one_lead(client, auth, external_id=f"B-{i}")["lead_id"] == lead["lead_id"]


def test_a_file_with_only_a_header_completes_empty(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    preview = upload(client, auth, "Email,First Name\n")
    assert preview["row_count"] == 0
    job = wait_job(client, auth, start(client, auth, preview["file_id"])["job_id"])
    assert counts(job) == ("completed", 0, 0, 0, 0)
    assert (job["errors"], job["warnings"]) == ([], [])


def test_a_primary_racing_with_the_same_identifier_as_alias_makes_one_lead(
    client: TestClient,
    container: Container,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    workers: Workers,
) -> None:
    """Job A adds phone P as an alias of an e-mail lead while job B imports P as a primary: P
    ends on one lead, whichever row came first; B's row updates A's lead or creates its own."""
    ou = new_ou()
    auth = make_auth(ou)
    n = 800
    by_email = upload(
        client,
        auth,
        csv_text(
            ["Email", "Phone"], [[f"r{i}@example.com", f"+1 415 555 {i:04d}"] for i in range(n)]
        ),
    )
    by_phone = upload(
        client,
        auth,
        csv_text(["Phone", "Title"], [[f"415-555-{i:04d}", f"T{i}"] for i in range(n)]),
    )
    started = [
        start(client, auth, by_email["file_id"], alias_mappings={"Phone": "_alias_phone"}),
        start(
            client,
            auth,
            by_phone["file_id"],
            column="Phone",
            kind="phone",
            field_mappings={"Title": "title"},
        ),
    ]
    a, b = (wait_job(client, auth, s["job_id"], timeout=300) for s in started)
    assert counts(a) == ("completed", n, n, 0, 0)
    assert b["status"] == "completed"
    assert b["created_count"] + b["updated_count"] == n and b["failed_count"] == 0
    assert b["warnings"] == []
    # Every phone B created first is one A could not take.
    assert len(job_items(client, auth, a["job_id"], "warnings")) == b["created_count"]
    assert a["warnings_total"] == b["created_count"]

    with container.pool.connection() as conn:
        shared = conn.execute(
            "SELECT kind, value, count(DISTINCT lead_id) FROM lead_identifiers WHERE ou = %s"
            " GROUP BY 1, 2 HAVING count(DISTINCT lead_id) > 1",
            (ou,),
        ).fetchall()
        leads = conn.execute("SELECT count(*) AS n FROM leads_view WHERE ou = %s", (ou,)).fetchone()
    assert shared == []
    assert leads is not None and leads["n"] == n + b["created_count"]
    for i in range(0, n, 97):
        [owner] = lead_by(client, auth, phone=f"+1415555{i:04d}")
        assert owner["fields"] == {"title": f"T{i}"}
