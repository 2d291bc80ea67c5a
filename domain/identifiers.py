"""Identifier normalization: the keys a lead is recognised and deduplicated by.

Every identifier cell of an import goes through :func:`normalize`, so the same
person written two ways in two files (``Jane@Example.com`` / ``jane@example.com``,
``(415) 555-2671`` / ``+1 415 555 2671``) ends up with one identity. A cell that
cannot be used raises :class:`IdentifierError` whose ``message`` is one of the
user-facing constants below, so callers can report it per row without parsing text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

IdentifierKind = Literal["email", "phone", "cookie", "external_id", "social"]
KINDS: tuple[IdentifierKind, ...] = ("email", "phone", "cookie", "external_id", "social")

# A mapping target "_alias_<kind>" means "this column is one more identifier of
# that kind" (e.g. a second email column); the leading underscore keeps these
# names out of the profile field namespace.
ALIAS_TARGETS: dict[str, IdentifierKind] = {f"_alias_{kind}": kind for kind in KINDS}

MISSING: Final = "Missing required identifier"
INVALID_EMAIL: Final = "Invalid email format"
INVALID_PHONE: Final = "Invalid phone format"
INVALID_IDENTIFIER: Final = "Invalid identifier format"

# Identifiers are stored and indexed; 255 keeps them within an ordinary
# VARCHAR(255) key and rejects cells that are clearly not an identifier
# (a pasted paragraph, a whole JSON blob).
MAX_IDENTIFIER_LENGTH: Final = 255

# Values spreadsheets and exports write into cells that are really empty.
# Compared after strip + lower(), so "N/A", "NULL" and " None " all match.
_PLACEHOLDERS: Final = frozenset(
    {
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
    }
)

# C0 controls, DEL and C1 controls (Unicode category Cc). A tab or newline
# inside an ID is an export accident, never part of a real cookie or CRM ID.
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Any whitespace: email_validator rejects every str.isspace() character
# (checked exhaustively over all code points), so refusing them up front never
# rejects an address the library would accept.
_WHITESPACE: Final = re.compile(r"\s")

# Phone cell: the number part may hold only ASCII digits, spaces (including the
# no-break spaces spreadsheets use as digit-group separators) and + - . ( ) /;
# an optional extension (x, ext, ext., #, any case, then digits) may end it.
# [0-9] rather than \d: \d would accept Arabic-Indic or full-width digits that
# we would then silently mangle.
_PHONE: Final = re.compile(
    r"(?P<main>[0-9 \u00a0\u2007\u202f+\-.()/]*?)"
    r"(?:(?:x|ext\.?|\#)[ \u00a0\u2007\u202f]*(?P<ext>[0-9]+))?",
    re.IGNORECASE,
)
_NON_DIGITS: Final = re.compile(r"[^0-9]")
_MIN_PHONE_DIGITS: Final = 3


class IdentifierError(ValueError):
    """An identifier cell that cannot be used.

    ``.message`` is exactly one of MISSING, INVALID_EMAIL, INVALID_PHONE or
    INVALID_IDENTIFIER; ``.value`` is the cell as written (not stripped), so an
    error report can quote exactly what the user uploaded.
    """

    def __init__(self, message: str, value: str) -> None:
        """Create the error with its user-facing ``message`` and the raw cell ``value``."""
        super().__init__(message)
        self.message = message
        self.value = value


def is_placeholder(raw: str) -> bool:
    """Return True when the cell is a junk placeholder such as "N/A", "null" or "-".

    Leading/trailing whitespace and case are ignored. An empty cell is *not* a
    placeholder (it is simply empty); callers that treat both alike should test
    ``not raw.strip() or is_placeholder(raw)``.
    """
    return raw.strip().lower() in _PLACEHOLDERS


def is_valid_country(code: str) -> bool:
    """Return True for an ISO 3166-1 alpha-2 code phonenumbers has metadata for.

    Case-insensitive ("us" and "US" are both valid). Surrounding whitespace is
    not tolerated, so a caller cannot validate one string and use another.
    Non-geographic entities such as "001" are not countries and are rejected.
    """
    return len(code) == 2 and code.isalpha() and code.upper() in phonenumbers.SUPPORTED_REGIONS


def normalize(kind: IdentifierKind, raw: str, default_country: str = "US") -> str:
    """Return the normalized identifier of ``kind`` for the cell ``raw``.

    ``default_country`` (ISO alpha-2, any case) is the region assumed for phone
    numbers written without a "+" country code; it is ignored for other kinds.

    Raises IdentifierError (MISSING for an empty or placeholder cell, otherwise
    the kind's INVALID_* message) when the cell cannot be used, and a plain
    ValueError for an unknown ``kind`` -- that is a programming error, not a bad
    cell, so it must not be reported to the user as a row error.
    """
    try:
        normalizer = _NORMALIZERS[kind]
    except KeyError:
        raise ValueError(f"unknown identifier kind: {kind!r}") from None
    value = raw.strip()
    if not value or value.lower() in _PLACEHOLDERS:
        raise IdentifierError(MISSING, raw)
    return normalizer(value, raw, default_country)


def _normalize_email(value: str, raw: str, default_country: str) -> str:
    # Cheap precheck for the common junk ("see notes", "john at acme dot com"):
    # it rejects such a cell about 5x faster than email_validator does. It only
    # rejects what email_validator rejects too; acceptance always comes from the
    # library, which costs ~20-30 us per address.
    if "@" not in value or _WHITESPACE.search(value):
        raise IdentifierError(INVALID_EMAIL, raw)
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise IdentifierError(INVALID_EMAIL, raw) from None
    # Lower-case everything, local part included: the library's normalized form
    # keeps the local part's case, which would make Jane@x.com and jane@x.com two
    # leads. Internationalised domains stay as written (not punycode).
    return value.lower()


def _normalize_phone(value: str, raw: str, default_country: str) -> str:
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierError(INVALID_PHONE, raw)
    match = _PHONE.fullmatch(value)
    if match is None:
        raise IdentifierError(INVALID_PHONE, raw)
    digits = _NON_DIGITS.sub("", match["main"])
    if len(digits) < _MIN_PHONE_DIGITS:
        raise IdentifierError(INVALID_PHONE, raw)
    sign = "+" if value.startswith("+") else ""
    ext = match["ext"]
    # The extension stays part of the identity: two extensions of one switchboard
    # number are two different people.
    suffix = f";ext={ext}" if ext else ""
    try:
        # Parse the reduced form (sign + digits): our own character check already
        # decided what is acceptable, and phonenumbers then sees the same input
        # for "415.555.2671", "415 555 2671" and "(415) 555-2671".
        parsed = phonenumbers.parse(sign + digits, default_country.upper())
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return e164 + suffix
    # Not a valid number for its region (test numbers like 555-0100, a number
    # from another country without "+"): keep the digits as written rather than
    # inventing a country code, so the same cell always gives the same identity.
    return sign + digits + suffix


def _normalize_opaque(value: str, raw: str, default_country: str) -> str:
    # Cookies and external IDs are opaque: case is significant ("AbC" != "abc").
    _check_opaque(value, raw)
    return value


def _normalize_social(value: str, raw: str, default_country: str) -> str:
    # Handles are case-insensitive on every major network, and "@JaneDoe" and
    # "JaneDoe" name the same account. Profile URLs are kept as URLs (no attempt
    # to extract the handle: the URL shapes differ per network and change) but
    # lower-cased and without trailing "/", which covers the usual copy-paste
    # variants of one profile URL.
    handle = value.lstrip("@").rstrip("/").lower()
    if not handle:
        raise IdentifierError(MISSING, raw)
    _check_opaque(handle, raw)
    return handle


def _check_opaque(value: str, raw: str) -> None:
    if len(value) > MAX_IDENTIFIER_LENGTH or _CONTROL_CHARS.search(value):
        raise IdentifierError(INVALID_IDENTIFIER, raw)


_NORMALIZERS: Final[dict[str, Callable[[str, str, str], str]]] = {
    "email": _normalize_email,
    "phone": _normalize_phone,
    "cookie": _normalize_opaque,
    "external_id": _normalize_opaque,
    "social": _normalize_social,
}
