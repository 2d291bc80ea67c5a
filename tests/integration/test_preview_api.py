"""POST /leads/import/preview through the real HTTP app: every status code the contract names."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import assert_error

PREVIEW = "/leads/import/preview"
MIB = 1024 * 1024
LIMIT = 10 * MIB

LEADS_CSV = (
    "Email,First Name,Last Name,Company,Phone\r\n"
    "jane@example.com,Jane,Doe,Example Inc,+1-555-0100\r\n"
    "john@example.com,John,Smith,Acme Corp,+1-555-0101\r\n"
    '"ann@example.com",Ann,Lee,"Multi\nLine Co",+1-555-0102\r\n'
    "bob@example.com,Bob,Stone,,+1-555-0103\r\n"
    "eve@example.com,Eve,Park,Park & Co,+1-555-0104\r\n"
    "sam@example.com,Sam,Ray,Ray Ltd,+1-555-0105\r\n"
    "kim@example.com,Kim,Cho,Cho GmbH,+1-555-0106\r\n"
)


def post_file(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    name: str = "leads.csv",
    content_type: str = "text/csv",
) -> Any:
    return client.post(PREVIEW, headers=headers, files={"file": (name, data, content_type)})


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def csv_of_size(size: int) -> bytes:
    """A valid CSV of exactly ``size`` bytes: header plus fixed-width rows, the last padded."""
    header = b"Email,Name\n"
    row_length = len(b"user0000000@example.com,N\n")
    count = (size - len(header)) // row_length - 1
    body = b"".join(b"user%07d@example.com,N\n" % i for i in range(count))
    last_prefix = b"last@example.com,"
    pad = size - len(header) - len(body) - len(last_prefix) - 1
    data = header + body + last_prefix + b"P" * pad + b"\n"
    assert len(data) == size
    return data


# --- 200 ------------------------------------------------------------------------------------


def test_preview_returns_the_contract_shape(client: TestClient, auth: dict[str, str]) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    r = post_file(client, auth, LEADS_CSV.encode(), name="leads.csv")
    after = datetime.now(UTC)

    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "file_id", "file_name", "headers", "sample_rows", "row_count",
        "auto_detected_identifiers", "suggested_mappings", "expires_at", "encoding",
        "encoding_source", "delimiter",
    }  # fmt: skip
    assert (body["encoding"], body["encoding_source"], body["delimiter"]) == (
        "utf-8",
        "detected",
        ",",
    )
    assert re.fullmatch(r"preview_[A-Za-z0-9_-]{16,}", body["file_id"])
    assert body["file_name"] == "leads.csv"
    assert body["headers"] == ["Email", "First Name", "Last Name", "Company", "Phone"]
    assert body["sample_rows"] == [
        ["jane@example.com", "Jane", "Doe", "Example Inc", "+1-555-0100"],
        ["john@example.com", "John", "Smith", "Acme Corp", "+1-555-0101"],
        ["ann@example.com", "Ann", "Lee", "Multi\nLine Co", "+1-555-0102"],
        ["bob@example.com", "Bob", "Stone", "", "+1-555-0103"],
        ["eve@example.com", "Eve", "Park", "Park & Co", "+1-555-0104"],
    ]
    # 7 data rows; the quoted newline inside "Multi\nLine Co" is not a row.
    assert body["row_count"] == 7
    assert body["auto_detected_identifiers"] == {
        "email_columns": ["Email"],
        "phone_columns": ["Phone"],
    }
    expires_at = body["expires_at"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", expires_at), expires_at
    expires = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    assert before + timedelta(hours=1) <= expires <= after + timedelta(hours=1)


def test_file_ids_are_unique_per_upload(client: TestClient, auth: dict[str, str]) -> None:
    ids = {post_file(client, auth, LEADS_CSV.encode()).json()["file_id"] for _ in range(3)}
    assert len(ids) == 3


def test_short_file_has_all_rows_as_samples(client: TestClient, auth: dict[str, str]) -> None:
    r = post_file(client, auth, b"Email,Name\na@example.com,A\nb@example.com,B\n")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sample_rows"] == [["a@example.com", "A"], ["b@example.com", "B"]]
    assert body["row_count"] == 2


def test_header_only_file_has_no_rows(client: TestClient, auth: dict[str, str]) -> None:
    r = post_file(client, auth, b"Email,First Name\n")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["headers"], body["sample_rows"], body["row_count"]) == (
        ["Email", "First Name"],
        [],
        0,
    )


def test_identifiers_are_detected_by_values(client: TestClient, auth: dict[str, str]) -> None:
    csv_text = (
        "Contact,Reach Me,Notes\n"
        "jane@example.com,+1 555 0100 200,hello\n"
        "john@example.com,(555) 010-1300,\n"
    )
    r = post_file(client, auth, csv_text.encode())
    assert r.status_code == 200, r.text
    assert r.json()["auto_detected_identifiers"] == {
        "email_columns": ["Contact"],
        "phone_columns": ["Reach Me"],
    }


def test_exactly_ten_mib_is_accepted(client: TestClient, auth: dict[str, str]) -> None:
    data = csv_of_size(LIMIT)
    r = post_file(client, auth, data)
    assert r.status_code == 200, r.text
    assert r.json()["row_count"] == data.count(b"\n") - 1


# --- what spreadsheets export ---------------------------------------------------------------

ACCEPTED = [
    pytest.param(b"Email,Name\r\njane@example.com,Jane\r\n", id="crlf"),
    pytest.param("\ufeffEmail,Name\njane@example.com,Jane\n".encode(), id="utf8-bom"),
    pytest.param("Email,Name\njane@example.com,Jane\n".encode("utf-16"), id="utf16-bom"),
    pytest.param(b"Email;Name\njane@example.com;Jane\n", id="semicolon"),
    pytest.param(b"Email\tName\njane@example.com\tJane\n", id="tab"),
    pytest.param(b"Email|Name\njane@example.com|Jane\n", id="pipe"),
    pytest.param(b"Email,Name\rjane@example.com,Jane\r", id="cr-only"),
]


@pytest.mark.parametrize("data", ACCEPTED)
def test_common_exports_are_read(client: TestClient, auth: dict[str, str], data: bytes) -> None:
    r = post_file(client, auth, data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["headers"] == ["Email", "Name"]
    assert body["sample_rows"] == [["jane@example.com", "Jane"]]
    assert body["row_count"] == 1


@pytest.mark.parametrize(
    ("data", "expected_name"),
    [
        pytest.param(
            "Email;Name\njane@example.com;Renée Müller €\n".encode("cp1252"),
            "Renée Müller €",
            id="cp1252",
        ),
        pytest.param(
            "Email\tName\njane@example.com\tZoë Ødegård\n".encode("utf-16"),
            "Zoë Ødegård",
            id="utf16-tab",
        ),
        pytest.param(
            "\ufeffEmail|Name\rjane@example.com|José Núñez\r".encode(),
            "José Núñez",
            id="utf8-bom-pipe-cr",
        ),
    ],
)
def test_non_ascii_text_is_decoded_exactly(
    client: TestClient, auth: dict[str, str], data: bytes, expected_name: str
) -> None:
    r = post_file(client, auth, data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["headers"] == ["Email", "Name"]
    assert body["sample_rows"] == [["jane@example.com", expected_name]]


def test_cr_only_file_counts_every_row(client: TestClient, auth: dict[str, str]) -> None:
    data = b'Email,Name\ra@example.com,A\rb@example.com,"B\rB"\rc@example.com,C\r'
    r = post_file(client, auth, data)
    assert r.status_code == 200, r.text
    assert r.json()["row_count"] == 3


# --- 400 ------------------------------------------------------------------------------------

INVALID_CSV = [
    pytest.param(b"", id="empty-file"),
    pytest.param(b"\r\n\n  \n", id="only-blank-lines"),
    pytest.param(b",,\n,,\n", id="no-header-row"),
    pytest.param(b"Email,,Name\na@example.com,x,A\n", id="blank-header"),
    pytest.param(b"Email,Name, \na@example.com,A,x\n", id="whitespace-header"),
    pytest.param(b"Email,Name,email\na@example.com,A,b@example.com\n", id="duplicate-header"),
    pytest.param(b'Email,Name\n"a@example.com,A\nb@example.com,B\n', id="unbalanced-quote"),
    pytest.param(b"Email,Name\na@example.com,\x81\x8d\x90\n", id="undecodable-cp1252"),
    pytest.param(b"\xef\xbb\xbfEmail,Name\na@example.com,\xe9\n", id="undecodable-after-utf8-bom"),
]


@pytest.mark.parametrize("data", INVALID_CSV)
def test_invalid_csv_is_400(client: TestClient, auth: dict[str, str], data: bytes) -> None:
    assert_error(post_file(client, auth, data), 400)


def test_missing_file_field_is_400(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post(
        PREVIEW, headers=auth, files={"upload": ("leads.csv", LEADS_CSV.encode(), "text/csv")}
    )
    assert_error(r, 400)


def test_file_field_as_plain_text_is_400(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post(PREVIEW, headers=auth, files={"file": (None, "Email\na@example.com\n")})
    assert_error(r, 400)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json", b'{"file": "Email\\na@example.com"}', id="json"),
        pytest.param("text/csv", LEADS_CSV.encode(), id="raw-csv"),
        pytest.param("application/x-www-form-urlencoded", b"file=Email", id="urlencoded"),
        pytest.param("multipart/form-data; boundary=xyz", b"not multipart", id="bad-multipart"),
        pytest.param("multipart/form-data", b"--x\r\n\r\n", id="multipart-without-boundary"),
    ],
)
def test_non_multipart_body_is_400(
    client: TestClient, auth: dict[str, str], content_type: str, body: bytes
) -> None:
    r = client.post(PREVIEW, headers={**auth, "Content-Type": content_type}, content=body)
    assert_error(r, 400)


def test_no_body_at_all_is_400(client: TestClient, auth: dict[str, str]) -> None:
    assert_error(client.post(PREVIEW, headers=auth), 400)


# --- 413 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [LIMIT + 1, 12 * MIB], ids=["limit+1", "12MiB"])
def test_file_over_ten_mib_is_413(client: TestClient, auth: dict[str, str], size: int) -> None:
    error = assert_error(post_file(client, auth, csv_of_size(size)), 413)
    assert "10 MB" in error["message"]


def test_streamed_body_without_length_is_cut_off_with_413(
    client: TestClient, auth: dict[str, str]
) -> None:
    """No Content-Length to trust: the server stops reading at the limit."""
    boundary = "leadimportboundary"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="leads.csv"\r\nContent-Type: text/csv\r\n\r\nEmail\n'
        ).encode()
        for _ in range(12):
            yield b"a@example.com\n" * (MIB // 14)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        PREVIEW,
        content=body(),
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413)


# --- 415 ------------------------------------------------------------------------------------

XLSX = zip_of({
    "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
    "xl/workbook.xml": b'<?xml version="1.0"?><workbook/>',
    "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><worksheet/>',
})  # fmt: skip
NOT_CSV = [
    pytest.param("leads.csv", zip_of({"leads.csv": LEADS_CSV.encode()}), id="zip"),
    pytest.param("leads.csv", XLSX, id="xlsx-content"),
    pytest.param("leads.xlsx", XLSX, id="xlsx-named"),
    pytest.param("leads.csv", gzip.compress(LEADS_CSV.encode()), id="gzip"),
    pytest.param("leads.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n", id="pdf"),
    pytest.param(
        "leads.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
        id="png",
    ),
    pytest.param("leads.csv", b"Email,Name\na@example.com,A\x00B\n", id="nul-bytes"),
    pytest.param("leads.csv", bytes(range(256)) * 8, id="random-binary"),
]


@pytest.mark.parametrize(("name", "data"), NOT_CSV)
def test_not_a_csv_is_415(client: TestClient, auth: dict[str, str], name: str, data: bytes) -> None:
    assert_error(
        post_file(client, auth, data, name=name, content_type="application/octet-stream"), 415
    )


# --- the error body everywhere ----------------------------------------------------------------


def test_unknown_route_and_method_use_the_error_body(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert_error(client.get("/leads/import/nothing-here", headers=auth), 404)
    assert_error(client.get(PREVIEW, headers=auth), 405)
