"""Read uploaded CSV files: check, decode, detect the delimiter, preview and stream rows.

Pure standard-library code without I/O: callers pass the raw bytes of the upload.

Behaviour other modules rely on:

* Encoding (`CsvPreview.encoding_source` says how it was chosen): the one the caller names
  (``requested``; `codec_for` turns a readable name into a Python codec); else a UTF-8 BOM gives
  ``utf-8-sig`` and a UTF-16 BOM ``utf-16`` (``bom``); else UTF-16 without BOM, recognised by
  its NUL bytes all on odd (LE) or all on even (BE) positions, or strict UTF-8 (reported as
  ``utf-8-sig``, which also decodes BOM-less UTF-8) are ``detected``; else the caller's
  `GuessEncoding` (charset detection lives outside the domain) is asked: a confident guess is
  ``detected``, otherwise strict ``cp1252`` is ``guessed`` (the Western default; the user can
  name another). Nothing is decoded with ``errors="replace"``: a file that cannot be decoded
  exactly is rejected rather than imported with corrupted names. NUL (U+0000) is refused in
  every encoding, also in UTF-16 where NUL *bytes* are normal (`NotCsv`).
* Delimiter: the caller's (`delimiter_for`), else one of ``,`` ``;`` tab ``|``, chosen from the
  first records (`_detect_delimiter`).
* Limits: at most `MAX_COLUMNS` columns in the header and `MAX_CELL_CHARS` characters in any
  cell (`InvalidCsv` naming the limit, the row and the column).
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
from collections.abc import Iterator
from dataclasses import dataclass

from domain.columns import detect_identifiers
from domain.encodings import (
    ENCODINGS,
    UTF16_BOMS,
    UTF16_CODECS,
    EncodingSource,
    GuessEncoding,
    canonical_codec,
    codec_for,
    decode,
    decode_error,
    delimiter_for,
    encoding_label,
    utf16_without_bom,
)
from domain.errors import FileTooLarge, InvalidCsv, NotCsv

MAX_FILE_BYTES = 10 * 1024 * 1024
# A shared service bounds what one file may hold. 1,000 columns is far more than any contact
# export has (CRMs export a few hundred at most) and keeps a row's mapping and preview small.
MAX_COLUMNS = 1000
# 128 K characters: more than any spreadsheet cell holds (Excel 32,767, Google Sheets 50,000)
# and more than the longest CRM text field (Salesforce long text area, 131,072), so a real
# export is never refused; a longer cell is nearly always a stray quote that swallowed the
# lines after it.
MAX_CELL_CHARS = 128 * 1024
SAMPLE_SIZE = 5

_DELIMITERS = (",", ";", "\t", "|")  # also the tie-break order of delimiter detection
_SNIFF_CHARS = 64 * 1024  # text examined to choose the delimiter
_SNIFF_RECORDS = 20  # non-blank records examined to choose the delimiter
_DETECTION_ROWS = 20  # data rows whose values are used to detect identifier columns
_BINARY_SNIFF_BYTES = 8192

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
    encoding_source: EncodingSource = "detected"


def inspect(
    data: bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    guess_encoding: GuessEncoding | None = None,
) -> CsvPreview:
    """Validate an upload and describe it: format, headers, sample rows, row count, identifiers.

    ``encoding`` (a name `codec_for` accepts) and ``delimiter`` (one `delimiter_for` accepts)
    override detection; ``guess_encoding`` is asked about bytes that are neither UTF-8 nor
    UTF-16 (without it, such files are read as Windows-1252).

    Raises `FileTooLarge`, `NotCsv` or `InvalidCsv` with a message saying what is wrong and
    how to fix it (`InvalidRequest` for an unknown ``encoding`` or ``delimiter``). A file with a
    header but no data rows is valid (``row_count == 0``).
    """
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"The file is {len(data) / (1024 * 1024):.1f} MB, which is over the 10 MB limit. "
            "Split it into several files of at most 10 MB and upload them one at a time."
        )
    requested = codec_for(encoding) if encoding is not None else None
    separator = delimiter_for(delimiter) if delimiter is not None else None
    _reject_binary(data, requested)
    text, codec, source = decode(data, requested, guess_encoding)
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
    # One spelling per codec (the detector's "iso8859_2" is the table's "iso8859-2"), so that
    # formats compare equal.
    codec = ENCODINGS.get(encoding_label(codec), codec)
    fmt = CsvFormat(encoding=codec, delimiter=separator or _detect_delimiter(text))
    records = _records(text, fmt.delimiter, MAX_CELL_CHARS)
    first = next(records, None)
    if first is None:
        raise InvalidCsv(
            "The file contains only empty rows, so there is no header row. Put the column "
            "names (for example Email, First Name) in the first row and upload it again."
        )
    header_number, raw_header = first
    if len(raw_header) > MAX_COLUMNS:
        raise InvalidCsv(
            f"The header row (row {header_number}) has {len(raw_header):,} columns, which is "
            f"over the limit of {MAX_COLUMNS:,} columns per file. Delete the columns you do "
            "not import (or split them over several files, each with the identifier column), "
            "then upload the file again."
        )
    headers = _validate_headers(raw_header, header_number)
    width = len(headers)
    detection_rows: list[list[str]] = []
    for _, row in records:
        detection_rows.append(_fit(row, width))
        if len(detection_rows) == _DETECTION_ROWS:
            break
    # The remaining rows are only counted: no fitting, no copies, to stay fast on 10 MB.
    row_count = len(detection_rows) + sum(1 for _ in records)
    email_columns, phone_columns = detect_identifiers(headers, detection_rows)
    return CsvPreview(
        format=fmt,
        headers=headers,
        sample_rows=detection_rows[:SAMPLE_SIZE],
        row_count=row_count,
        email_columns=email_columns,
        phone_columns=phone_columns,
        encoding_source=source,
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
        raise decode_error(exc) from exc
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


def _reject_binary(data: bytes, codec: str | None) -> None:
    """Raise `NotCsv` for archives, documents, images and other binary content. ``codec``: the
    requested one, if any."""
    for signature, description in _SIGNATURES:
        if data.startswith(signature):
            raise _not_csv(f"it looks like {description}")
    if data[:3] == b"BZh" and data[4:10] == b"1AY&SY":  # "BZh" alone could start a text
        raise _not_csv("it looks like a BZ2 archive")
    if codec is None:
        codec = "utf-16" if data.startswith(UTF16_BOMS) else utf16_without_bom(data)
    if codec is not None and canonical_codec(codec) in UTF16_CODECS:
        # NUL bytes are normal in UTF-16, so the control check runs on decoded text. This
        # sniff may cut a character in two, hence "ignore"; the real decode is strict.
        sample = data[: _BINARY_SNIFF_BYTES + 2].decode(codec, errors="ignore")
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


def _reader(text: str, delimiter: str, *, strict: bool) -> Iterator[list[str]]:
    # Spreadsheets allow cells far over csv's 128 KB default; never lower another caller's limit.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    # newline="" lets csv see \r, \n and \r\n itself, so CR-only files and quoted newlines work.
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)


def _records(
    text: str, delimiter: str, max_cell: int | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row_number, cells)`` of the non-blank records; csv errors become `InvalidCsv`,
    and so does a cell over ``max_cell`` characters (blank records included)."""
    row_number = 0
    # A DOS end-of-file marker is not data.
    text = text.removesuffix("\x1a")
    try:
        for row in _reader(text, delimiter, strict=True):
            row_number += 1
            # join + strip runs in C: much faster than testing each cell in Python.
            joined = "".join(row)
            if max_cell is not None and len(joined) > max_cell:
                _check_cells(row, row_number, max_cell)
            if joined.strip():
                yield row_number, row
    except csv.Error as exc:
        raise _csv_error(exc, row_number + 1) from exc


def _check_cells(row: list[str], row_number: int, max_cell: int) -> None:
    for position, cell in enumerate(row, start=1):
        if len(cell) > max_cell:
            raise InvalidCsv(
                f"Row {row_number}, column {position} ({_column_letters(position)}) holds "
                f"{len(cell):,} characters, which is over the limit of {max_cell:,} characters "
                "per cell. If that cell should be short, a quote is probably not closed before "
                'it: write a quote inside a field as two quotes (""). Otherwise shorten the '
                "text (or leave that column out of the file) and upload it again."
            )


def _column_letters(position: int) -> str:
    """The spreadsheet name of a 1-based column position: 1 -> A, 27 -> AA."""
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


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
