"""Unit tests for domain.rows: RowMapping.build and map_row (validation, fields, aliases)."""

from __future__ import annotations

import random

import pytest

from domain.identifiers import IdentifierKind
from domain.rows import (
    Identifier,
    RowFailed,
    RowImported,
    RowMapping,
    Warning_,
    encode_row,
    map_row,
    partition_key,
    row_event_id,
    too_large,
)

HEADERS = ["Email", "First Name", "Company", "Zip", "Phone", "Mobile", "Other Email"]
OU = "ou-test"
JOB = "job_0123"


def mapping(
    primary_column: str = "Email",
    primary_kind: IdentifierKind = "email",
    default_country: str = "US",
) -> RowMapping:
    return RowMapping.build(
        HEADERS,
        primary_column,
        primary_kind,
        {"First Name": "first_name", "Company": "company", "Zip": "postal_code"},
        {"Phone": "phone", "Mobile": "phone", "Other Email": "email"},
        default_country,
    )


def row(**cells: str) -> list[str]:
    """Cells in HEADERS order; column names with spaces are written with underscores."""
    by_name = {h.replace(" ", "_"): "" for h in HEADERS}
    by_name.update(cells)
    return [by_name[h.replace(" ", "_")] for h in HEADERS]


def imported(cells: list[str], m: RowMapping | None = None, number: int = 2) -> RowImported:
    event = map_row(OU, JOB, number, cells, m or mapping())
    assert isinstance(event, RowImported), event
    return event


def failed(cells: list[str], m: RowMapping | None = None, number: int = 2) -> RowFailed:
    event = map_row(OU, JOB, number, cells, m or mapping())
    assert isinstance(event, RowFailed), event
    return event


# --- RowMapping.build ------------------------------------------------------------------------


def test_build_resolves_column_indexes() -> None:
    m = mapping()
    assert m.primary_kind == "email"
    assert m.primary_index == 0
    assert m.fields == ((1, "first_name"), (2, "company"), (3, "postal_code"))
    assert m.aliases == ((4, "phone"), (5, "phone"), (6, "email"))
    assert m.default_country == "US"


def test_build_with_primary_in_a_later_column() -> None:
    m = RowMapping.build(["Name", "Cell"], "Cell", "phone", {"Name": "first_name"}, {}, "GB")
    assert (m.primary_index, m.fields, m.aliases, m.default_country) == (
        1,
        ((0, "first_name"),),
        (),
        "GB",
    )


# --- row failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cell", "error"),
    [
        ("email", "", "Missing required identifier"),
        ("email", "   ", "Missing required identifier"),
        ("email", "n/a", "Missing required identifier"),
        ("email", "N/A", "Missing required identifier"),
        ("email", "null", "Missing required identifier"),
        ("email", " None ", "Missing required identifier"),
        ("email", "-", "Missing required identifier"),
        ("email", "not-an-email", "Invalid email format"),
        ("email", "jane@", "Invalid email format"),
        ("email", "@example.com", "Invalid email format"),
        ("email", "jane doe@example.com", "Invalid email format"),
        ("email", "jane@@example.com", "Invalid email format"),
        ("phone", "", "Missing required identifier"),
        ("phone", "n/a", "Missing required identifier"),
        ("phone", "555-CALL-NOW", "Invalid phone format"),
        ("phone", "12", "Invalid phone format"),
        ("phone", "phone: 555 0100", "Invalid phone format"),
        ("phone", "555_0100", "Invalid phone format"),
        ("cookie", "", "Missing required identifier"),
        ("external_id", "null", "Missing required identifier"),
        ("social", "", "Missing required identifier"),
        ("social", "@", "Missing required identifier"),
    ],
)
def test_unusable_primary_fails_the_row_with_the_exact_message(
    kind: IdentifierKind, cell: str, error: str
) -> None:
    m = RowMapping.build(["Id", "First Name"], "Id", kind, {"First Name": "first_name"}, {}, "US")
    event = failed([cell, "Jane"], m, number=7)
    assert event.error == error
    assert event.value == cell  # the cell exactly as written
    assert (event.ou, event.job_id, event.row, event.event_id) == (OU, JOB, 7, f"{JOB}:7")
    assert event.type == "RowFailed"


# --- imported rows: primary, fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cell", "normalized"),
    [
        ("email", "Jane@Example.COM", "jane@example.com"),
        ("email", "  jane@example.com ", "jane@example.com"),
        ("phone", "555-0100", "5550100"),
        ("phone", "+1-555-0100", "+15550100"),
        ("phone", "(415) 555-2671", "+14155552671"),
        ("social", "@JaneDoe", "janedoe"),
        ("cookie", " AbC-123 ", "AbC-123"),
        ("external_id", "B-00042", "B-00042"),
    ],
)
def test_primary_is_normalized(kind: IdentifierKind, cell: str, normalized: str) -> None:
    m = RowMapping.build(["Id"], "Id", kind, {}, {}, "US")
    event = imported([cell], m)
    assert event.primary == Identifier(kind=kind, value=normalized)


def test_default_country_applies_to_primary_phone() -> None:
    gb = RowMapping.build(["Phone"], "Phone", "phone", {}, {}, "GB")
    assert imported(["020 7946 0958"], gb).primary.value == "+442079460958"


def test_fields_keep_values_as_written_and_leave_out_empty_cells() -> None:
    event = imported(row(Email="jane@example.com", First_Name="Jane", Company="", Zip="00123"))
    assert event.fields == {"first_name": "Jane", "postal_code": "00123"}
    assert event.aliases == []
    assert event.warnings == []


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_blank_mapped_cells_are_left_out(blank: str) -> None:
    event = imported(row(Email="jane@example.com", First_Name=blank, Company="Acme", Zip=blank))
    assert event.fields == {"company": "Acme"}


@pytest.mark.parametrize("value", ["00123", "1e5", "TRUE", "01/02/1990", "1,000,000", "=1+1"])
def test_field_values_are_never_converted(value: str) -> None:
    assert imported(row(Email="jane@example.com", Zip=value)).fields == {"postal_code": value}


def test_imported_event_identity() -> None:
    event = imported(row(Email="jane@example.com"), number=42)
    assert (event.type, event.ou, event.job_id, event.row, event.event_id) == (
        "RowImported",
        OU,
        JOB,
        42,
        row_event_id(JOB, 42),
    )
    assert row_event_id(JOB, 42) == row_event_id(JOB, 42) == f"{JOB}:42"


# --- aliases ---------------------------------------------------------------------------------


def test_aliases_are_normalized_in_column_order() -> None:
    event = imported(
        row(
            Email="jane@example.com",
            Phone="555-0100",
            Mobile="+1 415 555 2671",
            Other_Email="JD@Work.Example",
        )
    )
    assert event.aliases == [
        Identifier(kind="phone", value="5550100"),
        Identifier(kind="phone", value="+14155552671"),
        Identifier(kind="email", value="jd@work.example"),
    ]


@pytest.mark.parametrize("cell", ["", "  ", "n/a", "NULL", "-"])
def test_empty_alias_cells_are_skipped_silently(cell: str) -> None:
    event = imported(row(Email="jane@example.com", Phone=cell, Mobile=cell, Other_Email=cell))
    assert event.aliases == []
    assert event.warnings == []


@pytest.mark.parametrize(
    ("column", "cell", "warning"),
    [
        ("Phone", "555-CALL-NOW", "Alias not added: Invalid phone format"),
        ("Mobile", "12", "Alias not added: Invalid phone format"),
        ("Other_Email", "jane at example dot com", "Alias not added: Invalid email format"),
    ],
)
def test_invalid_alias_is_a_warning_not_a_failure(column: str, cell: str, warning: str) -> None:
    event = imported(row(Email="jane@example.com", First_Name="Jane", **{column: cell}))
    assert event.primary.value == "jane@example.com"
    assert event.fields == {"first_name": "Jane"}
    assert event.aliases == []
    assert event.warnings == [Warning_(warning=warning, value=cell)]


def test_invalid_alias_does_not_drop_the_valid_ones() -> None:
    event = imported(row(Email="jane@example.com", Phone="call me", Mobile="555-0100"))
    assert event.aliases == [Identifier(kind="phone", value="5550100")]
    assert event.warnings == [
        Warning_(warning="Alias not added: Invalid phone format", value="call me")
    ]


def test_alias_equal_to_the_primary_is_dropped() -> None:
    event = imported(row(Email="jane@example.com", Other_Email=" JANE@example.com"))
    assert event.aliases == []
    assert event.warnings == []


def test_duplicate_aliases_in_one_row_are_kept_once() -> None:
    event = imported(row(Email="jane@example.com", Phone="555-0100", Mobile="555.0100"))
    assert event.aliases == [Identifier(kind="phone", value="5550100")]


def test_default_country_applies_to_alias_phones() -> None:
    gb = mapping(default_country="GB")
    event = imported(row(Email="jane@example.com", Phone="020 7946 0958"), gb)
    assert event.aliases == [Identifier(kind="phone", value="+442079460958")]


# --- partition key ---------------------------------------------------------------------------


def test_partition_key_is_the_same_for_one_ou_and_primary() -> None:
    a = imported(row(Email="Jane@Example.COM", First_Name="Jane"), number=2)
    b = imported(row(Email="jane@example.com", Phone="555-0100"), number=900)
    assert partition_key(a) == partition_key(b)


def test_partition_key_differs_between_ous_and_identifiers() -> None:
    jane = imported(row(Email="jane@example.com"))
    john = imported(row(Email="john@example.com"))
    other_ou = map_row("ou-other", JOB, 2, row(Email="jane@example.com"), mapping())
    assert len({partition_key(jane), partition_key(john), partition_key(other_ou)}) == 3


def test_partition_key_of_a_failed_row_is_per_row() -> None:
    a = failed(row(Email=""), number=2)
    b = failed(row(Email=""), number=3)
    assert partition_key(a) != partition_key(b)


def test_row_events_survive_a_json_round_trip() -> None:
    event = imported(row(Email="jane@example.com", Phone="bad!", Mobile="555-0100", Zip="007"))
    assert RowImported.model_validate_json(event.model_dump_json()) == event
    fail = failed(row(Email="n/a"))
    assert RowFailed.model_validate_json(fail.model_dump_json()) == fail


# --- encode_row: the importer's fast path -----------------------------------------------------

_ODD_CELLS = [
    "",
    " ",
    "N/A",
    "jane@example.com",
    "Jane@Example.COM ",
    "josé.garcía@example.es",
    "not an email",
    "a@b",
    "+1 415 555 2671",
    "(415) 555-2671 x12",
    "+44 7700 900123",
    "555-0100",
    "12",
    'quote " and \\ backslash',
    "line\nbreak\ttab\r",
    "\u2028\u2029 separators",
    "zero\x00width\u200b",
    "emoji 😀 and עברית",
    '=HYPERLINK("http://x")',
    "x" * 300,
]


def test_encode_row_is_map_row_serialised() -> None:
    rng = random.Random(5)
    for country in ("US", "GB"):
        for primary in ("Email", "Phone"):
            kind: IdentifierKind = "email" if primary == "Email" else "phone"
            m = mapping(primary, kind, country)
            for number in range(2, 600):
                cells = [rng.choice(_ODD_CELLS) for _ in HEADERS]
                event = map_row(OU, JOB, number, cells, m)
                expected = (partition_key(event), event.model_dump_json().encode())
                assert encode_row(OU, JOB, number, cells, m) == expected, cells


def test_encode_row_replaces_a_too_large_row_like_the_model_path() -> None:
    m = mapping()
    huge = "y" * (5 * 1024 * 1024)
    cells = row(Email="jane@example.com", Company=huge)
    event = too_large(map_row(OU, JOB, 7, cells, m), cells[0])
    assert isinstance(event, RowFailed) and event.error == "Row too large"
    assert encode_row(OU, JOB, 7, cells, m) == (
        partition_key(event),
        event.model_dump_json().encode(),
    )
    # A huge invalid primary is no longer too large: its value is cut (tests/unit/test_value_cap).
    assert failed(row(Email=huge), m).error == "Invalid email format"
