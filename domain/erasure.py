"""Erasure, the pure parts: recognising a person's identifiers in text written by others (failed
rows, warnings, dead letters, cells of an upload), and rewriting an upload without their rows.

Identifiers are stored normalized (``domain.identifiers``), while an error, a warning or a cell
holds what the file said: ``Zebulon@Example.com``, ``(415) 555-0199``. So a text *carries* an
identifier when, compared case-insensitively, it contains it as a whole value: not inside a
longer address or word (``ann@x.io`` is not carried by ``joann@x.io`` nor ``ann@x.io.uk``); a
phone number when whole digit groups of the text, written one after the other with phone
separators (space, ``-``, ``.``, ``/``, parentheses), make its number: national
(``(415) 555-0199``), international (``+1 415 555 0199``, ``001 415...``) or with a trunk ``0``
(``4155550199`` inside ``94155550199`` is another number). Identifiers too short to be told
apart from other text (under ``MIN_SUBSTRING`` characters, a phone number of under
``MIN_PHONE_DIGITS`` digits) only match a text that is exactly them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

import phonenumbers

from domain.csvfile import MAX_FILE_BYTES

MIN_SUBSTRING = 6
MIN_PHONE_DIGITS = 6
_LETTERS = re.compile(r"[^\W\d_]")
_NON_DIGITS = re.compile(r"[^0-9]")
# A run of digit groups joined by phone separators; its groups are compared, never parts of one.
_PHONE_RUN = re.compile(r"[0-9]+(?:[ \t\-./()]*[0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
MAX_GROUPS = 64  # groups of one run that are compared (a longer run is looked at in part)


def _phone_digits(phone: str) -> set[str]:
    """The digits a phone number is written with: in its own country (E.164 without the country
    code, also after a trunk ``0``) and abroad (with the country code, also after ``00``), or
    its digits when it is no E.164 number."""
    number = phone.split(";", 1)[0]
    digits = _NON_DIGITS.sub("", number)
    found = {digits} if digits else set()
    if number.startswith("+"):
        try:
            national = str(phonenumbers.parse(number, None).national_number)
        except phonenumbers.NumberParseException:
            return found
        found |= {national, "0" + national, "00" + digits}
    return found


def _whole(text: str) -> re.Pattern[str]:
    """``text`` (lowercased) as a whole value: no letter, digit or address character touching it
    on the left, none on the right but a sentence's final dot."""
    return re.compile(r"(?<![\w.%+\-@])" + re.escape(text) + r"(?![\w\-@]|\.[\w\-])")


def _digit_spans(text: str) -> Iterator[str]:
    """The digits of every run of whole digit groups of ``text`` (see the module docstring)."""
    for run in _PHONE_RUN.finditer(text):
        groups = _DIGIT_GROUP.findall(run.group())[:MAX_GROUPS]
        for i in range(len(groups)):
            joined = ""
            for group in groups[i:]:
                joined += group
                if len(joined) > 20:  # longer than any phone number (E.164: 15, with 00)
                    break
                yield joined


@dataclass(frozen=True)
class Carrier:
    """What to look for in a text: lowercased identifiers, and the national digits of phones."""

    texts: frozenset[str]
    digits: frozenset[str]
    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, identifiers: Mapping[str, Collection[str]]) -> Carrier:
        texts: set[str] = set()
        digits: set[str] = set()
        for kind, values in identifiers.items():
            for value in values:
                if not value:
                    continue
                texts.add(value.lower())
                if kind == "phone":
                    digits |= _phone_digits(value)
        patterns = tuple(_whole(t) for t in sorted(texts) if len(t) >= MIN_SUBSTRING)
        return cls(frozenset(texts), frozenset(digits), patterns)

    def __bool__(self) -> bool:
        return bool(self.texts or self.digits)

    def carried_by(self, text: str) -> bool:
        """Whether ``text`` holds one of the identifiers (see the module docstring)."""
        if not text:
            return False
        lowered = text.strip().lower()
        if lowered in self.texts:
            return True
        if any(p.search(lowered) for p in self.patterns):
            return True
        if self.digits:
            if _NON_DIGITS.sub("", text) in self.digits and not _LETTERS.search(text):
                return True  # a value that is just the number, however written
            long = {d for d in self.digits if len(d) >= MIN_PHONE_DIGITS}
            if long and any(span in long for span in _digit_spans(text)):
                return True
        return False

    def like_patterns(self) -> tuple[list[str], list[str]]:
        """SQL ``LIKE`` patterns that find candidates in a database (``lower(text) LIKE ANY``,
        and ``digits of text LIKE ANY``); each candidate is then checked with ``carried_by``."""
        return (
            [f"%{_like_escape(t)}%" for t in sorted(self.texts)],
            # A number's other forms contain its national digits: those find them all.
            [f"%{d}%" for d in sorted(self.digits) if not any(o in d for o in self.digits - {d})],
        )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Rewritten:
    """An upload rewritten without a person's data."""

    content: bytes
    rows_blanked: int  # whole records emptied (their row numbers stay: they read as blank)
    cells_blanked: int  # cells emptied in other records
    data_rows_removed: int  # of ``rows_blanked``, records that were not blank before
    blanked: frozenset[int] = frozenset()  # the row numbers of those records


def carrying_rows(data: bytes, encoding: str, delimiter: str, carrier: Carrier) -> set[int]:
    """The numbers of the data records of ``data`` with a cell ``carrier`` finds."""
    text = data.decode(encoding).removesuffix("\x1a")
    found: set[int] = set()
    header_seen = False
    for number, _, cells in _raw_records(text, delimiter):
        if not header_seen:
            header_seen = bool("".join(cells).strip())
        elif any(carrier.carried_by(cell) for cell in cells):
            found.add(number)
    return found


def blank_rows(
    data: bytes,
    encoding: str,
    delimiter: str,
    rows: Collection[int],
    carrier: Carrier | None = None,
) -> Rewritten | None:
    """``data`` (an upload, read as ``csvfile.iter_rows`` reads it) with the records of ``rows``
    emptied, and in the other data records every cell ``carrier`` finds emptied; None when
    nothing changes.

    An emptied record stays as an empty line, so every row keeps its number (``iter_rows``
    skips blank records but counts them); other records are written back byte for byte, and a
    record with cells emptied is written again with the file's delimiter and its line ending.
    The result is encoded as the upload was (a UTF-8 or UTF-16 file gets a byte order mark)."""
    text = data.decode(encoding)
    eof = "\x1a" if text.endswith("\x1a") else ""
    text = text.removesuffix("\x1a")
    out: list[str] = []
    rows_blanked = cells_blanked = removed = 0
    blanked: set[int] = set()
    header_seen = False
    for number, raw, cells in _raw_records(text, delimiter):
        blank = not "".join(cells).strip()
        ending = raw[len(raw.rstrip("\r\n")) :]
        if not header_seen:
            header_seen = not blank
            out.append(raw)
        elif number in rows:
            if raw != ending:
                rows_blanked += 1
                removed += 0 if blank else 1
                blanked.add(number)
            out.append(ending)
        elif carrier and any(carrier.carried_by(cell) for cell in cells):
            kept = ["" if carrier.carried_by(cell) else cell for cell in cells]
            cells_blanked += sum(1 for a, b in zip(cells, kept, strict=True) if a != b)
            out.append(_record(kept, delimiter, ending))
        else:
            out.append(raw)
    if not rows_blanked and not cells_blanked:
        return None
    content = ("".join(out) + eof).encode(encoding)
    return Rewritten(content, rows_blanked, cells_blanked, removed, frozenset(blanked))


class _Tap:
    """The lines of a text, remembering those handed out since the last ``take``."""

    def __init__(self, text: str) -> None:
        # newline="": lines end at \n, \r\n or \r, and keep their ending (as csvfile reads them)
        self._lines = iter(io.StringIO(text, newline=""))
        self._taken: list[str] = []

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self._taken)
        self._taken.clear()
        return raw


def _raw_records(text: str, delimiter: str) -> Iterator[tuple[int, str, list[str]]]:
    """``(row number, the record's text, its cells)`` of every record, blank ones included."""
    # Cells as long as csvfile allows (its reader raises the module's limit the same way).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    tap = _Tap(text)
    reader = csv.reader(tap, delimiter=delimiter, strict=True)
    for number, cells in enumerate(reader, start=1):
        yield number, tap.take(), cells


def _record(cells: list[str], delimiter: str, ending: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=ending or "\r\n").writerow(cells)
    written = buffer.getvalue()
    return written if ending else written[:-2]
