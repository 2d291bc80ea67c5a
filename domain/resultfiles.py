"""The CSV files a job's results are downloaded as (``errors.csv``, ``results.csv``): how a cell
is written safely, how the lines are encoded, which rows of the upload go into the errors file,
and what the files are called. Pure: the caller reads the database and the upload.

* Cells are neutralised against formula injection (OWASP "CSV injection"): a cell starting with
  ``=`` ``+`` ``-`` ``@``, a tab or a carriage return gets a single quote ``'`` in front, so a
  spreadsheet shows it as text instead of evaluating it. Every cell is treated so, headers and
  our own columns included.
* The importer drops that quote again (`strip_formula_mark`, used by ``domain.rows``): a
  person who fixes the errors file and uploads it again imports the values as they were in the
  first upload (``+1 415 555 2671``, not ``'+1 415 555 2671``).
* Lines: UTF-8 with a byte order mark (Excel then reads the text as UTF-8), comma-delimited,
  CRLF, quoted only where needed (Python's ``csv`` module, Excel dialect).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# A cell starting with one of these is read as a formula by spreadsheet programs (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_MARK = "'"
UTF8_BOM = b"\xef\xbb\xbf"
# Text gathered before it is encoded and handed on: few, reasonably large pieces for the
# network, whatever the size of the file.
CHUNK_CHARS = 64 * 1024


def neutralise(cell: str) -> str:
    """``cell`` as a downloaded file writes it: ``'`` in front when it starts like a formula."""
    return FORMULA_MARK + cell if cell.startswith(FORMULA_STARTS) else cell


def strip_formula_mark(cell: str) -> str:
    """A cell as the importer reads it: the ``'`` that `neutralise` put in front of a
    formula-like start is dropped (``'=1+2`` -> ``=1+2``, ``'+1 415`` -> ``+1 415``); any
    other cell is unchanged (``'quoted'`` stays as written)."""
    if cell.startswith(FORMULA_MARK) and cell[1:2] and cell[1].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def csv_bytes(lines: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """The file of ``lines`` (the header first), a piece at a time: the byte order mark, then
    each line neutralised, comma-delimited, CRLF-terminated, quoted as needed, in UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield UTF8_BOM
    for cells in lines:
        writer.writerow([neutralise(cell) for cell in cells])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# --- errors.csv --------------------------------------------------------------------------------

ERROR_COLUMNS = ("row", "error", "value")


@dataclass(frozen=True)
class FailedRow:
    """A failed row of the ledger: its number in the upload, the error and the value at fault."""

    row: int
    error: str
    value: str


def error_columns(headers: Sequence[str]) -> list[str]:
    """The names of the columns the errors file adds in front of the upload's own: ``row``,
    ``error``, ``value``, each made unique against the upload's headers (compared as the
    import compares them, case-insensitively): ``import_value``, then ``import_value_2``..."""
    taken = {h.strip().casefold() for h in headers}
    names = []
    for base in ERROR_COLUMNS:
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"import_{base}" if n == 2 else f"import_{base}_{n - 1}"
        taken.add(name.casefold())
        names.append(name)
    return names


def error_lines(
    headers: Sequence[str],
    rows: Iterable[tuple[int, list[str]]],
    failed: Iterable[FailedRow],
) -> Iterator[list[str]]:
    """The lines of the errors file: the header (`error_columns`, then the upload's headers),
    then one line per failed row, in row order: its number, error and value, then its cells as
    the upload has them.

    ``rows``: the upload's data rows in order (``csvfile.iter_rows``); ``failed``: the failed
    rows in row order. Both are read once, side by side, and only as far as the last failed row.
    A failed row the upload does not hold (never so for an upload the job read) has empty
    cells."""
    yield [*error_columns(headers), *headers]
    width = len(headers)
    file_rows = iter(rows)
    current: tuple[int, list[str]] | None = None
    exhausted = False  # the upload is read only once a failed row asks for it
    for f in failed:
        while not exhausted and (current is None or current[0] < f.row):
            current = next(file_rows, None)
            exhausted = current is None
        cells = current[1] if current is not None and current[0] == f.row else [""] * width
        yield [str(f.row), f.error, f.value, *cells]


# --- results.csv -------------------------------------------------------------------------------

RESULT_COLUMNS = ("row", "outcome", "lead_id", "error", "warnings")
WARNINGS_SEPARATOR = "; "


@dataclass(frozen=True)
class RowResult:
    """What the ledger holds about one row: its outcome (``created``, ``updated``, ``failed``,
    ``skipped``...), the lead, the error and the row's warnings as ``(warning, value)``."""

    row: int
    outcome: str
    lead_id: str | None
    error: str | None
    warnings: Sequence[tuple[str, str]] = ()


def warnings_text(warnings: Iterable[tuple[str, str]]) -> str:
    """A row's warnings in one cell: ``warning (value)``, joined by ``"; "``."""
    return WARNINGS_SEPARATOR.join(f"{w} ({v})" if v else w for w, v in warnings)


def result_lines(results: Iterable[RowResult]) -> Iterator[list[str]]:
    """The lines of the results file: the header, then one line per row with an outcome."""
    yield list(RESULT_COLUMNS)
    for r in results:
        yield [str(r.row), r.outcome, r.lead_id or "", r.error or "", warnings_text(r.warnings)]


# --- file names ----------------------------------------------------------------------------

_MAX_STEM = 100
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9 ._()-]+")


def download_names(upload_name: str, what: str) -> tuple[str, str]:
    """``(name, ascii_name)`` of a downloaded file: the upload's name without its extension
    followed by ``-<what>.csv`` (``leads.csv`` -> ``leads-errors.csv``), and the same in plain
    ASCII for clients that do not read RFC 6266's ``filename*`` (accents dropped, anything but
    letters, digits, space and ``. _ ( ) -`` replaced by ``_``; ``import`` when nothing is
    left). Neither holds a control character, a path separator or a quote."""
    name = upload_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and 0 < len(extension) <= 5 and extension.isalnum()):
        stem = name
    stem = "".join(ch for ch in stem if unicodedata.category(ch)[0] != "C")
    stem = stem.replace('"', "'").strip(" .")[:_MAX_STEM].strip(" .") or "import"
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    plain = _UNSAFE_ASCII.sub("_", plain).strip(" ._")
    if not any(ch.isalnum() for ch in plain):
        plain = "import"
    return f"{stem}-{what}.csv", f"{plain}-{what}.csv"
