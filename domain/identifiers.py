"""Identifier normalization: the keys a lead is recognised and deduplicated by.

Every identifier cell of an import goes through :func:`normalize`, so the same
person written two ways in two files (``Jane@Example.com`` / ``jane@example.com``,
``(415) 555-2671`` / ``+1 415 555 2671``) ends up with one identity. A cell that
cannot be used raises :class:`IdentifierError` whose ``message`` is one of the
user-facing constants below, so callers can report it per row without parsing text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberDesc

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
# we would then silently mangle. "main" is greedy: no character it may hold can
# start an extension, so it always ends where the extension (if any) starts,
# and backtracking could never move that point.
_PHONE: Final = re.compile(
    r"(?P<main>[0-9 \u00a0\u2007\u202f+\-.()/]*)"
    r"(?:(?:x|ext\.?|\#)[ \u00a0\u2007\u202f]*(?P<ext>[0-9]+))?",
    re.IGNORECASE,
)
# Deletes every non-digit "main" may hold, i.e. keeps just its digits.
_PHONE_PUNCTUATION: Final = str.maketrans("", "", " \u00a0\u2007\u202f+-.()/")
_MIN_PHONE_DIGITS: Final = 3

# An unquoted ASCII local part in RFC 5322 dot-atom form: atext runs separated
# by single dots. This is email_validator's own first, ASCII-only local-part
# test (rfc_constants.DOT_ATOM_TEXT), written out here.
_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM_LOCAL: Final = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# email_validator's limit on the whole address, in UTF-8 bytes (RFC 5321 4.5.3.1.3).
_EMAIL_MAX_BYTES: Final = 254

# Bounds of the memo caches below. Domains repeat massively within an import
# (gmail.com, the customer's own company domains); phone numbers repeat when
# rows update existing leads. An entry is a few hundred bytes at most.
_EMAIL_DOMAIN_CACHE_SIZE: Final = 16384
_PHONE_CACHE_SIZE: Final = 16384


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
    # library.
    if "@" not in value or _WHITESPACE.search(value):
        raise IdentifierError(INVALID_EMAIL, raw)
    local, _, domain = value.partition("@")
    if _DOT_ATOM_LOCAL.fullmatch(local):
        # Fast path, same verdict as validate_email(value) (~1 us instead of ~25 us).
        # For a local part that is plain ASCII dot-atom, email_validator's answer
        # depends on the local part only through the address length: it splits at
        # this first "@" (or, if a character after the "@" combined with it, it
        # rejects both value and the probe address "a@" + domain alike), accepts
        # and keeps the local part unchanged, validates the domain on its own,
        # then checks that local + "@" + domain is at most 254 UTF-8 bytes in the
        # written, the normalized and the IDNA ASCII form. So: validate the domain
        # once through the library (cached), then do the length sum here.
        domain_bytes = _email_domain_bytes(domain)
        if domain_bytes is None or len(local) + 1 + domain_bytes > _EMAIL_MAX_BYTES:
            raise IdentifierError(INVALID_EMAIL, raw)
        return value.lower()
    # Anything else (quoted or non-ASCII local parts, display names, several
    # "@"): let the library judge the whole address.
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise IdentifierError(INVALID_EMAIL, raw) from None
    # Lower-case everything, local part included: the library's normalized form
    # keeps the local part's case, which would make Jane@x.com and jane@x.com two
    # leads. Internationalised domains stay as written (not punycode).
    return value.lower()


@functools.lru_cache(maxsize=_EMAIL_DOMAIN_CACHE_SIZE)
def _email_domain_bytes(domain: str) -> int | None:
    """Validate ``domain`` as the part after the "@" of an address.

    Returns None when email_validator rejects it, otherwise the UTF-8 byte
    length of its longest form (as written, normalized, IDNA ASCII): an address
    ``local@domain`` with a dot-atom ASCII ``local`` is then valid exactly when
    ``len(local) + 1 + result <= 254``. The probe uses the shortest such local
    part, "a", so a domain rejected here is rejected with any local part.
    """
    try:
        info = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return max(len(form.encode()) for form in (domain, info.domain, info.ascii_domain))


def _normalize_phone(value: str, raw: str, default_country: str) -> str:
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierError(INVALID_PHONE, raw)
    match = _PHONE.fullmatch(value)
    if match is None:
        raise IdentifierError(INVALID_PHONE, raw)
    digits = match["main"].translate(_PHONE_PUNCTUATION)
    if len(digits) < _MIN_PHONE_DIGITS:
        raise IdentifierError(INVALID_PHONE, raw)
    sign = "+" if value.startswith("+") else ""
    number = _normalize_phone_number(sign + digits, default_country)
    ext = match["ext"]
    # The extension stays part of the identity: two extensions of one switchboard
    # number are two different people.
    return f"{number};ext={ext}" if ext else number


@functools.lru_cache(maxsize=_PHONE_CACHE_SIZE)
def _normalize_phone_number(number: str, default_country: str) -> str:
    """E.164 form of ``number`` ("+"? then digits) if valid, else ``number`` itself."""
    try:
        # Parse the reduced form (sign + digits): our own character check already
        # decided what is acceptable, and phonenumbers then sees the same input
        # for "415.555.2671", "415 555 2671" and "(415) 555-2671".
        parsed = _parse_international(number) or phonenumbers.parse(number, default_country.upper())
    except phonenumbers.NumberParseException:
        return number
    if _is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # Not a valid number for its region (test numbers like 555-0100, a number
    # from another country without "+"): keep the digits as written rather than
    # inventing a country code, so the same cell always gives the same identity.
    return number


# --- phonenumbers.parse of "+<digits>", the common case -----------------------
#
# phonenumbers.parse costs ~15 us, most of it in steps that cannot change the
# result for "+" followed by ASCII digits (raw-input scanning, extension and
# viability regexes, exception-driven retries). _parse_international gives the
# library's result for such input directly, or None to send it to the library.
# What it mirrors (phonenumbers 9.0):
#
#   parse("+" d, r): d of 3+ digits is viable and has no extension; the "+" is
#       stripped and _extract_country_code(d) takes the shortest prefix (1 to 3
#       digits, not starting with "0") that is a known calling code cc; the rest
#       is the national number nn. No code found, or d of 2 digits or less: an
#       error or a retry (-> library).
#   The metadata is that of cc's main region (whatever r is). A national prefix
#       for parsing that matches the start of nn may be stripped (-> library);
#       otherwise nn stays as it is. len(nn) must be 2..17 (else an error ->
#       library); nn starting with "0" sets italian_leading_zero (-> library).
#   Result: PhoneNumber(country_code=cc, national_number=int(nn)).
#
# tests/unit/test_identifiers.py checks it against phonenumbers.parse for
# example and mutated numbers of every calling code, and pins the source of the
# mirrored library functions.

_MAX_PHONE_INPUT: Final = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH


@functools.lru_cache(maxsize=1024)
def _national_prefix_match(country_code: int) -> tuple[bool, Callable[[str], object] | None]:
    """(calling code has metadata, matcher of its national prefix for parsing or None)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return False, None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return False, None
    prefix = metadata.national_prefix_for_parsing
    return True, (re.compile(prefix).match if prefix else None)


def _parse_international(number: str) -> PhoneNumber | None:
    """``phonenumbers.parse(number, any region)`` for ``number`` = "+" then ASCII digits, when
    that is a plain split into calling code and national number; otherwise None."""
    if not number.startswith("+") or len(number) > _MAX_PHONE_INPUT:
        return None
    digits = number[1:]
    if len(digits) <= 2 or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    known, prefix_match = _national_prefix_match(country_code)
    if not known or (prefix_match is not None and prefix_match(national)):
        return None
    return PhoneNumber(country_code=country_code, national_number=int(national))


# --- phonenumbers.is_valid_number, precompiled ------------------------------
#
# phonenumbers.is_valid_number(n) costs 10-20 us, mostly in overhead around
# its regular expressions: it first finds the region of n among the regions
# sharing its country code (25 for +1) by running each region's full type
# check, then runs that region's type check a second time, and every pattern
# is looked up by string in re's cache on every use. _is_valid_number gives the
# same answer from precompiled patterns. What it mirrors (phonenumbers 9.0):
#
#   is_valid_number(n) = is_valid_number_for_region(n, region_code_for_number(n))
#   region_code_for_number: regions = COUNTRY_CODE_TO_REGION_CODE[cc]; none -> None
#       (-> invalid); one -> that region; several -> the first whose leading_digits
#       pattern matches the start of the NSN or, for a region without one, whose
#       type check passes (a region without metadata is skipped); none -> invalid.
#   is_valid_number_for_region(n, r): metadata of r, which must exist and have
#       country code cc, then the type check of the NSN against it.
#   type check (_number_type_helper(...) != UNKNOWN): the NSN matches general_desc
#       and at least one of premium_rate, toll_free, shared_cost, voip,
#       personal_number, pager, uan, voicemail, fixed_line, and mobile unless
#       same_mobile_and_fixed_line_pattern. A description matches when it has a
#       non-empty pattern that matches the whole NSN and, if it lists possible
#       lengths, the NSN's length is one of them.
#
# Country codes whose regions do not all have metadata with that country code,
# or that belong to non-geographic entities ("001"), go to the library itself.
# tests/unit/test_identifiers.py checks the mirror against the library for
# example and mutated numbers of every region and type.

_Matcher = tuple[frozenset[int], Callable[[str], object]]
# (leading-digits prefix matcher, general description, type descriptions); a
# None general description (no pattern) is one that no number matches.
_RegionCheck = tuple[Callable[[str], object] | None, _Matcher | None, tuple[_Matcher, ...]]


def _desc_matcher(desc: PhoneNumberDesc | None) -> _Matcher | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern).fullmatch


def _region_check(metadata: PhoneMetadata) -> _RegionCheck:
    descs = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        descs.append(metadata.mobile)
    types = tuple(m for m in map(_desc_matcher, descs) if m is not None)
    leading = metadata.leading_digits
    leading_match = re.compile(leading).match if leading is not None else None
    return leading_match, _desc_matcher(metadata.general_desc), types


# Keyed by country calling code (a few hundred exist), so never evicts in practice.
@functools.lru_cache(maxsize=1024)
def _country_checks(country_code: int) -> tuple[_RegionCheck, ...] | None:
    """Per-region checks for ``country_code``, in the library's order; None: use the library."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return None
    checks = []
    for region in regions:
        if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY or region != region.upper():
            return None
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None or metadata.country_code != country_code:
            return None
        checks.append(_region_check(metadata))
    return tuple(checks)


def _passes_type_check(nsn: str, check: _RegionCheck) -> bool:
    _, general, types = check
    if general is None:
        return False
    length = len(nsn)
    general_lengths, general_match = general
    if (general_lengths and length not in general_lengths) or general_match(nsn) is None:
        return False
    for lengths, match in types:
        if (not lengths or length in lengths) and match(nsn) is not None:
            return True
    return False


def _is_valid_number(number: PhoneNumber) -> bool:
    """Exactly ``phonenumbers.is_valid_number(number)``, several times faster."""
    country_code = number.country_code
    checks = None if country_code is None else _country_checks(country_code)
    if checks is None:
        return phonenumbers.is_valid_number(number)
    nsn = phonenumbers.national_significant_number(number)
    if len(checks) == 1:
        # A sole region is the number's region without a leading-digits test.
        return _passes_type_check(nsn, checks[0])
    for check in checks:
        leading = check[0]
        if leading is not None:
            if leading(nsn):
                return _passes_type_check(nsn, check)
        elif _passes_type_check(nsn, check):
            return True
    return False


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
