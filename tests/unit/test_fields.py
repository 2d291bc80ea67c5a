"""Unit tests for domain.fields: the profile field catalog and mapping split."""

from __future__ import annotations

import re

import pytest

from domain.fields import FIELD_DESCRIPTIONS, PROFILE_FIELDS, canonical_field, split_mappings

EXPECTED_CORE_FIELDS = {
    "first_name",
    "last_name",
    "full_name",
    "company",
    "title",
    "department",
    "industry",
    "website",
    "address",
    "address2",
    "city",
    "state",
    "postal_code",
    "country",
    "notes",
    "lead_source",
    "lead_status",
    "linkedin_url",
    "twitter",
    "annual_revenue",
    "employee_count",
    "timezone",
    "language",
    "birthday",
    "gender",
}


def test_profile_fields_are_the_described_fields() -> None:
    assert frozenset(FIELD_DESCRIPTIONS) == PROFILE_FIELDS
    assert EXPECTED_CORE_FIELDS <= PROFILE_FIELDS


@pytest.mark.parametrize("field", sorted(FIELD_DESCRIPTIONS))
def test_each_field_is_snake_case_and_described(field: str) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", field)
    description = FIELD_DESCRIPTIONS[field]
    assert description.strip() == description
    assert description.endswith(".")
    assert "\n" not in description


def test_identifiers_are_not_profile_fields() -> None:
    assert not {"email", "phone", "cookie", "external_id", "social"} & PROFILE_FIELDS


def test_no_two_fields_differ_only_in_separators() -> None:
    squashed = {field.replace("_", "") for field in PROFILE_FIELDS}
    assert len(squashed) == len(PROFILE_FIELDS)


@pytest.mark.parametrize("field", sorted(FIELD_DESCRIPTIONS))
def test_every_field_maps_to_itself(field: str) -> None:
    assert canonical_field(field) == field


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("First_Name", "first_name"),
        ("first name", "first_name"),
        ("FIRST-NAME", "first_name"),
        ("FirstName", "first_name"),
        ("firstname", "first_name"),
        ("  first_name  ", "first_name"),
        ("first  _- name", "first_name"),
        ("Postal Code", "postal_code"),
        ("LinkedIn URL", "linkedin_url"),
        ("Address 2", "address2"),
        ("address_2", "address2"),
        ("Lead-Source", "lead_source"),
        ("TITLE", "title"),
    ],
)
def test_canonical_field_tolerates_case_spaces_hyphens(name: str, expected: str) -> None:
    assert canonical_field(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "email",
        "phone",
        "favourite_colour",
        "first.name",
        "first_name_2",
        "_alias_email",
        "_first_name",
        "zip",
    ],
)
def test_canonical_field_unknown_is_none(name: str) -> None:
    assert canonical_field(name) is None


def test_split_mappings_separates_known_and_unknown() -> None:
    profile, ignored = split_mappings(
        {
            "Vorname": "First Name",
            "Shoe size": "shoe_size",
            "Nachname": "last_name",
            "Firma": "COMPANY",
            "Lieblingsfarbe": "Favourite Colour",
            "Stadt": "city",
        }
    )
    assert profile == {
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Firma": "company",
        "Stadt": "city",
    }
    assert ignored == ["shoe_size", "Favourite Colour"]


def test_split_mappings_ignored_targets_kept_as_written_once_in_input_order() -> None:
    profile, ignored = split_mappings(
        {"a": "zeta", "b": "Alpha", "c": "zeta", "d": "email", "e": "_alias_phone"}
    )
    assert profile == {}
    assert ignored == ["zeta", "Alpha", "email", "_alias_phone"]


def test_split_mappings_allows_several_columns_for_one_field() -> None:
    profile, ignored = split_mappings({"Given": "first_name", "Forename": "First Name"})
    assert profile == {"Given": "first_name", "Forename": "first_name"}
    assert ignored == []


def test_split_mappings_empty() -> None:
    assert split_mappings({}) == ({}, [])
