"""Read uploaded CSV files: check, decode, detect the delimiter, preview and stream rows.

Pure standard-library code without I/O: callers pass the raw bytes of the upload.

Behaviour other modules rely on:

* Encoding: a UTF-8 BOM gives ``utf-8-sig``, a UTF-16 BOM gives ``utf-16``; otherwise strict
  UTF-8 is tried (reported as ``utf-8-sig``, which also decodes BOM-less UTF-8), then strict
  ``cp1252``. Nothing is decoded with ``errors="replace"``: a file that cannot be decoded
  exactly is rejected rather than imported with corrupted names. NUL (U+0000) is refused in
  every encoding, also in UTF-16 where NUL *bytes* are normal (`NotCsv`).
* Delimiter: one of ``,`` ``;`` tab ``|``, chosen from the first records (`_detect_delimiter`).
* Line endings: CRLF, LF and CR-only (old Mac exports) all work, also mixed in one file.
* Header: the first non-blank record. Names are stripped of surrounding whitespace and must
  be non-blank and unique (compared case-insensitively).
* Blank records (no cells, or only empty / whitespace-only cells) are neither yielded nor
  counted, but they keep their row number, so numbers match what a spreadsheet shows.
* Row numbers: the first record of the file is row 1 (normally the header, so the first data
  record is row 2); a record spanning several lines because of a quoted newline is ONE row.
* Ragged rows: a row with fewer cells than the header is padded with ``""``; a row with more
  cells has the extra cells DROPPED, because they have no column name to be imported under.
* Data cells are returned verbatim: not stripped, and formula-like text such as
  ``=HYPERLINK("x")`` stays a plain string (escaping belongs to whoever writes files out).

Identifier columns (`CsvPreview.email_columns` / `phone_columns`), listed once, in header order:

* by name (case-insensitive; spaces, ``_ - .`` and camelCase split words): e-mail if the joined
  words contain "email" or a word is "mail"; phone if a word contains "phone", starts with
  "mobil" / "cellular" / "telefon", or is "cell" / "tel" ("Hotel" is not a phone column).
  Names about an identifier rather than holding one are skipped: opt-in/out, consent,
  status, type, date, count, ext(ension), valid, voicemail and any fax column.
* by value: >= 80 % of the non-empty values in the first 20 data rows (at least one needed)
  look like ``name@domain.tld`` (``_EMAIL_RE``, e-mail), or consist of digits, spaces and
  ``+ - . ( ) /`` with 7-20 digits and do not look like a date or an amount (phone). Columns
  named like IDs, zip codes, amounts or dates are never phone columns by value.
* A column that qualifies as both is an e-mail column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from domain.errors import FileTooLarge, InvalidCsv, NotCsv

MAX_FILE_BYTES = 10 * 1024 * 1024
SAMPLE_SIZE = 5

_DELIMITERS = (",", ";", "\t", "|")  # also the tie-break order of delimiter detection
_SNIFF_CHARS = 64 * 1024  # text examined to choose the delimiter
_SNIFF_RECORDS = 20  # non-blank records examined to choose the delimiter
_DETECTION_ROWS = 20  # data rows whose values are used to detect identifier columns
_DETECTION_RATIO = 0.8  # share of non-empty sample values that must look like an identifier
_BINARY_SNIFF_BYTES = 8192

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_EXPORT_HINT = (
    'Open it in your spreadsheet program, choose "Save as" / "Export", pick '
    '"CSV (comma-separated values)" and upload that file.'
)
# (signature, description). Checked on the first bytes only: text never starts like these.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or an Excel (.xlsx) / Word (.docx) document"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a GZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office document"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
)
# Control characters that never occur in real CSV text (\t \n \r \f do).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

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


@dataclass(frozen=True)
class CsvFormat:
    """How to read the raw bytes: a Python codec name and the field delimiter."""

    encoding: str
    delimiter: str


@dataclass(frozen=True)
class CsvPreview:
    """What `inspect` learned about an upload."""

    format: CsvFormat
    headers: list[str]
    sample_rows: list[list[str]]
    row_count: int
    email_columns: list[str]
    phone_columns: list[str]


def inspect(data: bytes) -> CsvPreview:
    """Validate an upload and describe it: format, headers, sample rows, row count, identifiers.

    Raises `FileTooLarge`, `NotCsv` or `InvalidCsv` with a message saying what is wrong and
    how to fix it. A file with a header but no data rows is valid (``row_count == 0``).
    """
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"The file is {len(data) / (1024 * 1024):.1f} MB, which is over the 10 MB limit. "
            "Split it into several files of at most 10 MB and upload them one at a time."
        )
    _reject_binary(data)
    text, encoding = _decode(data)
    if "\x00" in text:
        # Only UTF-16 text gets here with U+0000 (NUL bytes in anything else were refused
        # above). No spreadsheet writes it, and PostgreSQL text / jsonb cannot store it: a
        # header or cell holding one would fail the preview or every worker reading the row.
        raise _not_csv("it contains binary data (NUL characters)")
    if not text or text.isspace():
        raise InvalidCsv(
            "The file is empty. Export your contacts with a header row and at least one "
            "data row, then upload the file again."
        )
    fmt = CsvFormat(encoding=encoding, delimiter=_detect_delimiter(text))
    records = _records(text, fmt.delimiter)
    first = next(records, None)
    if first is None:
        raise InvalidCsv(
            "The file contains only empty rows, so there is no header row. Put the column "
            "names (for example Email, First Name) in the first row and upload it again."
        )
    header_number, raw_header = first
    headers = _validate_headers(raw_header, header_number)
    width = len(headers)
    detection_rows: list[list[str]] = []
    for _, row in records:
        detection_rows.append(_fit(row, width))
        if len(detection_rows) == _DETECTION_ROWS:
            break
    # The remaining rows are only counted: no fitting, no copies, to stay fast on 10 MB.
    row_count = len(detection_rows) + sum(1 for _ in records)
    email_columns, phone_columns = _detect_identifiers(headers, detection_rows)
    return CsvPreview(
        format=fmt,
        headers=headers,
        sample_rows=detection_rows[:SAMPLE_SIZE],
        row_count=row_count,
        email_columns=email_columns,
        phone_columns=phone_columns,
    )


def iter_rows(data: bytes, fmt: CsvFormat) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row_number, cells)`` for every non-blank data row of a file `inspect` accepted.

    ``row_number`` is the spreadsheet row number (header normally row 1, first data row 2;
    blank records keep their number but are skipped); ``cells`` has exactly as many items
    as the header (padded with ``""`` or truncated). Raises `InvalidCsv` on undecodable
    bytes or malformed CSV, naming the row.
    """
    try:
        text = data.decode(fmt.encoding)
    except UnicodeDecodeError as exc:
        raise _decode_error(exc) from exc
    records = _records(text, fmt.delimiter)
    header = next(records, None)
    if header is None:
        return
    width = len(header[1])
    for row_number, row in records:
        missing = width - len(row)
        if missing > 0:
            row.extend([""] * missing)
        elif missing < 0:
            del row[width:]
        yield row_number, row


def _reject_binary(data: bytes) -> None:
    """Raise `NotCsv` for archives, documents, images and other binary content."""
    for signature, description in _SIGNATURES:
        if data.startswith(signature):
            raise _not_csv(f"it looks like {description}")
    if data[:3] == b"BZh" and data[4:10] == b"1AY&SY":  # "BZh" alone could start a text
        raise _not_csv("it looks like a BZ2 archive")
    if data.startswith(_UTF16_BOMS):
        # NUL bytes are normal in UTF-16, so the control check runs on decoded text. This
        # sniff may cut a character in two, hence "ignore"; the real decode is strict.
        sample = data[: _BINARY_SNIFF_BYTES + 2].decode("utf-16", errors="ignore")
    else:
        if b"\x00" in data:
            raise _not_csv("it contains binary data (NUL bytes)")
        sample = data[:_BINARY_SNIFF_BYTES].decode("latin-1")  # 1:1 byte view, cannot fail
    controls = len(_CONTROL_RE.findall(sample))
    # Real exports may hold a few (Excel for Mac writes \x0b for in-cell line breaks, DOS
    # files end in \x1a); text that is over 10 % control characters is binary.
    if controls >= 4 and controls * 10 > len(sample):
        raise _not_csv("it contains binary data (control characters)")


def _not_csv(reason: str) -> NotCsv:
    return NotCsv(f"This file is not a CSV file: {reason}. {_EXPORT_HINT}")


def _decode(data: bytes) -> tuple[str, str]:
    """Decode strictly and return ``(text, codec)``; raise `InvalidCsv` when impossible."""
    if data.startswith(_UTF16_BOMS):
        candidates: tuple[str, ...] = ("utf-16",)
    elif data.startswith(_UTF8_BOM):
        # A UTF-8 BOM declares the encoding: falling back to cp1252 would show "ï»¿".
        candidates = ("utf-8-sig",)
    else:
        candidates = ("utf-8-sig", "cp1252")
    errors: list[UnicodeDecodeError] = []
    for codec in candidates:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            errors.append(exc)
    # The last codec's complaint points at a byte that no candidate accepts (e.g. 0x81 in
    # cp1252), whereas UTF-8 would point at a harmless "ü".
    raise _decode_error(errors[-1])


def _decode_error(exc: UnicodeDecodeError) -> InvalidCsv:
    bad = exc.object[exc.start : exc.start + 1].hex()
    return InvalidCsv(
        f"The file could not be decoded as text (byte 0x{bad} at position {exc.start} is not "
        "valid UTF-8, UTF-16 or Windows-1252). Open it in your spreadsheet program or text "
        'editor, save it as UTF-8 (for example "CSV UTF-8"), and upload it again.'
    )


def _reader(text: str, delimiter: str, *, strict: bool) -> Iterator[list[str]]:
    # Spreadsheets allow cells far over csv's 128 KB default; never lower another caller's limit.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    # newline="" lets csv see \r, \n and \r\n itself, so CR-only files and quoted newlines work.
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row_number, cells)`` of the non-blank records; csv errors become `InvalidCsv`."""
    row_number = 0
    # A DOS end-of-file marker is not data.
    text = text.removesuffix("\x1a")
    try:
        for row in _reader(text, delimiter, strict=True):
            row_number += 1
            # join + strip runs in C: much faster than testing each cell in Python.
            if row and "".join(row).strip():
                yield row_number, row
    except csv.Error as exc:
        raise _csv_error(exc, row_number + 1) from exc


def _csv_error(exc: csv.Error, row_number: int) -> InvalidCsv:
    if "unexpected end of data" in str(exc):
        return InvalidCsv(
            f"There is an unclosed quote near row {row_number}: a quoted field starts there "
            "but never ends. Put a closing quote (\") after the field's text, and write a "
            'quote inside a field as two quotes ("").'
        )
    return InvalidCsv(
        f"Row {row_number} is not valid CSV ({exc}). Check the quotes in that row: a quoted "
        "field must end right before a delimiter or the end of the line, and a quote inside "
        'a field must be written as two quotes ("").'
    )


def _detect_delimiter(text: str) -> str:
    """Choose the delimiter whose first records most consistently match the header's width.

    For each candidate the first `_SNIFF_RECORDS` non-blank records of the first 64 KB are
    parsed. The header must have at least 2 fields; the best candidate has the largest share
    of records with the header's field count, then the most header fields, then comes first
    in ``, ; tab |``. If no candidate splits the header, the file is one column: ``,``.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        # Cut at a line boundary so the last sampled record is not half a line.
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        if cut > 0:
            sample = sample[: cut + 1]
    best = ","
    best_score: tuple[float, int] = (-1.0, 0)
    for delimiter in _DELIMITERS:
        records: list[list[str]] = []
        try:
            # Lenient here: the cut may end inside a quoted field; the full pass is strict.
            for row in _reader(sample, delimiter, strict=False):
                if row and "".join(row).strip():
                    records.append(row)
                    if len(records) == _SNIFF_RECORDS:
                        break
        except csv.Error:
            pass
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        rest = records[1:]
        consistency = sum(len(r) == width for r in rest) / len(rest) if rest else 1.0
        score = (consistency, width)
        if score > best_score:  # strict ">" keeps the earlier delimiter on a tie
            best, best_score = delimiter, score
    return best


def _validate_headers(row: list[str], row_number: int) -> list[str]:
    headers = [cell.strip() for cell in row]
    seen: dict[str, int] = {}
    for position, name in enumerate(headers, start=1):
        if not name:
            raise InvalidCsv(
                f"Column {position} in the header row (row {row_number}) has no name. Give "
                "every column a name in the header row, or delete the empty column."
            )
        key = name.casefold()
        if key in seen:
            raise InvalidCsv(
                f'The column name "{name}" appears more than once in the header row (columns '
                f"{seen[key]} and {position}). Column names must be unique: rename or delete "
                "one of them."
            )
        seen[key] = position
    return headers


def _fit(row: list[str], width: int) -> list[str]:
    """Pad with ``""`` or truncate to ``width`` cells (extra cells have no column)."""
    if len(row) >= width:
        return row[:width]
    return row + [""] * (width - len(row))


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
    return bool(values) and hits >= _DETECTION_RATIO * len(values)


def _detect_identifiers(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[str]]:
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
