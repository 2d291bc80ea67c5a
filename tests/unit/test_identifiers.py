"""Unit tests for domain.identifiers: normalization rules per identifier kind."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import random
import re
import string
from collections import Counter
from collections.abc import Callable

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from domain.identifiers import (
    ALIAS_TARGETS,
    INVALID_EMAIL,
    INVALID_IDENTIFIER,
    INVALID_PHONE,
    KINDS,
    MAX_IDENTIFIER_LENGTH,
    MISSING,
    IdentifierError,
    IdentifierKind,
    _country_checks,
    _email_domain_bytes,
    _is_valid_number,
    _national_prefix_match,
    _normalize_phone_number,
    _parse_international,
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


# --- fast paths: identical to the straightforward implementation ------------
#
# normalize() takes shortcuts for e-mails (validate each domain once, not each
# address) and phones (memoised per number, precompiled validity check). The
# reference functions below are the straightforward implementation the
# shortcuts replace; every generated cell must get the same outcome -- the same
# value or the same IdentifierError message -- from both, with cold and warm caches.

# sha256 of the phonenumbers source mirrored by _is_valid_number (phonenumbers 9.0.43).
_PHONENUMBERS_MIRRORED_SHA256 = "88d4debadee9bccf9e58506d7bab8c59842f9a7e35ed056d96f94c64433b31d7"

# sha256 of the phonenumbers source mirrored by _parse_international (phonenumbers 9.0.43).
_PHONENUMBERS_PARSE_SHA256 = "50fa527c82acc9c362614cba8d265d7303931863fa754bcd6183b75ed84ed1cf"

_REFERENCE_PHONE = re.compile(
    r"(?P<main>[0-9 \u00a0\u2007\u202f+\-.()/]*?)"
    r"(?:(?:x|ext\.?|\#)[ \u00a0\u2007\u202f]*(?P<ext>[0-9]+))?",
    re.IGNORECASE,
)


def _normalize_email_reference(value: str) -> str:
    """Full email_validator run on every address (``value`` already stripped)."""
    if "@" not in value or re.search(r"\s", value):
        raise IdentifierError(INVALID_EMAIL, value)
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise IdentifierError(INVALID_EMAIL, value) from None
    return value.lower()


def _normalize_phone_reference(value: str, default_country: str) -> str:
    """Unmemoised phonenumbers.parse + is_valid_number (``value`` already stripped)."""
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierError(INVALID_PHONE, value)
    match = _REFERENCE_PHONE.fullmatch(value)
    if match is None:
        raise IdentifierError(INVALID_PHONE, value)
    digits = re.sub(r"[^0-9]", "", match["main"])
    if len(digits) < 3:
        raise IdentifierError(INVALID_PHONE, value)
    sign = "+" if value.startswith("+") else ""
    suffix = f";ext={match['ext']}" if match["ext"] else ""
    try:
        parsed = phonenumbers.parse(sign + digits, default_country.upper())
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return e164 + suffix
    return sign + digits + suffix


def _outcome(function: Callable[[], str]) -> tuple[str, str]:
    try:
        return ("ok", function())
    except IdentifierError as error:
        return ("error", error.message)


def _assert_same_as_reference(
    kind: IdentifierKind, cells: list[str], reference: Callable[[str], str], country: str = "US"
) -> Counter[tuple[str, bool]]:
    """Compare normalize() with ``reference``; count outcomes for coverage checks."""
    seen: Counter[tuple[str, bool]] = Counter()
    mismatches = []
    for cell in cells:
        value = cell.strip()
        if not value or value.lower() in PLACEHOLDERS:
            continue
        expected = _outcome(lambda: reference(value))  # noqa: B023
        actual = _outcome(lambda: normalize(kind, cell, country))  # noqa: B023
        if actual != expected:
            mismatches.append((cell, country, actual, expected))
        seen[(expected[0], _is_fast_email(value))] += 1
    assert not mismatches, mismatches[:20]
    return seen


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"


def _is_fast_email(value: str) -> bool:
    """Whether ``value`` takes the e-mail fast path (unquoted ASCII dot-atom local part)."""
    local, at, _ = value.partition("@")
    return bool(at) and re.fullmatch(rf"{_ATEXT}+(\.{_ATEXT}+)*", local) is not None


_LOCAL_PARTS = [
    "jane",
    "Jane.Doe",
    "jane.doe+tag",
    "JOHN_SMITH-99",
    "o'brien",
    "a",
    "x",
    "0",
    "!#$%&'*+-/=?^_`{|}~",
    "a.b.c.d",
    "info",
    "Postmaster",
    ".jane",
    "jane.",
    "jane..doe",
    ".",
    "",
    '"jane"',
    '"jane doe"',
    '"jane@doe"',
    '"ja\\"ne"',
    '"jane"x',
    "jürgen",
    "JÜRGEN",
    "用户",
    "e\u0301",
    "\u0301e",
    "jane\u200bdoe",
    "jane\u202edoe",
    "jane<doe",
    "jane>doe",
    "jane(doe)",
    "jane,doe",
    "jane;doe",
    "jane:doe",
    "jane[doe]",
    "jane\\doe",
    "jane@doe",
    "Jane Doe <jane",
    "<jane",
    "a" * 63,
    "a" * 64,
    "a" * 65,
    "b" * 200,
    "c" * 240,
]

_DOMAINS = [
    "example.com",
    "Example.COM",
    "gmail.com",
    "sub.example.co.uk",
    "b",
    "localhost",
    "example",
    "example.invalid",
    "x.invalid",
    "example.local",
    "example.test",
    "example.onion",
    "1.168.192.in-addr.arpa",
    "home.arpa",
    "example.com.",
    ".example.com",
    "example..com",
    "-example.com",
    "example-.com",
    "exa_mple.com",
    "ex--ample.com",
    "xn--mnchen-3ya.de",
    "xn--abc.de",
    "münchen.de",
    "MÜNCHEN.de",
    "例え.jp",
    "example。com",
    "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"  # full-width "example",
    "\u0338example.com",
    "e\u0301xample.com",
    "example.123",
    "123.com",
    "[192.168.0.1]",
    "[300.1.1.1]",
    "[IPv6:::1]",
    "[IPv6:fe80::1%eth0]",
    "[foo:bar]",
    "[example.com]",
    "example.com>",
    "<example.com>",
    "example@com.com",
    "example.com, other@example.com",
    "",
    "l" * 63 + ".com",
    "l" * 64 + ".com",
    ".".join(["a" * 60] * 4) + ".com",
    ".".join(["a" * 61] * 4),
    ".".join(["a" * 63] * 4),
    ".".join(["ü" * 20] * 8) + ".de",
]


def _generated_emails() -> list[str]:
    rng = random.Random(20240611)
    cells = [f"{local}@{domain}" for local in _LOCAL_PARTS for domain in _DOMAINS]
    # Around the 254-byte limit on the whole address, for ASCII and for
    # internationalised domains (whose UTF-8 and IDNA ASCII forms are longer
    # than the string as written), with one domain validated for many lengths.
    for domain in [
        "example.com",
        ".".join(["d" * 60] * 3) + ".com",
        ".".join(["ü" * 15] * 3) + ".de",
        ".".join(["xn--mnchen-3ya"] * 5) + ".de",
        "münchen.de",
    ]:
        budget = 254 - 1 - len(domain.encode())
        cells += [f"{'k' * n}@{domain}" for n in range(max(1, budget - 40), budget + 3)]
    alphabet = string.ascii_letters + string.digits + ".+-_'!#@\"<> ü"
    for _ in range(1500):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        cells.append(f"{local}@{rng.choice(_DOMAINS)}")
    for _ in range(500):
        cells.append("".join(rng.choice(alphabet + ".@") for _ in range(rng.randint(1, 30))))
    return cells


def test_email_fast_path_matches_full_validation() -> None:
    cells = _generated_emails()
    assert len(cells) > 4000
    _email_domain_bytes.cache_clear()
    seen = _assert_same_as_reference("email", cells, _normalize_email_reference)
    # ... and again with every domain already in the cache.
    assert _assert_same_as_reference("email", cells, _normalize_email_reference) == seen
    # Both paths, each both accepting and rejecting, were really exercised.
    for outcome in ("ok", "error"):
        for fast in (True, False):
            assert seen[(outcome, fast)] >= 50, seen


def test_email_length_limit_counts_the_whole_address() -> None:
    domain = ".".join(["d" * 60] * 4)  # 243 characters
    assert normalize("email", "k" * 10 + "@" + domain) == "k" * 10 + "@" + domain
    assert _error("email", "k" * 11 + "@" + domain).message == INVALID_EMAIL
    # The same domain, now cached, still judged per address.
    assert normalize("email", "k" * 10 + "@" + domain) == "k" * 10 + "@" + domain
    assert normalize("email", "k" * 100 + "@example.com") == "k" * 100 + "@example.com"


def _generated_phones() -> list[str]:
    rng = random.Random(4155552671)
    cells = [
        "+1 415 555 0123",
        "+44 7700 900123",
        "(415) 555-2671",
        "+44 20 7946 0958",
        "020 7946 0958",
        "+49 30 901820",
        "030 901820",
        "+49 1512 3456789",
        "+33 1 42 68 53 00",
        "+39 06 6988 4000",
        "+39 335 123 4567",
        "+61 2 9374 4000",
        "+81 3-3224-5000",
        "+91 98765 43210",
        "+55 11 91234-5678",
        "+7 495 123-45-67",
        "+7 701 123 4567",
        "+1 268 464 1234",
        "+1 242 359 1234",
        "+1 787 555 1234",
        "+1 604 555 1234",
        "+44 1624 456789",
        "+44 7624 123456",
        "+44 1534 456789",
        "+800 1234 5678",
        "+882 1234 5678",
        "+979 123456789",
        "011 44 20 7946 0958",
        "00 49 30 901820",
        "0049 30 901820",
        "+0 415 555 2671",
        "+00 44 20 7946 0958",
        "+999 123 456",
        "+1 000 000 0000",
        "911",
        "112",
        "999",
        "+1",
        "000",
        "0" * 20,
        "1" * 17,
        "1" * 251,
        "+" + "1" * 250,
        "+++415 555 2671",
        "415++555",
        "()---...///",
        "(415) 555-2671 x12",
        "(415) 555-2671xx12",
        "(415) 555-2671 ext.12",
        "(415) 555-2671 ext..12",
        "(415) 555-2671 # 12",
        "(415) 555-2671 x 12 ",
        "x12",
        "#12",
        "415 x12 555",
        "415 555 2671 e12",
    ]
    national = ["415", "212", "646", "312", "617", "020", "030", "0151", "06", "01", "07700"]
    separators = [" ", "-", ".", "/", "", "\u00a0", "(", ")"]
    for _ in range(3000):
        shape = rng.random()
        if shape < 0.35:
            cc = rng.choice(
                ["1", "44", "49", "33", "39", "61", "7", "91", "262", "590", "599", "800"]
            )
            digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(4, 12)))
            cell = f"+{cc} {digits}"
        elif shape < 0.7:
            digits = rng.choice(national) + "".join(
                rng.choice(string.digits) for _ in range(rng.randint(3, 9))
            )
            cell = "".join(
                d + (rng.choice(separators) if rng.random() < 0.3 else "") for d in digits
            )
        elif shape < 0.85:
            cell = "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 18)))
        else:
            cell = "".join(
                rng.choice(string.digits + "+-. ()/xX#et") for _ in range(rng.randint(1, 16))
            )
        if rng.random() < 0.1:
            cell += rng.choice([" x", " ext. ", "#", "ext", " X "]) + str(rng.randint(0, 9999))
        cells.append(cell)
    return cells


@pytest.mark.parametrize("country", ["US", "gb", "DE", "CA", "IT", "XX", "001", ""])
def test_phone_fast_path_matches_reference(country: str) -> None:
    cells = _generated_phones()
    _normalize_phone_number.cache_clear()
    seen = _assert_same_as_reference(
        "phone", cells, lambda v: _normalize_phone_reference(v, country), country
    )
    assert (
        _assert_same_as_reference(
            "phone", cells, lambda v: _normalize_phone_reference(v, country), country
        )
        == seen
    )
    assert seen[("ok", False)] > 1000 and seen[("error", False)] > 50, seen


def _numbers_for_every_region() -> list[phonenumbers.PhoneNumber]:
    """Example numbers of every region, non-geographic entity and type, and variants."""
    examples = [
        phonenumbers.example_number_for_type(region, number_type)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for number_type in phonenumbers.PhoneNumberType.values()
    ]
    examples += [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    ]
    numbers = []
    for example in filter(None, examples):
        nsn = phonenumbers.national_significant_number(example)
        variants = {nsn, nsn[:-1], nsn[:-2], nsn + "0", nsn + "12", "0" + nsn}
        variants |= {nsn[:-1] + d for d in string.digits}
        variants |= {d + nsn[1:] for d in string.digits}
        variants |= {nsn[:2] + d + nsn[3:] for d in "0159"}
        for variant in sorted(variants):
            with contextlib.suppress(phonenumbers.NumberParseException):
                numbers.append(phonenumbers.parse(f"+{example.country_code}{variant}"))
    # Country codes without metadata or regions go to the library as they are.
    numbers.append(phonenumbers.PhoneNumber(country_code=999, national_number=1234567))
    numbers.append(phonenumbers.PhoneNumber(country_code=0, national_number=1234567))
    numbers.append(phonenumbers.PhoneNumber(national_number=1234567))
    return numbers


def test_phone_validity_check_matches_phonenumbers() -> None:
    numbers = _numbers_for_every_region()
    assert len(numbers) > 20000
    verdicts: Counter[bool] = Counter()
    for number in numbers:
        expected = phonenumbers.is_valid_number(number)
        assert _is_valid_number(number) == expected, number
        verdicts[expected] += 1
    assert verdicts[True] > 2000 and verdicts[False] > 2000, verdicts


def test_phone_validity_mirror_tracks_library_code() -> None:
    # _is_valid_number re-implements, with precompiled patterns, exactly what
    # these library functions do. If this fails, phonenumbers changed one of
    # them: re-check _is_valid_number against the new code, then update the hash.
    util = phonenumbers.phonenumberutil
    functions: list[Callable[..., object]] = [
        util.is_valid_number,
        util.is_valid_number_for_region,
        util.region_code_for_number,
        util._region_code_for_number_from_list,
        util.country_code_for_valid_region,
        util._number_type_helper,
        util._is_number_matching_desc,
        util._match_national_number,
        util._match,
        phonenumbers.re_util.fullmatch,
        phonenumbers.re_util.re_compile,
        phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code,
    ]
    source = "\n".join(inspect.getsource(function) for function in functions)
    assert hashlib.sha256(source.encode()).hexdigest() == _PHONENUMBERS_MIRRORED_SHA256


def _international_inputs() -> list[str]:
    """ "+<digits>" strings: every calling code's example numbers and their variants (digits
    added, dropped, changed, a leading 0 or national prefix), and random digit runs."""
    rng = random.Random(11)
    inputs = {
        f"+{n.country_code}{n.national_number}"
        for n in _numbers_for_every_region()
        if n.country_code and n.national_number is not None
    }
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(0, 19):
            inputs.add(f"+{code}" + "".join(rng.choice(string.digits) for _ in range(length)))
        for prefix in ("0", "1", "00", "01", "8", "9"):
            inputs.add(f"+{code}{prefix}1234567")
    for length in range(0, 22):
        inputs.add("+" + "".join(rng.choice(string.digits) for _ in range(length)))
    return sorted(inputs)


def test_international_parse_matches_phonenumbers() -> None:
    inputs = _international_inputs()
    assert len(inputs) > 25000
    taken = 0
    for number in inputs:
        fast = _parse_international(number)
        if fast is None:
            continue  # the library's own path
        taken += 1
        for region in ("US", "GB", "XX"):
            assert phonenumbers.parse(number, region) == fast, number
    # the fast path must be the common case, not a rarity
    assert taken > len(inputs) // 2, taken


def test_international_parse_mirror_tracks_library_code() -> None:
    # _parse_international re-implements what these library functions do for "+<digits>".
    # If this fails, phonenumbers changed one of them: re-check the mirror against the new
    # code, then update the hash.
    util = phonenumbers.phonenumberutil
    functions: list[Callable[..., object]] = [
        util.parse,
        util._build_national_number_for_parsing,
        util._is_viable_phone_number,
        util._check_region_for_parsing,
        util._maybe_strip_extension,
        util._maybe_extract_country_code,
        util._extract_country_code,
        util._maybe_strip_national_prefix_carrier_code,
        util._set_italian_leading_zeros_for_phone_number,
        util.region_code_for_country_code,
    ]
    source = "\n".join(inspect.getsource(function) for function in functions)
    assert hashlib.sha256(source.encode()).hexdigest() == _PHONENUMBERS_PARSE_SHA256


def test_caches_are_bounded() -> None:
    for cached in (
        _email_domain_bytes,
        _normalize_phone_number,
        _country_checks,
        _national_prefix_match,
    ):
        maxsize = cached.cache_info().maxsize
        assert maxsize is not None and maxsize <= 16384


def test_phone_cache_keeps_formats_and_countries_apart() -> None:
    _normalize_phone_number.cache_clear()
    assert normalize("phone", "020 7946 0958", "GB") == "+442079460958"
    assert normalize("phone", "020 7946 0958", "US") == "02079460958"
    assert normalize("phone", "020 7946 0958 x5", "gb") == "+442079460958;ext=5"
    assert normalize("phone", "+020 7946 0958", "GB") == _normalize_phone_reference(
        "+020 7946 0958", "GB"
    )
