"""Unit tests for domain.identifiers: normalization rules per identifier kind."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from domain.identifiers import (
    ALIAS_TARGETS,
    INVALID_EMAIL,
    INVALID_IDENTIFIER,
    INVALID_PHONE,
    KINDS,
    MISSING,
    IdentifierError,
    IdentifierKind,
    is_placeholder,
    is_valid_country,
    normalize,
)

PLACEHOLDERS = [
    "null",
    "none",
    "n/a",
    "na",
    "nan",
    "nil",
    "-",
    "--",
    "---",
    "?",
    "unknown",
    "undefined",
    "#n/a",
    "(blank)",
    "tbd",
]


def _error(kind: IdentifierKind, raw: str, default_country: str = "US") -> IdentifierError:
    with pytest.raises(IdentifierError) as info:
        normalize(kind, raw, default_country)
    return info.value


# --- constants -------------------------------------------------------------


def test_kinds_and_alias_targets() -> None:
    assert KINDS == ("email", "phone", "cookie", "external_id", "social")
    assert ALIAS_TARGETS == {
        "_alias_email": "email",
        "_alias_phone": "phone",
        "_alias_cookie": "cookie",
        "_alias_external_id": "external_id",
        "_alias_social": "social",
    }


def test_messages_are_the_documented_texts() -> None:
    assert MISSING == "Missing required identifier"
    assert INVALID_EMAIL == "Invalid email format"
    assert INVALID_PHONE == "Invalid phone format"
    assert INVALID_IDENTIFIER == "Invalid identifier format"


# --- missing and placeholders ---------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("raw", ["", " ", "\t", "  \n "])
def test_empty_cell_is_missing(kind: IdentifierKind, raw: str) -> None:
    assert _error(kind, raw).message == MISSING


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_placeholder_is_missing_for_every_kind(kind: IdentifierKind, placeholder: str) -> None:
    assert _error(kind, placeholder).message == MISSING


@pytest.mark.parametrize(
    "written",
    [variant for p in PLACEHOLDERS for variant in (p, p.upper(), p.title(), f"  {p}\t")],
)
def test_is_placeholder_ignores_case_and_whitespace(written: str) -> None:
    assert is_placeholder(written)
    assert _error("email", written).message == MISSING


@pytest.mark.parametrize(
    "raw", ["", "  ", "jane@example.com", "nulll", "n.a.", "0", "none of them", "(blank"]
)
def test_is_placeholder_false_for_real_or_empty_cells(raw: str) -> None:
    assert not is_placeholder(raw)


def test_error_carries_raw_cell_as_written() -> None:
    raw = "  not-an-email "
    error = _error("email", raw)
    assert error.value == raw
    assert error.message == INVALID_EMAIL
    assert str(error) == INVALID_EMAIL
    assert isinstance(error, ValueError)
    assert _error("phone", " N/A ").value == " N/A "


def test_unknown_kind_is_a_programming_error_not_a_cell_error() -> None:
    with pytest.raises(ValueError, match="unknown identifier kind") as info:
        normalize("fax", "123")  # type: ignore[arg-type]
    assert not isinstance(info.value, IdentifierError)


# --- email -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        (" Jane@Example.COM ", "jane@example.com"),
        ("JANE.DOE+Tag@Sub.Example.co.uk", "jane.doe+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("jane@MÜNCHEN.de", "jane@münchen.de"),
        ("Jürgen@example.de", "jürgen@example.de"),
    ],
)
def test_email_valid(raw: str, expected: str) -> None:
    assert normalize("email", raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "not-an-email",
        "a@b",
        "jane@@example.com",
        "@example.com",
        "jane@",
        "jane@example",
        "jane doe@example.com",
        "jane@exa mple.com",
        "jane@example.com.",
        "jane..doe@example.com",
        "jane@-example.com",
        "jane@localhost",
        "jane@example.com, john@example.com",
        "mailto:jane@example.com;",
        "john at example dot com",
        "jane\u00a0doe@example.com",
        '"jane doe"@example.com',
        "x" * 250 + "@example.com",
    ],
)
def test_email_invalid(raw: str) -> None:
    error = _error("email", raw)
    assert error.message == INVALID_EMAIL
    assert error.value == raw


@pytest.mark.parametrize("raw", ["jane.example.com", "jane doe@example.com", "a\tb@example.com"])
def test_email_precheck_only_rejects_what_email_validator_rejects(raw: str) -> None:
    # The fast path must never be stricter than the library it shortcuts.
    with pytest.raises(EmailNotValidError):
        validate_email(raw, check_deliverability=False)
    assert _error("email", raw).message == INVALID_EMAIL


def test_email_case_variants_dedupe() -> None:
    assert normalize("email", "Jane@Example.com") == normalize("email", "jane@example.com")


# --- phone -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "default_country", "expected"),
    [
        # The spec's examples: fictional 555 numbers are not valid, digits as written.
        ("555-0100", "US", "5550100"),
        ("+1-555-0100", "US", "+15550100"),
        ("555-0200", "US", "5550200"),
        # Valid numbers become E.164.
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("415/555-2671", "US", "+14155552671"),
        ("1 (415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "DE", "+14155552671"),
        ("415\u00a0555\u00a02671", "US", "+14155552671"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        # Not valid in the default region: digits as written, no invented country code.
        ("020 7946 0958", "US", "02079460958"),
        ("123", "US", "123"),
        # Unknown default region: numbers without "+" fall back to digits.
        ("020 7946 0958", "XX", "02079460958"),
        ("+44 20 7946 0958", "XX", "+442079460958"),
    ],
)
def test_phone_normalization(raw: str, default_country: str, expected: str) -> None:
    assert normalize("phone", raw, default_country) == expected


def test_phone_default_country_defaults_to_us() -> None:
    assert normalize("phone", "(415) 555-2671") == "+14155552671"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("555-0100 ext. 12", "5550100;ext=12"),
        ("555-0100 EXT. 12", "5550100;ext=12"),
        ("555-0100 ext 12", "5550100;ext=12"),
        ("555-0100ext12", "5550100;ext=12"),
        ("555 0100 x12", "5550100;ext=12"),
        ("555 0100 X 12", "5550100;ext=12"),
        ("555-0100 #12", "5550100;ext=12"),
        ("(415) 555-2671 x12", "+14155552671;ext=12"),
        ("415-555-2671#99", "+14155552671;ext=99"),
        ("+1 415 555 2671 ext. 007", "+14155552671;ext=007"),
    ],
)
def test_phone_extension_kept_distinct(raw: str, expected: str) -> None:
    assert normalize("phone", raw, "US") == expected


def test_phone_extension_is_part_of_identity() -> None:
    plain = normalize("phone", "(415) 555-2671")
    assert normalize("phone", "(415) 555-2671 x1") != plain
    assert normalize("phone", "(415) 555-2671 x1") != normalize("phone", "(415) 555-2671 x2")


@pytest.mark.parametrize(
    "raw",
    [
        "555-CALL-NOW",
        "12",
        "1",
        "+1",
        "(1)",
        "x123",
        "ext. 12",
        "12 x345",
        "555-0100 x",
        "555-0100 ext",
        "555-0100 extension 12",
        "555-0100 x12 x13",
        "555_0100",
        "555*0100",
        "555,0100",
        "tel:+14155552671",
        "415 555 2671 (mobile)",
        "\uff15\uff15\uff15-\uff10\uff11\uff10\uff10",  # full-width digits
        "555\t0100",
        "1" * 256,
    ],
)
def test_phone_invalid(raw: str) -> None:
    error = _error("phone", raw)
    assert error.message == INVALID_PHONE
    assert error.value == raw


# --- cookie and external_id -------------------------------------------------


@pytest.mark.parametrize("kind", ["cookie", "external_id"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AbC-123_xYz", "AbC-123_xYz"),
        ("  CRM-00042  ", "CRM-00042"),
        ("GA1.2.123456789.1700000000", "GA1.2.123456789.1700000000"),
        ("id with spaces", "id with spaces"),
        ("x" * 255, "x" * 255),
    ],
)
def test_opaque_identifier_keeps_case(kind: IdentifierKind, raw: str, expected: str) -> None:
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize("kind", ["cookie", "external_id"])
@pytest.mark.parametrize(
    "raw", ["x" * 256, "abc\x00def", "abc\tdef", "abc\ndef", "abc\x7fdef", "abc\x85def"]
)
def test_opaque_identifier_invalid(kind: IdentifierKind, raw: str) -> None:
    error = _error(kind, raw)
    assert error.message == INVALID_IDENTIFIER
    assert error.value == raw


def test_cookie_and_external_id_case_is_significant() -> None:
    assert normalize("cookie", "AbC") != normalize("cookie", "abc")
    assert normalize("external_id", "AbC") != normalize("external_id", "abc")


# --- social ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@JaneDoe", "janedoe"),
        ("JaneDoe", "janedoe"),
        ("  @@JaneDoe ", "janedoe"),
        ("https://www.linkedin.com/in/Jane-Doe/", "https://www.linkedin.com/in/jane-doe"),
        ("https://www.linkedin.com/in/Jane-Doe", "https://www.linkedin.com/in/jane-doe"),
        ("@" + "a" * 255, "a" * 255),
    ],
)
def test_social_normalization(raw: str, expected: str) -> None:
    assert normalize("social", raw) == expected


@pytest.mark.parametrize("raw", ["@", "@@@", " @ ", "/", "@/"])
def test_social_empty_after_stripping_is_missing(raw: str) -> None:
    assert _error("social", raw).message == MISSING


@pytest.mark.parametrize("raw", ["a" * 256, "jane\x00doe", "jane\ndoe"])
def test_social_invalid(raw: str) -> None:
    error = _error("social", raw)
    assert error.message == INVALID_IDENTIFIER
    assert error.value == raw


# --- countries -------------------------------------------------------------


@pytest.mark.parametrize("code", ["US", "us", "Us", "DE", "GB", "gb", "FR", "JP", "BR", "IN"])
def test_valid_country(code: str) -> None:
    assert is_valid_country(code)


@pytest.mark.parametrize("code", ["XX", "USA", "UK", "U", "", "001", " US", "U1", "EU", "ZZ"])
def test_invalid_country(code: str) -> None:
    assert not is_valid_country(code)
