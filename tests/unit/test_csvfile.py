"""Unit tests of domain.csvfile: decoding, delimiters, validation, identifiers, streaming."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from domain.csvfile import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    SAMPLE_SIZE,
    CsvFormat,
    CsvPreview,
    inspect,
    iter_rows,
)
from domain.errors import DomainError, FileTooLarge, InvalidCsv, NotCsv

# Right-to-left text, escaped so that no look-alike letters hide in the source.
HEBREW = "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"  # "shalom olam"
ARABIC = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"

SPEC_CSV = (
    "Email,First Name,Last Name,Company,Phone\n"
    "ada@example.com,Ada,Lovelace,Analytical Engines,+44 20 7946 0018\n"
    "grace@example.org,Grace,Hopper,US Navy,(555) 123-4567\n"
    "alan@example.net,Alan,Turing,Bletchley Park,+44 1908 640404\n"
)


def rows_of(data: bytes) -> list[tuple[int, list[str]]]:
    """Inspect, then stream all rows with the detected format."""
    return list(iter_rows(data, inspect(data).format))


def assert_actionable(exc: DomainError, *fragments: str) -> None:
    """The message is non-empty, is the exception text, and contains the expected hints."""
    assert exc.message
    assert str(exc) == exc.message
    for fragment in fragments:
        assert fragment.lower() in exc.message.lower(), (fragment, exc.message)


# --- the spec example -----------------------------------------------------------------------


def test_spec_example() -> None:
    preview = inspect(SPEC_CSV.encode())
    assert preview == CsvPreview(
        format=CsvFormat(encoding="utf-8-sig", delimiter=","),
        headers=["Email", "First Name", "Last Name", "Company", "Phone"],
        sample_rows=[
            ["ada@example.com", "Ada", "Lovelace", "Analytical Engines", "+44 20 7946 0018"],
            ["grace@example.org", "Grace", "Hopper", "US Navy", "(555) 123-4567"],
            ["alan@example.net", "Alan", "Turing", "Bletchley Park", "+44 1908 640404"],
        ],
        row_count=3,
        email_columns=["Email"],
        phone_columns=["Phone"],
    )


def test_spec_example_iter_rows() -> None:
    rows = rows_of(SPEC_CSV.encode())
    assert [number for number, _ in rows] == [2, 3, 4]
    assert rows[1][1] == ["grace@example.org", "Grace", "Hopper", "US Navy", "(555) 123-4567"]


def test_sample_rows_limited_to_sample_size() -> None:
    data = ("email\n" + "".join(f"u{i}@example.com\n" for i in range(12))).encode()
    preview = inspect(data)
    assert len(preview.sample_rows) == SAMPLE_SIZE
    assert preview.sample_rows[0] == ["u0@example.com"]
    assert preview.row_count == 12


def test_header_names_are_stripped_but_cells_are_verbatim() -> None:
    preview = inspect(b"  Email , Name \n a@b.co ,  Ann  \n")
    assert preview.headers == ["Email", "Name"]
    assert preview.sample_rows == [[" a@b.co ", "  Ann  "]]


# --- encodings ------------------------------------------------------------------------------


def test_utf8_bom() -> None:
    preview = inspect(b"\xef\xbb\xbfEmail,Name\na@b.co,J\xc3\xbcrgen\n")
    assert preview.format == CsvFormat("utf-8-sig", ",")
    assert preview.headers == ["Email", "Name"]  # no "\ufeff" glued to the first name
    assert preview.sample_rows == [["a@b.co", "Jürgen"]]


@pytest.mark.parametrize(
    ("bom", "codec"), [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")], ids=["le", "be"]
)
def test_utf16_with_bom(bom: bytes, codec: str) -> None:
    data = bom + f"Email\tName\r\na@b.co\tZoë 😀\r\nc@d.co\t{HEBREW}\r\n".encode(codec)
    preview = inspect(data)
    assert preview.format == CsvFormat("utf-16", "\t")
    assert preview.headers == ["Email", "Name"]
    assert preview.row_count == 2
    assert rows_of(data) == [(2, ["a@b.co", "Zoë 😀"]), (3, ["c@d.co", HEBREW])]


def test_windows_1252() -> None:
    data = "Name;Betrag\nMüller;100 €\nCafé „Zur Post“;5 €\n".encode("cp1252")
    preview = inspect(data)
    assert preview.format == CsvFormat("cp1252", ";")
    assert rows_of(data) == [(2, ["Müller", "100 €"]), (3, ["Café „Zur Post“", "5 €"])]


def test_plain_utf8_is_not_mistaken_for_cp1252() -> None:
    preview = inspect("Name,City\nMüller,Köln\n".encode())
    assert preview.format.encoding == "utf-8-sig"
    assert preview.sample_rows == [["Müller", "Köln"]]


@pytest.mark.parametrize(
    "data",
    [
        b"Name,City\nM\xfcller,\x81\x8d\n",  # neither UTF-8 nor cp1252 (0x81, 0x8D undefined)
        b"\xef\xbb\xbfName\nM\xfcller\n",  # declares UTF-8 by its BOM but is not UTF-8
        b"\xff\xfeN\x00a\x00m",  # UTF-16 with an odd number of bytes
    ],
    ids=["cp1252-undefined", "bad-utf8-after-bom", "truncated-utf16"],
)
def test_undecodable_bytes(data: bytes) -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(data)
    assert_actionable(info.value, "could not be decoded", "UTF-8")


def test_iter_rows_undecodable_bytes() -> None:
    with pytest.raises(InvalidCsv) as info:
        list(iter_rows(b"a\n\x81\n", CsvFormat("utf-8-sig", ",")))
    assert_actionable(info.value, "could not be decoded", "save it as UTF-8")


# --- delimiters and line endings ------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_detected(delimiter: str) -> None:
    lines = [["Email", "Name", "City"], ["a@b.co", "Ann", "Oslo"], ["c@d.co", "Bo", "Rome"]]
    data = "".join(delimiter.join(line) + "\n" for line in lines).encode()
    preview = inspect(data)
    assert preview.format.delimiter == delimiter
    assert preview.headers == ["Email", "Name", "City"]
    assert preview.sample_rows == lines[1:]


def test_comma_inside_quotes_of_semicolon_file() -> None:
    data = (
        b'"Name, full";Email;"Note"\n'
        b'"Doe, Jane";jane@example.com;"likes a, b, c"\n'
        b'"Roe, Rick";rick@example.com;"x, y"\n'
    )
    preview = inspect(data)
    assert preview.format.delimiter == ";"
    assert preview.headers == ["Name, full", "Email", "Note"]
    assert preview.sample_rows[0] == ["Doe, Jane", "jane@example.com", "likes a, b, c"]


def test_decimal_commas_do_not_fool_semicolon_detection() -> None:
    preview = inspect(b"Name;Price;Weight\nA;1,50;2,5\nB;3,75;1,0\n")
    assert preview.format.delimiter == ";"


def test_delimiter_tie_goes_to_more_columns_then_to_comma() -> None:
    # Both split into consistent rows; ";" gives 3 columns, "," only 2.
    assert inspect(b"a;b,c;d\n1;2,3;4\n").format.delimiter == ";"
    # Equal on consistency and width: "," comes first.
    assert inspect(b"a,b;c\n1,2;3\n").format.delimiter == ","


def test_single_column_file_uses_comma() -> None:
    preview = inspect(b"Email\na@b.co\nc@d.co\n")
    assert preview.format.delimiter == ","
    assert preview.headers == ["Email"]
    assert preview.row_count == 2
    assert preview.email_columns == ["Email"]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["Email,Name", "a@b.co,Ann", '"c@d.co","Bo ""B"" Li"', "e@f.co,Cy"])
    data = (text + newline).encode()
    preview = inspect(data)
    assert preview.headers == ["Email", "Name"]
    assert preview.row_count == 3
    assert rows_of(data) == [
        (2, ["a@b.co", "Ann"]),
        (3, ["c@d.co", 'Bo "B" Li']),
        (4, ["e@f.co", "Cy"]),
    ]


def test_file_without_final_newline() -> None:
    assert rows_of(b"a,b\n1,2\n3,4") == [(2, ["1", "2"]), (3, ["3", "4"])]


# --- records: quoted newlines, blank, trailing and ragged rows ------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_quoted_newline_is_one_row(newline: str) -> None:
    text = newline.join(
        ["Email,Address", 'a@b.co,"1 Main St', 'Springfield"', 'c@d.co,"x', "", 'y"', "e@f.co,z"]
    )
    data = (text + newline).encode()
    preview = inspect(data)
    assert preview.row_count == 3
    assert preview.sample_rows[0] == ["a@b.co", f"1 Main St{newline}Springfield"]
    rows = rows_of(data)
    assert [number for number, _ in rows] == [2, 3, 4]
    assert rows[1] == (3, ["c@d.co", f"x{newline}{newline}y"])
    assert rows[2] == (4, ["e@f.co", "z"])


def test_blank_rows_skipped_but_numbered() -> None:
    data = b'Email,Name\n\na@b.co,Ann\n,\n   ,  \n"",""\nc@d.co,Bo\n\t\n'
    preview = inspect(data)
    assert preview.row_count == 2
    assert preview.sample_rows == [["a@b.co", "Ann"], ["c@d.co", "Bo"]]
    assert rows_of(data) == [(3, ["a@b.co", "Ann"]), (7, ["c@d.co", "Bo"])]


def test_blank_lines_before_header_keep_spreadsheet_numbering() -> None:
    data = b"\n,,\nEmail,Name\na@b.co,Ann\n"
    preview = inspect(data)
    assert preview.headers == ["Email", "Name"]
    assert rows_of(data) == [(4, ["a@b.co", "Ann"])]


def test_trailing_empty_rows_ignored() -> None:
    data = b"Email,Name\r\na@b.co,Ann\r\n,\r\n,\r\n\r\n\r\n"
    assert inspect(data).row_count == 1
    assert rows_of(data) == [(2, ["a@b.co", "Ann"])]


def test_ragged_rows_padded_and_truncated() -> None:
    data = b"Email,First,Last\na@b.co\nc@d.co,Bo\ne@f.co,Cy,Li,extra,more\ng@h.co,Di,Ek\n"
    expected = [
        ["a@b.co", "", ""],
        ["c@d.co", "Bo", ""],
        ["e@f.co", "Cy", "Li"],
        ["g@h.co", "Di", "Ek"],
    ]
    preview = inspect(data)
    assert preview.row_count == 4
    assert preview.sample_rows == expected
    assert rows_of(data) == list(zip([2, 3, 4, 5], expected, strict=True))


def test_header_only_is_valid_with_zero_rows() -> None:
    preview = inspect(b"Email,Name\n\n,\n")
    assert preview.headers == ["Email", "Name"]
    assert preview.row_count == 0
    assert preview.sample_rows == []
    assert preview.email_columns == ["Email"]
    assert rows_of(b"Email,Name\n") == []


# --- invalid CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "row"),
    [
        (b'a,b\n"x,y\n', "row 2"),
        (b'a,b\n1,2\n"x,y', "row 3"),
        (b'a,b\n1,"two\n3,4\n5,6\n', "row 2"),
    ],
    ids=["eof-newline", "eof-no-newline", "swallows-rest"],
)
def test_unbalanced_quote(data: bytes, row: str) -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(data)
    assert_actionable(info.value, "unclosed quote", row, "two quotes")


def test_unbalanced_quote_in_iter_rows() -> None:
    with pytest.raises(InvalidCsv) as info:
        list(iter_rows(b'a,b\n1,2\n"x,y\n', CsvFormat("utf-8-sig", ",")))
    assert_actionable(info.value, "unclosed quote", "row 3")


def test_text_after_closing_quote_names_row() -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(b'a,b\n1,2\n"x"y,2\n')
    assert_actionable(info.value, "row 3", "quote")


@pytest.mark.parametrize(
    ("header", "position"),
    [(b"Email,,Name", "column 2"), (b"Email,Name,  ", "column 3"), (b" ,Email", "column 1")],
)
def test_blank_header_name(header: bytes, position: str) -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(header + b"\na@b.co,x,y\n")
    assert_actionable(info.value, position, "give every column a name")


@pytest.mark.parametrize("header", [b"Email,Name,email", b"Email,Name, EMAIL "])
def test_duplicate_header_case_insensitive(header: bytes) -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(header + b"\na@b.co,x,y\n")
    assert_actionable(info.value, "more than once", "columns 1 and 3", "must be unique")
    assert "EMAIL" in info.value.message.upper()


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\t\n  ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n", b"\xff\xfe", b"\xfe\xff"],
    ids=["zero-bytes", "whitespace", "utf8-bom", "utf8-bom-newlines", "utf16le-bom", "utf16be"],
)
def test_empty_file(data: bytes) -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(data)
    assert_actionable(info.value, "The file is empty.", "header row")


def test_only_blank_records_has_no_header() -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(b",,\n  \n,,,\n\t\n")
    assert_actionable(info.value, "no header row", "first row")


# --- not a CSV, too large -------------------------------------------------------------------


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        _zip_bytes(),
        b"PK\x05\x06" + b"\x00" * 18,
        gzip.compress(b"a,b\n1,2\n"),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"GIF89a\x01\x00\x01\x00",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"7z\xbc\xaf\x27\x1c\x00\x04",
        b"Rar!\x1a\x07\x01\x00",
        b"BZh91AY&SY\x12\x34",
    ],
    ids=["zip", "empty-zip", "gzip", "pdf", "png", "jpeg", "gif", "ole-xls", "7z", "rar", "bz2"],
)
def test_binary_signatures(data: bytes) -> None:
    with pytest.raises(NotCsv) as info:
        inspect(data)
    assert_actionable(info.value, "not a CSV", "CSV (comma-separated values)")


@pytest.mark.parametrize(
    "data",
    [
        b"Email,Name\na@b.co,A\x00nn\n",
        # NUL bytes, but not in UTF-16's pattern (UTF-16 without BOM: tests/unit/test_encodings.py)
        b"Email,Name\na\x00\x00@b.co,Ann\n\x00",
    ],
    ids=["nul", "nul-not-utf16"],
)
def test_nul_bytes(data: bytes) -> None:
    with pytest.raises(NotCsv) as info:
        inspect(data)
    assert_actionable(info.value, "not a CSV", "CSV (comma-separated values)")


def test_many_control_characters() -> None:
    data = bytes(range(1, 32)) * 40 + b"a,b\n"
    with pytest.raises(NotCsv) as info:
        inspect(data)
    assert_actionable(info.value, "not a CSV", "control characters", "CSV (comma-separated")


def test_a_few_stray_control_characters_are_accepted() -> None:
    # Excel for Mac writes \x0b for a line break inside a cell; DOS files may end in \x1a.
    data = b"Email,Note\n" + b"a@b.co,line\x0bbreak\n" * 50 + b"\x1a"
    assert inspect(data).row_count == 50


def test_text_starting_like_a_signature_prefix_is_csv() -> None:
    preview = inspect(b"BZh code,GIF8 size\n1,2\n")
    assert preview.headers == ["BZh code", "GIF8 size"]


def test_over_max_file_bytes() -> None:
    with pytest.raises(FileTooLarge) as info:
        inspect(b"a\n" + b"x" * MAX_FILE_BYTES)
    assert_actionable(info.value, "10 MB limit", "split")


def test_exactly_max_file_bytes_accepted() -> None:
    rows, rest = divmod(MAX_FILE_BYTES - 2, 100)
    data = b"h\n" + (b"x" * 99 + b"\n") * rows + b"y" * (rest - 1) + b"\n"
    assert len(data) == MAX_FILE_BYTES
    assert inspect(data).row_count == rows + 1


# --- large and unusual content --------------------------------------------------------------


def test_cells_at_the_limit() -> None:
    big = "x" * 131_072  # the documented limit: 128 K characters
    assert len(big) == MAX_CELL_CHARS
    data = f'Email,Note\na@b.co,"{big}"\nc@d.co,{"é" * len(big)}\n'.encode()
    preview = inspect(data)
    assert preview.row_count == 2
    assert preview.sample_rows[0][1] == big
    assert [len(cells[1]) for _, cells in rows_of(data)] == [len(big), len(big)]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"Email,Note\na@b.co,ok\nc@d.co," + b"x" * 131_073 + b"\n", "Row 3, column 2 (B)"),
        (b"Email,Note\na@b.co," + "é".encode() * 131_073 + b"\n", "Row 2, column 2 (B)"),
        # A stray quote swallows the lines after it into one cell.
        (b'Email,Note\na@b.co,"oops\n' + b"c@d.co,fine\n" * 12_000 + b'"\n', "Row 2, column 2"),
        (b"Email," + b"N" * 131_073 + b"\na@b.co,x\n", "Row 1, column 2 (B)"),
        (b"a,b\n" + b" " * 131_073 + b"\nc,d\n", "Row 2, column 1 (A)"),  # blank, still a cell
    ],
    ids=["data-cell", "multibyte-cell", "stray-quote", "header-cell", "blank-row"],
)
def test_a_cell_over_the_limit(data: bytes, where: str) -> None:
    with pytest.raises(InvalidCsv) as info:
        inspect(data)
    assert_actionable(info.value, where, "131,072 characters", "quote", "shorten")


def test_a_thousand_columns() -> None:
    assert MAX_COLUMNS == 1000
    header = ",".join(f"col{i}" for i in range(1000))
    row = ",".join(str(i) for i in range(1000))
    data = f"{header}\n{row}\n{row}\n".encode()
    preview = inspect(data)
    assert len(preview.headers) == 1000
    assert preview.headers[-1] == "col999"
    assert preview.sample_rows[0][-1] == "999"
    assert rows_of(data)[1][0] == 3


def test_over_a_thousand_columns() -> None:
    header = ",".join(f"col{i}" for i in range(1001))
    data = f"{header}\n{header}\n".encode()
    with pytest.raises(InvalidCsv) as info:
        inspect(data)
    assert_actionable(info.value, "1,001 columns", "limit of 1,000 columns", "delete the columns")


def test_data_rows_wider_than_the_header_are_not_limited() -> None:
    # Cells beyond the header are dropped (ragged rows), so only the header counts.
    data = b"Email,Name\na@b.co,A" + b",x" * 5000 + b"\n"
    assert inspect(data).sample_rows == [["a@b.co", "A"]]


def test_emoji_and_right_to_left_text_preserved() -> None:
    cells = ["😀👍🏽 ok", ARABIC, HEBREW, "👨\u200d👩\u200d👧"]
    data = ("A,B,C,D\n" + ",".join(cells) + "\n").encode()
    preview = inspect(data)
    assert preview.sample_rows == [cells]
    assert rows_of(data) == [(2, cells)]


def test_formula_like_cells_kept_verbatim() -> None:
    data = b'Name,Link,Sum\n=1+2,"=HYPERLINK(""x"")",@SUM(A1)\n-3,+cmd,\'quoted\n'
    expected = [["=1+2", '=HYPERLINK("x")', "@SUM(A1)"], ["-3", "+cmd", "'quoted"]]
    assert inspect(data).sample_rows == expected
    assert [cells for _, cells in rows_of(data)] == expected


# --- identifier detection -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Email", "E-mail", "E-Mail Address", "email_address", "EmailAddress", "Work Email", "Mail"],
)
def test_email_column_by_name(name: str) -> None:
    preview = inspect(f"{name},Other\nnot-an-address,x\n".encode())
    assert preview.email_columns == [name]
    assert preview.phone_columns == []


@pytest.mark.parametrize(
    "name",
    ["Phone", "Mobile", "Work Phone", "Cell", "Telephone", "Tel", "Tel.", "phone_number",
     "mobilePhone", "Telefon"],
)  # fmt: skip
def test_phone_column_by_name(name: str) -> None:
    preview = inspect(f"{name},Other\nn/a,x\n".encode())
    assert preview.phone_columns == [name]
    assert preview.email_columns == []


@pytest.mark.parametrize(
    "name",
    ["Hotel", "Automobile", "Mailing List", "Email Opt Out", "Phone Type", "Fax", "Cellar",
     "Intel", "Account"],
)  # fmt: skip
def test_not_an_identifier_by_name(name: str) -> None:
    preview = inspect(f"{name},Other\nThe Ritz,x\nYes,y\n".encode())
    assert preview.email_columns == []
    assert preview.phone_columns == []


def test_email_column_by_values() -> None:
    data = b"Contact,Name\nann@example.com,Ann\n,Empty\nbo@example.org,Bo\nBO@EXAMPLE.ORG,Bo\n"
    preview = inspect(data)
    assert preview.email_columns == ["Contact"]
    assert preview.phone_columns == []


def test_phone_column_by_values() -> None:
    data = (
        b"Reach,Name,Joined\n"
        b"+1 (555) 123-4567,Ann,2024-01-15\n"
        b"030/1234567,Bo,15.01.2024\n"
        b"555.123.4567,Cy,01/15/2024\n"
        b"0044 20 7946 0018,Di,2023-12-31\n"
    )
    preview = inspect(data)
    assert preview.phone_columns == ["Reach"]  # "Joined" holds dates, not phone numbers


def test_value_detection_needs_eighty_percent() -> None:
    data = b"Contact,Other\na@b.co,x\nc@d.co,y\nnot mail,z\nnope,w\n"
    assert inspect(data).email_columns == []
    data = b"Contact,Other\na@b.co,x\nc@d.co,y\ne@f.co,z\ng@h.co,w\nnope,v\n"
    assert inspect(data).email_columns == ["Contact"]


def test_value_detection_ignores_ids_amounts_and_empty_columns() -> None:
    data = (
        b"Order ID,Revenue,Zip,Empty,Notes\n"
        b"10023456,1234567.50,1234567,,hello\n"
        b"10023457,2345678.00,7654321,,world\n"
    )
    preview = inspect(data)
    assert preview.phone_columns == []
    assert preview.email_columns == []


def test_email_wins_over_phone_and_columns_listed_once_in_header_order() -> None:
    data = b"Mobile,Name,Email 2,Phone,Email\na@b.co,Ann,c@d.co,555-123-4567,e@f.co\n"
    preview = inspect(data)
    assert preview.email_columns == ["Mobile", "Email 2", "Email"]
    assert preview.phone_columns == ["Phone"]


# --- streaming ------------------------------------------------------------------------------


def test_iter_rows_hundred_thousand_rows() -> None:
    lines = ["Email,First Name,Last Name,Company,Phone"]
    lines += [
        f"user{i}@example.com,First{i},Last{i},Company {i},+1 555 {i:07d}" for i in range(100_000)
    ]
    data = ("\n".join(lines) + "\n").encode()
    rows = list(iter_rows(data, inspect(data).format))
    assert len(rows) == 100_000
    assert rows[-1] == (
        100_001,
        ["user99999@example.com", "First99999", "Last99999", "Company 99999", "+1 555 0099999"],
    )
