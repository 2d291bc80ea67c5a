"""Which columns of a file hold e-mail addresses or phone numbers (the preview's
``auto_detected_identifiers``), by their names and by their first values.

Rules (also in ``domain.csvfile``'s docstring): by name (case-insensitive; spaces, ``_ - .``
and camelCase split words): e-mail if the joined words contain "email" or a word is "mail";
phone if a word contains "phone", starts with "mobil" / "cellular" / "telefon", or is "cell" /
"tel". Names about an identifier rather than holding one are skipped. By value: >= 80 % of the
non-empty values of the sample rows look like an e-mail address or a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

DETECTION_RATIO = 0.8  # share of non-empty sample values that must look like an identifier

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS_RE = re.compile(r"^[+(\d][\d\s+\-.()/]*$")
_DATE_RE = re.compile(r"^\d{1,4}([-./])\d{1,2}\1\d{1,4}$")
_AMOUNT_RE = re.compile(r"^\d+[.,]\d{1,2}$")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD_RE = re.compile(r"[^\W\d_]+")
# Headers about an identifier but not holding one ("Email Opt Out", "Phone Type", "Fax"):
# stems matched inside the joined words, short words matched whole ("count" is in "account").
_FLAG_STEMS = ("optout", "optin", "consent", "bounce", "subscri", "verified", "status", "voicemail")
_FLAG_WORDS = frozenset(
    {"type", "date", "count", "ext", "extension", "fax", "valid", "invalid", "validated"}
)
# Numeric columns whose values could pass as phone numbers ("Order ID", "Zip").
_NOT_PHONE_WORDS = frozenset(
    {"id", "zip", "postal", "postcode", "code", "account", "order", "invoice", "amount",
     "price", "total", "revenue", "fax", "date", "time", "year", "created", "updated"}
)  # fmt: skip


def _words(name: str) -> list[str]:
    """Lower-case words of a header: "workPhone" / "Work_Phone" -> ["work", "phone"]."""
    return _WORD_RE.findall(_CAMEL_RE.sub(" ", name).lower())


def _is_flag(name: str) -> bool:
    words = _words(name)
    compact = "".join(words)
    return any(stem in compact for stem in _FLAG_STEMS) or not _FLAG_WORDS.isdisjoint(words)


def _is_email_name(name: str) -> bool:
    """E-mail by name: "Email", "E-mail Address", "work_email", "Mail" (whole word)."""
    words = _words(name)
    return not _is_flag(name) and ("email" in "".join(words) or "mail" in words)


def _is_phone_name(name: str) -> bool:
    """Phone by word: "...phone", "mobil...", "cell", "cellphone", "tel", "telephone"/"telefon".

    Matched per word, so "Hotel" or "Automobile" do not match; fax columns never do.
    """
    if _is_flag(name):
        return False
    for word in _words(name):
        if "phone" in word or word.startswith(("mobil", "cellular", "telefon", "teléfon")):
            return True
        if word in ("cell", "tel", "tél", "telnr", "telno"):
            return True
    return False


def _is_phone_value(value: str) -> bool:
    if not _PHONE_CHARS_RE.match(value) or _DATE_RE.match(value) or _AMOUNT_RE.match(value):
        return False
    return 7 <= sum(ch.isdigit() for ch in value) <= 20


def _is_email_value(value: str) -> bool:
    return _EMAIL_RE.match(value) is not None


def _mostly(values: list[str], test: Callable[[str], bool]) -> bool:
    """True if there is at least one value and >= 80 % of the values pass ``test``."""
    hits = sum(1 for value in values if test(value))
    return bool(values) and hits >= DETECTION_RATIO * len(values)


def detect_identifiers(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[str]]:
    """Return ``(email_columns, phone_columns)`` in header order; e-mail wins over phone.

    A column qualifies by its name, or when >= 80 % of its non-empty values in the first 20
    data rows look like e-mail addresses / phone numbers (at least one value needed). Value
    detection skips phone-like numbers in ID, zip, amount, date and fax columns.
    """
    emails: list[str] = []
    phones: list[str] = []
    for index, name in enumerate(headers):
        values = [v for v in (row[index].strip() for row in rows) if v]
        if _is_email_name(name) or _mostly(values, _is_email_value):
            emails.append(name)
        elif _is_phone_name(name) or (
            not _NOT_PHONE_WORDS.intersection(_words(name)) and _mostly(values, _is_phone_value)
        ):
            phones.append(name)
    return emails, phones
