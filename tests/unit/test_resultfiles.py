"""domain/resultfiles.py: neutralised cells, the lines of errors.csv and results.csv, file names;
api/downloads.py: the Content-Disposition header; the import dropping the mark (domain/rows.py);
the retention setting. Files are read back with Python's csv module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.downloads import content_disposition
from application.container import RESULT_RETENTION
from domain.resultfiles import (
    FailedRow,
    RowResult,
    csv_bytes,
    download_names,
    error_columns,
    error_lines,
    neutralise,
    result_lines,
    strip_formula_mark,
)
from domain.rows import RowFailed, RowImported, RowMapping, map_row
from runtime.bootstrap import result_retention_from
from runtime.settings import Settings


def read_back(chunks: list[bytes]) -> list[list[str]]:
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1 415 555 2671", "'+1 415 555 2671"),
        ("-", "'-"),
        ("@jane", "'@jane"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("jane@example.com", "jane@example.com"),
        (" =1", " =1"),  # not at the start: a spreadsheet does not read it as a formula
        ("'=1", "'=1"),  # already text
        ("", ""),
        ("Zoë", "Zoë"),
    ],
)
def test_neutralise(cell: str, written: str) -> None:
    assert neutralise(cell) == written
    assert strip_formula_mark(written) == cell or cell.startswith("'")


@pytest.mark.parametrize("cell", ["'quoted'", "'", "''=x", "it's", "'a", "' =1"])
def test_strip_formula_mark_leaves_other_quotes(cell: str) -> None:
    assert strip_formula_mark(cell) == cell


@given(st.text())
def test_a_neutralised_cell_reads_back_as_it_was(cell: str) -> None:
    if not (cell.startswith("'") and cell[1:2] and cell[1] in "=+-@\t\r"):
        assert strip_formula_mark(neutralise(cell)) == cell
    assert not neutralise(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_lines_are_utf8_with_bom_crlf_and_quoted_as_needed() -> None:
    lines = [
        ["a", "b,c", 'say "hi"'],
        ["multi\nline", "Zoë Müller", "=SUM(A1)"],
        [""],
    ]
    chunks = list(csv_bytes(lines))
    data = b"".join(chunks)
    assert (
        data
        == ('\ufeffa,"b,c","say ""hi"""\r\n"multi\nline",Zoë Müller,\'=SUM(A1)\r\n""\r\n').encode()
    )
    assert read_back(chunks) == [
        ["a", "b,c", 'say "hi"'],
        ["multi\nline", "Zoë Müller", "'=SUM(A1)"],
        [""],
    ]


def test_a_large_file_comes_in_pieces_of_bounded_size() -> None:
    lines = ([str(i), "x" * 100] for i in range(10_000))
    chunks = list(csv_bytes(lines))
    assert len(chunks) > 10
    assert max(len(c) for c in chunks) < 70 * 1024
    assert len(read_back(chunks)) == 10_000


def test_error_columns_do_not_clash_with_the_files_own() -> None:
    assert error_columns(["Email", "Name"]) == ["row", "error", "value"]
    assert error_columns(["Email", " Value ", "ROW", "import_row"]) == [
        "import_row_2",
        "error",
        "import_value",
    ]


def test_error_lines_merge_the_file_with_the_failed_rows_in_row_order() -> None:
    headers = ["Email", "Name"]
    rows = [(2, ["a@x.com", "A"]), (3, ["bad", "B"]), (5, ["", "C"]), (6, ["d@x.com", "D"])]
    failed = [FailedRow(3, "Invalid email format", "bad"), FailedRow(5, "Missing", "")]
    assert list(error_lines(headers, rows, failed)) == [
        ["row", "error", "value", "Email", "Name"],
        ["3", "Invalid email format", "bad", "bad", "B"],
        ["5", "Missing", "", "", "C"],
    ]


def test_error_lines_read_the_file_only_as_far_as_needed() -> None:
    read: list[int] = []

    def rows() -> Iterator[tuple[int, list[str]]]:
        for n in range(2, 1_000_000):
            read.append(n)
            yield n, [f"r{n}"]

    assert list(error_lines(["A"], rows(), [])) == [["row", "error", "value", "A"]]
    assert read == []
    failed = [FailedRow(4, "e", "v")]
    assert list(error_lines(["A"], rows(), failed))[1:] == [["4", "e", "v", "r4"]]
    assert read == [2, 3, 4]


def test_a_failed_row_missing_from_the_file_has_empty_cells() -> None:
    lines = list(error_lines(["A", "B"], [(2, ["x", "y"])], [FailedRow(9, "e", "v")]))
    assert lines[1] == ["9", "e", "v", "", ""]


def test_result_lines() -> None:
    results = [
        RowResult(2, "created", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", None),
        RowResult(3, "failed", None, "Invalid email format"),
        RowResult(
            4, "updated", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", None, [("W1", "v1"), ("W2", "")]
        ),
        RowResult(6, "skipped", None, None),
    ]
    assert list(result_lines(results)) == [
        ["row", "outcome", "lead_id", "error", "warnings"],
        ["2", "created", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "", ""],
        ["3", "failed", "", "Invalid email format", ""],
        ["4", "updated", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "", "W1 (v1); W2"],
        ["6", "skipped", "", "", ""],
    ]


@pytest.mark.parametrize(
    ("upload", "name", "ascii_name"),
    [
        ("leads.csv", "leads-errors.csv", "leads-errors.csv"),
        ("Kontakte März.csv", "Kontakte März-errors.csv", "Kontakte Marz-errors.csv"),
        ("Лиды.csv", "Лиды-errors.csv", "import-errors.csv"),
        ("export.2024.txt", "export.2024-errors.csv", "export.2024-errors.csv"),
        ("noext", "noext-errors.csv", "noext-errors.csv"),
        ('a"b;c\r\n.csv', "a'b;c-errors.csv", "a_b_c-errors.csv"),
        ("..\\..\\etc/passwd", "passwd-errors.csv", "passwd-errors.csv"),
        (".csv", "csv-errors.csv", "csv-errors.csv"),
        ("", "import-errors.csv", "import-errors.csv"),
    ],
)
def test_download_names(upload: str, name: str, ascii_name: str) -> None:
    assert download_names(upload, "errors") == (name, ascii_name)


def test_a_long_name_is_cut() -> None:
    name, ascii_name = download_names("x" * 5000 + ".csv", "results")
    assert len(name) < 130 and name.endswith("-results.csv")
    assert len(ascii_name) < 130


def test_content_disposition() -> None:
    assert content_disposition("leads-errors.csv", "leads-errors.csv") == (
        'attachment; filename="leads-errors.csv"'
    )
    header = content_disposition("Kontakte März-errors.csv", "Kontakte Marz-errors.csv")
    assert header == (
        "attachment; filename=\"Kontakte Marz-errors.csv\"; filename*=UTF-8''"
        + quote("Kontakte März-errors.csv", safe="")
    )
    assert header.isascii()


def test_the_import_drops_the_mark_from_mapped_cells() -> None:
    mapping = RowMapping.build(
        ["Email", "Name", "Notes", "Phone", "Other"],
        "Email",
        "email",
        {"Name": "first_name", "Notes": "notes", "Other": "company"},
        {"Phone": "phone"},
        "US",
    )
    cells = ["jane@example.com", "'=1+2", "'quoted'", "'+1 415 555 2671", "''=x"]
    row = map_row("ou", "job_1", 2, cells, mapping)
    assert isinstance(row, RowImported)
    assert row.fields == {"first_name": "=1+2", "notes": "'quoted'", "company": "''=x"}
    assert [a.value for a in row.aliases] == ["+14155552671"]
    failed = map_row("ou", "job_1", 3, ["'@bad", "", "", "", ""], mapping)
    assert isinstance(failed, RowFailed) and failed.value == "@bad"


def test_the_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADIMPORT_RESULT_RETENTION_DAYS", raising=False)
    assert result_retention_from(Settings.from_env()) == timedelta(days=7) == RESULT_RETENTION
    monkeypatch.setenv("LEADIMPORT_RESULT_RETENTION_DAYS", " 30 ")
    assert result_retention_from(Settings.from_env()) == timedelta(days=30)
    monkeypatch.setenv("LEADIMPORT_RESULT_RETENTION_DAYS", "-1")
    with pytest.raises(SystemExit, match="LEADIMPORT_RESULT_RETENTION_DAYS must be 0 or more"):
        result_retention_from(Settings.from_env())
