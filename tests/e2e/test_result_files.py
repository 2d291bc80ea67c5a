"""``GET /leads/import/jobs/{jobId}/errors.csv`` and ``.../results.csv`` against the real
services: the files are parsed with Python's csv module and compared with what the test wrote
(the expected cells, rows, errors and outcomes come from the test's own file, not from the code
under test); a fixed errors file uploaded again imports the first upload's values."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from adapters.tokens import create_token
from application.container import Container
from tests.helpers import assert_error, job_items, lead_by, start, upload, wait_job
from tests.services import Workers

JOBS = "/leads/import/jobs"
INVALID_EMAIL = "Invalid email format"
MISSING = "Missing required identifier"
BAD_PHONE = "Alias not added: Invalid phone format"
HEADERS = ["Email", "First Name", "Phone", "Notes", "Value"]
MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Notes": "notes", "Value": "lead_source"},
    "alias_mappings": {"Phone": "_alias_phone"},
}
# row number -> the cells the test writes (row 5 is blank: skipped, but it keeps its number)
ROWS: dict[int, list[str]] = {
    2: ["jane@example.com", "Zoë", "+1 415 555 2671", "=1+2", "v1"],
    3: [
        "not-an-email",
        "Jürgen",
        "+1 415 555 0199",
        'multi\nline, "quoted" note',
        "=cmd|' /C calc'!A0",
    ],
    4: ["", "Nobody", "", "-", "@x"],
    5: ["", "", "", "", ""],
    6: ["jane@example.com", "Jane", "abc", "\ttabbed", "+x"],
    7: ["@bad", "王小明", "", "", "-1"],
    8: ["bob@example.com", "Bob", "=2+3", "", ""],
}
FAILED = {3: (INVALID_EMAIL, "not-an-email"), 4: (MISSING, ""), 7: (INVALID_EMAIL, "@bad")}
OUTCOMES = {2: "created", 3: "failed", 4: "failed", 6: "updated", 7: "failed", 8: "created"}
WARNINGS = {6: f"{BAD_PHONE} (abc)", 8: f"{BAD_PHONE} (=2+3)"}


def safe(cell: str) -> str:
    """OWASP's rule, written out here: a cell starting like a formula gets a ' in front."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and cell else cell


def write_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def read_download(response: Any) -> list[list[str]]:
    """The body of a CSV download, checked byte by byte for the documented format, parsed."""
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    data: bytes = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    # Comma-delimited, CRLF, quoted only where needed: exactly what Python's csv writes.
    assert write_csv(rows) == text
    return rows


def new_headers(container: Container) -> dict[str, str]:
    token = create_token(container.pool, f"ou-files-{uuid.uuid4().hex[:12]}")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def finished(
    client: TestClient, container: Container, workers: Workers
) -> tuple[dict[str, str], dict[str, Any]]:
    """(headers of a fresh OU, the finished detail of its import of ROWS)."""
    headers = new_headers(container)
    content = write_csv([HEADERS, *ROWS.values()])
    preview = upload(client, headers, content.encode(), name="Kontakte März.csv")
    job = start(client, headers, preview["file_id"], **MAPPINGS)
    detail = wait_job(client, headers, job["job_id"])
    assert detail["status"] == "completed", detail
    assert (detail["created_count"], detail["updated_count"], detail["failed_count"]) == (2, 1, 3)
    return headers, detail


def test_errors_csv_holds_the_failed_rows_as_uploaded(client: TestClient, finished: Any) -> None:
    headers, job = finished
    r = client.get(f"{JOBS}/{job['job_id']}/errors.csv", headers=headers)
    lines = read_download(r)
    # The file has a "Value" column: the added one is renamed.
    assert lines[0] == ["row", "error", "import_value", *HEADERS]
    expected = [
        [str(row), error, safe(value), *(safe(c) for c in ROWS[row])]
        for row, (error, value) in sorted(FAILED.items())
    ]
    assert lines[1:] == expected
    # The same errors as the JSON listing.
    listed = job_items(client, headers, job["job_id"], "errors")
    assert [[str(e["row"]), e["error"], safe(e["value"])] for e in listed] == [
        line[:3] for line in expected
    ]
    # Formula cells are text: nothing in the file starts like a formula.
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for line in lines for cell in line
    )
    name = "Kontakte März-errors.csv"
    assert r.headers["content-disposition"] == (
        f"attachment; filename=\"Kontakte Marz-errors.csv\"; filename*=UTF-8''{quote(name)}"
    )


def test_results_csv_has_one_line_per_applied_row(client: TestClient, finished: Any) -> None:
    headers, job = finished
    r = client.get(f"{JOBS}/{job['job_id']}/results.csv", headers=headers)
    lines = read_download(r)
    [jane] = lead_by(client, headers, email="jane@example.com")
    [bob] = lead_by(client, headers, email="bob@example.com")
    lead = {2: jane["lead_id"], 6: jane["lead_id"], 8: bob["lead_id"]}
    assert lines == [
        ["row", "outcome", "lead_id", "error", "warnings"],
        *(
            [
                str(row),
                outcome,
                lead.get(row, ""),
                FAILED[row][0] if row in FAILED else "",
                WARNINGS.get(row, ""),
            ]
            for row, outcome in sorted(OUTCOMES.items())
        ),
    ]
    listed = job_items(client, headers, job["job_id"], "warnings")
    assert {w["row"]: f"{w['warning']} ({w['value']})" for w in listed} == WARNINGS
    assert r.headers["content-disposition"].startswith(
        'attachment; filename="Kontakte Marz-results.csv"; '
    )


def test_a_fixed_errors_file_uploaded_again_imports_the_first_uploads_values(
    client: TestClient, finished: Any
) -> None:
    """What a person does: open errors.csv in a spreadsheet, fix the e-mail cells, save it as
    CSV (the ' marks stay in the cells) and upload it again with the same mapping."""
    headers, job = finished
    lines = read_download(client.get(f"{JOBS}/{job['job_id']}/errors.csv", headers=headers))
    fixes = {"3": "jurgen@example.com", "4": "nobody@example.com", "7": "wang@example.com"}
    email = lines[0].index("Email")
    for line in lines[1:]:
        line[email] = fixes[line[0]]
    preview = upload(client, headers, ("\ufeff" + write_csv(lines)).encode(), "fixed.csv")
    assert preview["headers"] == lines[0]
    again = wait_job(
        client, headers, start(client, headers, preview["file_id"], **MAPPINGS)["job_id"]
    )
    assert (again["status"], again["created_count"], again["failed_count"]) == ("completed", 3, 0)
    assert again["warnings_total"] == 0  # '+1 415 555 0199 is the phone +1 415 555 0199 again

    def fields(address: str) -> dict[str, Any]:
        [lead] = lead_by(client, headers, email=address)
        return dict(lead["fields"])

    assert fields("jurgen@example.com") == {
        "first_name": "Jürgen",
        "notes": ROWS[3][3],
        "lead_source": "=cmd|' /C calc'!A0",
    }
    assert fields("nobody@example.com") == {
        "first_name": "Nobody",
        "notes": "-",
        "lead_source": "@x",
    }
    assert fields("wang@example.com") == {"first_name": "王小明", "lead_source": "-1"}
    [jurgen] = lead_by(client, headers, email="jurgen@example.com")
    assert lead_by(client, headers, phone="+1 415 555 0199") == [jurgen]


def test_a_semicolon_windows_1252_upload(
    client: TestClient, container: Container, workers: Workers
) -> None:
    """The errors file is UTF-8 and comma-delimited whatever the upload was; the job reads a
    copy of the upload in the format its start named, and so does the errors file."""
    headers = new_headers(container)
    rows = [
        ["Name", "E-Mail", "Stadt"],
        ["Müller", "mueller@example.com", "Köln"],
        ["Zoë", "kaputt", "Zürich; Altstadt"],
        ["Renée", "", "Besançon"],
        ["Œuvre €", "oe@example.com", "Paris"],
    ]
    data = write_csv(rows, delimiter=";").encode("cp1252")
    preview = upload(client, headers, data, name="Adressen.csv")
    job = start(
        client,
        headers,
        preview["file_id"],
        "E-Mail",
        field_mappings={"Name": "last_name", "Stadt": "city"},
        encoding="windows-1252",
        delimiter="semicolon",
    )
    done = wait_job(client, headers, job["job_id"])
    assert (done["created_count"], done["failed_count"]) == (2, 2), done
    r = client.get(f"{JOBS}/{job['job_id']}/errors.csv", headers=headers)
    lines = read_download(r)
    assert lines == [
        ["row", "error", "value", "Name", "E-Mail", "Stadt"],
        ["3", INVALID_EMAIL, "kaputt", *rows[2]],
        ["4", MISSING, "", *rows[3]],
    ]
    assert "Zürich; Altstadt".encode() in r.content
    assert r.headers["content-disposition"] == 'attachment; filename="Adressen-errors.csv"'


def test_another_ous_job_is_404_like_the_detail(
    client: TestClient, container: Container, finished: Any
) -> None:
    _, job = finished
    stranger = new_headers(container)
    detail = assert_error(client.get(f"{JOBS}/{job['job_id']}", headers=stranger), 404)
    for what in ("errors.csv", "results.csv"):
        r = client.get(f"{JOBS}/{job['job_id']}/{what}", headers=stranger)
        assert assert_error(r, 404, "not_found") == detail
        missing = f"job_{uuid.uuid4().hex}"
        r = client.get(f"{JOBS}/{missing}/{what}", headers=stranger)
        assert assert_error(r, 404, "not_found")["message"] == detail["message"].replace(
            job["job_id"], missing
        )


LARGE_ROWS = 50_000


def test_a_large_job_streams_both_files(
    client: TestClient, container: Container, workers: Workers
) -> None:
    """50,000 rows, every 50th failing: both files come whole and in order (peak memory is
    measured by ``python -m bench.result_files``, not asserted here)."""
    headers = new_headers(container)
    rows = [["Email", "First Name", "City"]]
    failed = {}
    for n in range(LARGE_ROWS):
        email = f"lead{n}@example.com" if n % 50 else f"broken {n}"
        if not n % 50:
            failed[n + 2] = email
        rows.append([email, f"Name {n}", "=Berlin" if n % 7 == 0 else "Berlin"])
    preview = upload(client, headers, write_csv(rows).encode(), name="big.csv")
    job = wait_job(client, headers, start(client, headers, preview["file_id"])["job_id"], 300)
    assert (job["created_count"], job["failed_count"]) == (LARGE_ROWS - len(failed), len(failed))

    with client.stream("GET", f"{JOBS}/{job['job_id']}/errors.csv", headers=headers) as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers  # streamed, not rendered whole first
        body = b"".join(r.iter_bytes())
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert lines[0] == ["row", "error", "value", "Email", "First Name", "City"]
    assert lines[1:] == [
        [str(row), INVALID_EMAIL, value, *(safe(c) for c in rows[row - 1])]
        for row, value in sorted(failed.items())
    ]

    with client.stream("GET", f"{JOBS}/{job['job_id']}/results.csv", headers=headers) as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers
        body = b"".join(r.iter_bytes())
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert len(lines) == LARGE_ROWS + 1
    assert [line[0] for line in lines[1:]] == [str(n + 2) for n in range(LARGE_ROWS)]
    assert [line[1] for line in lines[1:]] == [
        "failed" if n + 2 in failed else "created" for n in range(LARGE_ROWS)
    ]
    assert all(line[2] for line in lines[1:] if line[1] == "created")
