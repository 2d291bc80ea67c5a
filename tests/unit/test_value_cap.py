"""The value a row error or warning carries is at most 1,000 characters of the cell, then a
marker with the whole length (domain.rows.cap_value), wherever the value is produced: the row
mapping (failed primary, invalid alias), a too-large row and the merge decision (alias taken)."""

from __future__ import annotations

import uuid

import orjson
import pytest

from domain.merge import ALIAS_TAKEN, LeadState, decide
from domain.rows import (
    Identifier,
    RowFailed,
    RowImported,
    RowMapping,
    cap_value,
    encode_row,
    map_row,
    partition_key,
    too_large,
)

OU = "ou-test"
JOB = "job_0123"
HEADERS = ["Email", "Phone", "Notes"]
MAPPING = RowMapping.build(HEADERS, "Email", "email", {"Notes": "notes"}, {"Phone": "phone"}, "US")


def cut(text: str, whole: str) -> str:
    """The oracle, written out independently of the code: the first 1000 characters, then the
    marker with the whole length in digits grouped by commas."""
    return text[:1000] + "… [cut: " + whole + " characters in all]"


@pytest.mark.parametrize("value", ["", "x", "n/a", "é" * 999, "y" * 1000, "😀" * 1000])
def test_a_value_of_at_most_1000_characters_is_kept_as_it_is(value: str) -> None:
    assert cap_value(value) == value


@pytest.mark.parametrize(
    ("value", "whole"),
    [
        ("y" * 1001, "1,001"),
        ("z" * 12_345, "12,345"),
        ("😀" * 5000, "5,000"),  # characters, not bytes: an emoji is one
        ("a" * 999 + "éé", "1,001"),
        ("q" * 4_194_304, "4,194,304"),
    ],
)
def test_a_longer_value_is_cut_to_1000_characters_and_marked(value: str, whole: str) -> None:
    capped = cap_value(value)
    assert capped == cut(value, whole)
    assert capped.startswith(value[:1000]) and len(capped) < 1100


def test_a_long_invalid_primary_fails_with_the_value_cut() -> None:
    cell = "not-an-email-" + "x" * 5000
    event = map_row(OU, JOB, 9, [cell, "", ""], MAPPING)
    assert isinstance(event, RowFailed) and event.error == "Invalid email format"
    assert event.value == cut(cell, "5,013")
    # The importer's fast path sends exactly the same message.
    assert encode_row(OU, JOB, 9, [cell, "", ""], MAPPING) == (
        partition_key(event),
        event.model_dump_json().encode(),
    )


def test_a_5_mib_invalid_primary_is_an_invalid_row_with_a_short_message() -> None:
    cell = "y" * (5 * 1024 * 1024)
    _, message = encode_row(OU, JOB, 9, [cell, "", ""], MAPPING)
    body = orjson.loads(message)
    assert (body["type"], body["error"]) == ("RowFailed", "Invalid email format")
    assert body["value"] == cut(cell, "5,242,880")
    assert len(message) < 2000


def test_a_long_invalid_alias_is_a_warning_with_the_value_cut() -> None:
    phone = "call me " * 300  # 2,400 characters, not a phone number
    event = map_row(OU, JOB, 3, ["jane@example.com", phone, ""], MAPPING)
    assert isinstance(event, RowImported)  # an invalid alias never fails the row
    [warning] = event.warnings
    assert warning.warning == "Alias not added: Invalid phone format"
    assert warning.value == cut(phone, "2,400")
    assert encode_row(OU, JOB, 3, ["jane@example.com", phone, ""], MAPPING) == (
        partition_key(event),
        event.model_dump_json().encode(),
    )


def test_short_values_are_unchanged() -> None:
    failed = map_row(OU, JOB, 2, ["not-an-email", "", ""], MAPPING)
    assert isinstance(failed, RowFailed) and failed.value == "not-an-email"
    imported = map_row(OU, JOB, 2, ["jane@example.com", "555-CALL", ""], MAPPING)
    assert isinstance(imported, RowImported) and imported.warnings[0].value == "555-CALL"


def test_a_too_large_row_carries_its_primary_cell_cut() -> None:
    notes = "n" * (5 * 1024 * 1024)
    short = map_row(OU, JOB, 4, ["jane@example.com", "", notes], MAPPING)
    assert too_large(short, "jane@example.com").value == "jane@example.com"
    long_cell = "p" * 3000
    event = too_large(short, long_cell)
    assert (event.error, event.value) == ("Row too large", cut(long_cell, "3,000"))


def test_an_alias_of_another_lead_is_a_warning_with_the_value_cut() -> None:
    other = uuid.uuid4()
    short = Identifier(kind="cookie", value="c-1")
    long = Identifier(kind="external_id", value="e" * 1500)  # longer than any valid identifier
    decision = decide(None, {}, [short, long], lambda i: other)
    assert decision.aliases == []
    assert decision.warnings == [(ALIAS_TAKEN, "c-1"), (ALIAS_TAKEN, cut(long.value, "1,500"))]
    lead = LeadState(uuid.uuid4(), {"email": ["jane@example.com"]}, {})
    decision = decide(lead, {}, [long], lambda i: other)
    assert decision.warnings == [(ALIAS_TAKEN, cut(long.value, "1,500"))]
