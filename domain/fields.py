"""The lead profile field catalog: which mapping targets become profile data.

An import's ``field_mappings`` maps CSV columns to targets. A target that names
one of the fields below (case-insensitively, ignoring spaces, hyphens and
underscores) is stored on the lead's profile; any other target is ignored and
reported back so the user can see which columns were not imported.

Identifiers (email, phone, cookie, external ID, social handle) are not profile
fields: they are handled by :mod:`domain.identifiers`. Profile values are stored
as written; this module does not validate them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

# One short description per field, in the order docs/api.md lists them; keep each entry a
# single sentence.
FIELD_DESCRIPTIONS: Final[dict[str, str]] = {
    "salutation": "Form of address, such as Mr, Ms or Dr.",
    "first_name": "Given name.",
    "middle_name": "Middle name or initial.",
    "last_name": "Family name.",
    "full_name": "Whole name in one cell, for sources that do not split it.",
    "title": "Job title, such as Head of Marketing.",
    "department": "Department or team within the company.",
    "company": "Name of the organisation the lead works for.",
    "industry": "Industry or sector of the company.",
    "website": "Company or personal website URL.",
    "annual_revenue": "Company annual revenue, as written in the source.",
    "employee_count": "Number of employees of the company, or a size band such as 51-200.",
    "address": "First street address line.",
    "address2": "Second street address line: suite, floor, building.",
    "city": "City or locality.",
    "state": "State, province or region.",
    "postal_code": "Postal or ZIP code.",
    "country": "Country name or ISO 3166-1 code.",
    "timezone": "Time zone, preferably an IANA name such as Europe/Berlin.",
    "language": "Preferred language, preferably an ISO 639-1 code such as en.",
    "birthday": "Date of birth, preferably ISO 8601 (YYYY-MM-DD).",
    "gender": "Gender as stated by the lead.",
    "linkedin_url": "LinkedIn profile URL.",
    "twitter": "X/Twitter handle or profile URL.",
    "lead_source": "Where the lead came from: event, campaign, referral, purchased list.",
    "lead_status": "Sales status, such as new, contacted or qualified.",
    "notes": "Free-text notes.",
}

PROFILE_FIELDS: Final[frozenset[str]] = frozenset(FIELD_DESCRIPTIONS)

# Spaces, hyphens and underscores are dropped before comparing, so "First Name",
# "first-name", "FIRST_NAME" and "FirstName" all find first_name. No two catalog
# fields differ only in those characters (a unit test checks it), so this is unambiguous.
_SEPARATORS: Final = re.compile(r"[\s_\-]+")


def _squash(name: str) -> str:
    return _SEPARATORS.sub("", name).lower()


_BY_SQUASHED: Final[dict[str, str]] = {_squash(field): field for field in FIELD_DESCRIPTIONS}


def canonical_field(name: str) -> str | None:
    """Return the profile field that the mapping target ``name`` denotes, or None.

    Matching ignores case, surrounding whitespace and any spaces, hyphens or
    underscores, so "First_Name", "first name", "FIRST-NAME" and "FirstName" all
    give "first_name". Names starting with "_" are reserved for system targets
    (such as "_alias_email") and never match a profile field.
    """
    stripped = name.strip()
    if stripped.startswith("_"):
        return None
    return _BY_SQUASHED.get(_squash(stripped))


def split_mappings(field_mappings: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split ``{csv column: target}`` into profile mappings and ignored targets.

    Returns ``({csv column: canonical field}, [ignored targets])``. The ignored
    list holds each target that is not a known profile field, as written, once,
    in the order first met. Several columns may map to the same field; choosing
    between them is left to the caller. Identifier targets ("email",
    "_alias_phone", ...) are not profile fields, so a caller should take them out
    before calling this or it will find them in the ignored list.
    """
    profile: dict[str, str] = {}
    ignored: list[str] = []
    seen_ignored: set[str] = set()
    for column, target in field_mappings.items():
        field = canonical_field(target)
        if field is not None:
            profile[column] = field
        elif target not in seen_ignored:
            seen_ignored.add(target)
            ignored.append(target)
    return profile, ignored


# What each alias target is for (GET /leads/import/fields), one sentence each.
ALIAS_DESCRIPTIONS: Final[dict[str, str]] = {
    "_alias_email": "Another e-mail address of the lead (a second, personal or work address); "
    "trimmed and lower-cased.",
    "_alias_phone": "Another phone number of the lead (mobile, home, other); E.164 when valid "
    "for the job's default_country.",
    "_alias_cookie": "A tracking cookie or anonymous visitor id of the lead (such as "
    "hubspotutk); trimmed, case kept.",
    "_alias_external_id": "The lead's id in another system (CRM record id, customer number, "
    "badge id); trimmed, case kept.",
    "_alias_social": "A social profile handle of the lead (LinkedIn, Twitter/X, Xing); trimmed, "
    "leading @ removed, lower-cased.",
}
