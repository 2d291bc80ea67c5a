"""Hostile requests on every endpoint: always a 4xx with the JSON error body, never a 500.

Malformed and wrongly typed JSON, huge bodies, wrong content types, bad query parameters and
unsupported methods. Endpoints that read no body ignore whatever body is sent: they must
answer exactly as they do without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from adapters.tokens import create_token
from api.app import routes as app_routes
from application.container import Container
from tests.helpers import assert_error, lead_by, wait_for, wait_job
from tests.services import Workers

PREVIEW = "/leads/import/preview"
START = "/leads/import/start"
JOB_ID = "job_" + uuid.UUID(int=0xDEADBEEF).hex
LEAD_ID = str(uuid.UUID(int=0xC0FFEE))
ERASURE_ID = "erasure_" + uuid.UUID(int=0xE4A5E).hex
MB = 1024 * 1024
CSV = b"Email,First Name,Phone\njane@example.com,Jane,+1-555-0100\n"
PRIMARY = {"column": "Email", "kind": "email"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # concrete: ids of things that do not exist
    query: str = ""

    @property
    def url(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("POST", PREVIEW),
    Endpoint("POST", START),
    Endpoint("GET", "/leads/import/fields"),
    Endpoint("GET", "/leads/import/jobs"),
    Endpoint("GET", f"/leads/import/jobs/{JOB_ID}"),
    Endpoint("GET", f"/leads/import/jobs/{JOB_ID}/errors"),
    Endpoint("GET", f"/leads/import/jobs/{JOB_ID}/warnings"),
    Endpoint("GET", f"/leads/import/jobs/{JOB_ID}/errors.csv"),
    Endpoint("GET", f"/leads/import/jobs/{JOB_ID}/results.csv"),
    Endpoint("POST", f"/leads/import/jobs/{JOB_ID}/cancel"),
    Endpoint("POST", f"/leads/import/jobs/{JOB_ID}/undo"),
    Endpoint("GET", "/leads", "email=jane@example.com"),
    Endpoint("GET", f"/leads/{LEAD_ID}"),
    Endpoint("GET", f"/leads/{LEAD_ID}/history"),
    Endpoint("DELETE", f"/leads/{LEAD_ID}"),
    Endpoint("GET", f"/leads/erasures/{ERASURE_ID}"),
    Endpoint("GET", "/healthz"),
    Endpoint("GET", "/readyz"),
    Endpoint("GET", "/openapi.json"),
    Endpoint("GET", "/metrics"),
]
# The only endpoints that read a request body, and the status of a bad one.
READS_BODY = {START: (400, "invalid_request"), PREVIEW: (400, "invalid_request")}


def endpoint_params() -> list[Any]:
    return [pytest.param(e, id=e.id) for e in ENDPOINTS]


def assert_same_as_without_body(
    client: TestClient, auth: dict[str, str], endpoint: Endpoint, response: Any
) -> None:
    """An endpoint that reads no body answers as if none had been sent (and never 5xx)."""
    baseline = client.request(endpoint.method, endpoint.url, headers=auth)
    assert baseline.status_code < 500, baseline.text
    assert response.status_code == baseline.status_code, response.text[:500]
    if response.status_code >= 400:
        assert_error(response, baseline.status_code, baseline.json()["error"]["code"])


def send(
    client: TestClient,
    auth: dict[str, str],
    endpoint: Endpoint,
    content: bytes | Iterator[bytes] | None = None,
    content_type: str | None = None,
    **kwargs: Any,
) -> Any:
    headers = dict(auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.request(endpoint.method, endpoint.url, headers=headers, content=content, **kwargs)


def count(container: Container, table: str, ou: str) -> int:
    assert table in ("preview_files", "import_jobs")
    with container.pool.connection() as conn:
        row = conn.execute(f"SELECT count(*) AS n FROM {table} WHERE ou = %s", (ou,)).fetchone()
    assert row is not None
    return int(row["n"])


# --- malformed JSON on every endpoint ----------------------------------------------------------

MALFORMED_JSON = [
    pytest.param(b'{"file_id": "preview_x", ', id="truncated"),
    pytest.param(b"{'file_id': 'preview_x'}", id="single-quotes"),
    pytest.param(b'{"file_id": "preview_x",}', id="trailing-comma"),
    pytest.param(b'{"file_id": "a"} {"file_id": "b"}', id="two-documents"),
    pytest.param(b'{"file_id": NaN}', id="nan"),
    pytest.param(b'{"file_id": 1' + b"0" * 400 + b"}", id="number-overflow"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-100k-deep"),
    pytest.param(b'{"file_id": "\xff\xfe"}', id="invalid-utf8"),
    pytest.param(b'{"file_id": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b'\xef\xbb\xbf{"file_id": "preview_x"}', id="utf8-bom"),
    pytest.param('{"file_id": "preview_x"}'.encode("utf-16"), id="utf16"),
    pytest.param(b"", id="empty"),
    pytest.param(b" \r\n\t ", id="whitespace"),
    pytest.param(b"\x00\x00\x00", id="nul-bytes"),
]


@pytest.mark.parametrize("content", MALFORMED_JSON)
@pytest.mark.parametrize("endpoint", endpoint_params())
def test_malformed_json(
    client: TestClient, auth: dict[str, str], endpoint: Endpoint, content: bytes
) -> None:
    r = send(client, auth, endpoint, content, "application/json")
    if endpoint.path in READS_BODY:
        assert_error(r, *READS_BODY[endpoint.path])
    else:
        assert_same_as_without_body(client, auth, endpoint, r)


# --- wrong JSON types on start (the only JSON endpoint) ----------------------------------------

WRONG_TYPES: list[Any] = [
    # top level
    pytest.param(None, id="null"),
    pytest.param(True, id="true"),
    pytest.param(5, id="number"),
    pytest.param("preview_x", id="string"),
    pytest.param([], id="empty-array"),
    pytest.param({}, id="empty-object"),
    pytest.param({"FILE": None, "primary_identifier": PRIMARY}, id="unknown-key-only"),
    pytest.param({"primary_identifier": PRIMARY, "surprise": 1}, id="extra-key"),
    # file_id
    pytest.param({"file_id": 5, "primary_identifier": PRIMARY}, id="file_id-int"),
    pytest.param({"file_id": True, "primary_identifier": PRIMARY}, id="file_id-bool"),
    pytest.param({"file_id": None, "primary_identifier": PRIMARY}, id="file_id-null"),
    pytest.param({"file_id": ["x"], "primary_identifier": PRIMARY}, id="file_id-array"),
    pytest.param({"file_id": {"id": "x"}, "primary_identifier": PRIMARY}, id="file_id-object"),
    pytest.param({"file_id": "", "primary_identifier": PRIMARY}, id="file_id-empty"),
    pytest.param({"file_id": "preview_\u0000", "primary_identifier": PRIMARY}, id="file_id-nul"),
    # primary_identifier
    pytest.param({"primary_identifier": "Email"}, id="primary-string"),
    pytest.param({"primary_identifier": ["Email", "email"]}, id="primary-array"),
    pytest.param({"primary_identifier": None}, id="primary-null"),
    pytest.param({"primary_identifier": {}}, id="primary-empty"),
    pytest.param({"primary_identifier": {"column": None, "kind": None}}, id="primary-nested-nulls"),
    pytest.param({"primary_identifier": {"column": "Email", "kind": None}}, id="kind-null"),
    pytest.param({"primary_identifier": {"column": 5, "kind": "email"}}, id="column-int"),
    pytest.param({"primary_identifier": {"column": "Email", "kind": ["email"]}}, id="kind-array"),
    pytest.param({"primary_identifier": {"column": "", "kind": "email"}}, id="column-empty"),
    pytest.param({"primary_identifier": {"column": "Email", "kind": "fax"}}, id="kind-unknown"),
    pytest.param(
        {"primary_identifier": {"column": "Email", "kind": "email", "x": 1}}, id="primary-extra"
    ),
    # mappings
    pytest.param({"primary_identifier": PRIMARY, "field_mappings": []}, id="fields-array"),
    pytest.param({"primary_identifier": PRIMARY, "field_mappings": "First Name"}, id="fields-str"),
    pytest.param({"primary_identifier": PRIMARY, "field_mappings": None}, id="fields-null"),
    pytest.param(
        {"primary_identifier": PRIMARY, "field_mappings": {"First Name": None}},
        id="fields-value-null",
    ),
    pytest.param(
        {"primary_identifier": PRIMARY, "field_mappings": {"First Name": 1}}, id="fields-value-int"
    ),
    pytest.param(
        {"primary_identifier": PRIMARY, "field_mappings": {"First Name": {"to": "first_name"}}},
        id="fields-value-object",
    ),
    pytest.param(
        {"primary_identifier": PRIMARY, "field_mappings": {"Nope": "first_name"}},
        id="fields-unknown-column",
    ),
    pytest.param({"primary_identifier": PRIMARY, "alias_mappings": []}, id="aliases-array"),
    pytest.param(
        {"primary_identifier": PRIMARY, "alias_mappings": {"Phone": None}}, id="aliases-value-null"
    ),
    pytest.param(
        {"primary_identifier": PRIMARY, "alias_mappings": {"Phone": "_alias_fax"}},
        id="aliases-unknown-target",
    ),
    # default_country
    pytest.param({"primary_identifier": PRIMARY, "default_country": 1}, id="country-int"),
    pytest.param({"primary_identifier": PRIMARY, "default_country": None}, id="country-null"),
    pytest.param({"primary_identifier": PRIMARY, "default_country": ["US"]}, id="country-array"),
    pytest.param({"primary_identifier": PRIMARY, "default_country": "USA"}, id="country-alpha3"),
    pytest.param({"primary_identifier": PRIMARY, "default_country": "\u0000"}, id="country-nul"),
]


@pytest.fixture(scope="module")
def previewed(client: TestClient, container: Container) -> tuple[str, dict[str, str], str]:
    """One OU with one previewed file: (ou, auth headers, file_id)."""
    ou = f"bad-requests-{uuid.uuid4().hex[:12]}"
    auth = {"Authorization": f"Bearer {create_token(container.pool, ou)}"}
    r = client.post(PREVIEW, headers=auth, files={"file": ("leads.csv", CSV, "text/csv")})
    assert r.status_code == 200, r.text
    return ou, auth, r.json()["file_id"]


@pytest.mark.parametrize("body", WRONG_TYPES)
def test_wrong_json_types_on_start(
    client: TestClient,
    container: Container,
    previewed: tuple[str, dict[str, str], str],
    body: Any,
) -> None:
    """Each body is valid but for one defect, and names a real file: still 400, no job."""
    ou, auth, file_id = previewed
    if isinstance(body, dict) and "file_id" not in body:
        body = {"file_id": file_id, **body}
    r = client.post(
        START,
        headers={**auth, "Content-Type": "application/json"},
        content=orjson.dumps(body),
    )
    assert_error(r, 400, "invalid_request")
    assert count(container, "import_jobs", ou) == 0


# --- huge bodies -------------------------------------------------------------------------------


def huge_start_body() -> bytes:
    """A syntactically valid start body of just over 1 MB."""
    mappings = {f"Column {i:06d}": "notes" for i in range(50_000)}
    body = orjson.dumps(
        {"file_id": "preview_x", "primary_identifier": PRIMARY, "field_mappings": mappings}
    )
    assert len(body) > MB
    return body


HUGE = huge_start_body()


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("endpoint", endpoint_params())
def test_huge_json_body(
    client: TestClient, auth: dict[str, str], endpoint: Endpoint, streamed: bool
) -> None:
    content = chunks(HUGE) if streamed else HUGE
    r = send(client, auth, endpoint, content, "application/json")
    if endpoint.path in READS_BODY:
        assert_error(r, *READS_BODY[endpoint.path])
    else:
        assert_same_as_without_body(client, auth, endpoint, r)


def test_huge_json_on_start_names_the_limit(
    client: TestClient, container: Container, previewed: tuple[str, dict[str, str], str]
) -> None:
    ou, auth, file_id = previewed
    body = orjson.dumps(
        {
            "file_id": file_id,
            "primary_identifier": PRIMARY,
            "field_mappings": {"First Name": "x" * (2 * MB)},
        }
    )
    r = client.post(START, headers={**auth, "Content-Type": "application/json"}, content=body)
    assert "1 MB" in assert_error(r, 400, "invalid_request")["message"]
    assert count(container, "import_jobs", ou) == 0


# --- wrong content types -----------------------------------------------------------------------

START_BODY = b'{"file_id": "preview_x", "primary_identifier": {"column": "Email", "kind": "email"}}'


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        pytest.param("text/plain", START_BODY, id="text-plain"),
        pytest.param("application/xml", b"<start><file_id>x</file_id></start>", id="xml"),
        pytest.param("text/csv", CSV, id="csv"),
        pytest.param("application/x-www-form-urlencoded", b"file_id=preview_x", id="urlencoded"),
        pytest.param("application/octet-stream", START_BODY, id="octet-stream"),
        pytest.param(None, START_BODY, id="no-content-type"),
        pytest.param("", START_BODY, id="empty-content-type"),
    ],
)
def test_start_wrong_content_type(
    client: TestClient,
    container: Container,
    previewed: tuple[str, dict[str, str], str],
    content_type: str | None,
    content: bytes,
) -> None:
    ou, auth, file_id = previewed
    body = content.replace(b"preview_x", file_id.encode())
    r = send(client, auth, Endpoint("POST", START), body, content_type)
    assert_error(r, 400, "invalid_request")
    assert count(container, "import_jobs", ou) == 0


def test_start_multipart_body(
    client: TestClient, container: Container, previewed: tuple[str, dict[str, str], str]
) -> None:
    ou, auth, file_id = previewed
    r = client.post(
        START,
        headers=auth,
        data={"file_id": file_id, "primary_identifier": "Email"},
        files={"file": ("leads.csv", CSV, "text/csv")},
    )
    assert_error(r, 400, "invalid_request")
    assert count(container, "import_jobs", ou) == 0


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        pytest.param("application/json", b'{"file": "Email\\njane@example.com\\n"}', id="json"),
        pytest.param("text/plain", CSV, id="text-plain"),
        pytest.param("application/xml", b"<file>Email</file>", id="xml"),
        pytest.param("application/octet-stream", CSV, id="octet-stream"),
        pytest.param("multipart/mixed; boundary=x", b"--x\r\n\r\nEmail\r\n--x--\r\n", id="mixed"),
        pytest.param(None, CSV, id="no-content-type"),
    ],
)
def test_preview_wrong_content_type(
    client: TestClient,
    container: Container,
    make_auth: Any,
    content_type: str | None,
    content: bytes,
) -> None:
    ou = f"bad-preview-{uuid.uuid4().hex[:12]}"
    r = send(client, make_auth(ou), Endpoint("POST", PREVIEW), content, content_type)
    assert_error(r, 400, "invalid_request")
    assert count(container, "preview_files", ou) == 0


# --- bad query parameters ----------------------------------------------------------------------

BAD_JOB_QUERIES = [
    "page=-1",
    "page=0",
    "page=abc",
    "page=1.5",
    "page=1e3",
    "page=%2B1",  # +1
    "page=%20",
    "page=%C2%B2",  # superscript two: isdigit() but not int()
    "page=%EF%BC%91",  # full-width one
    "page=99999999999999999999999999",
    "page=1&page=x",
    "limit=0",
    "limit=-5",
    "limit=101",
    "limit=1000",
    "limit=abc",
    "limit=%00",
    "limit=1" + "0" * 5000,
]


@pytest.mark.parametrize("query", BAD_JOB_QUERIES)
def test_bad_paging_of_jobs(client: TestClient, auth: dict[str, str], query: str) -> None:
    r = client.get(f"/leads/import/jobs?{query}", headers=auth)
    assert_error(r, 400, "invalid_request")


BAD_LEAD_QUERIES = [
    "",
    "page=1&limit=10",
    "name=Jane",
    "email=jane@example.com&phone=5550100",
    "email=",
    "email=null",
    "email=not-an-email",
    "email=a%00@example.com",
    "phone=abc",
    "phone=12",
    "cookie=a%00b",
    "external_id=" + "x" * 300,
    "social=%40",
]


@pytest.mark.parametrize("query", BAD_LEAD_QUERIES)
def test_bad_lead_lookups(client: TestClient, auth: dict[str, str], query: str) -> None:
    r = client.get(f"/leads?{query}", headers=auth)
    assert_error(r, 400, "invalid_request")


@pytest.mark.parametrize(
    "path",
    [
        "/leads/import/jobs/%00",
        "/leads/import/jobs/%ff%fe",
        "/leads/import/jobs/" + "x" * 5000,
        "/leads/import/jobs/job_%7B00000000-0000-0000-0000-000000000000%7D",
        "/leads/import/jobs/%00/cancel",
        "/leads/import/jobs/not-a-job/cancel",
        "/leads/import/jobs/job_" + "0" * 31 + "g/cancel",
        "/leads/import/jobs/%00/undo",
        "/leads/import/jobs/%00/errors.csv",
        "/leads/import/jobs/not-a-job/results.csv",
        f"/leads/import/jobs/{LEAD_ID}/errors.csv",
        "/leads/import/jobs/not-a-job/undo",
        f"/leads/import/jobs/{LEAD_ID}/undo",
        "/leads/%00",
        "/leads/not-a-uuid",
        "/leads/" + "f" * 5000,
        "/leads/%00/history",
        "/leads/not-a-uuid/history",
        f"/leads/{JOB_ID.removeprefix('job_')}/history",
    ],
)
def test_bad_ids_are_404(client: TestClient, auth: dict[str, str], path: str) -> None:
    method = "POST" if path.endswith(("/cancel", "/undo")) else "GET"
    assert_error(client.request(method, path, headers=auth), 404, "not_found")


# --- methods and routes ------------------------------------------------------------------------

ROUTES = {  # route template -> allowed methods, as api/app.py declares them
    PREVIEW: {"POST"},
    START: {"POST"},
    "/leads/import/fields": {"GET", "HEAD"},
    "/leads/import/jobs": {"GET", "HEAD"},
    "/leads/import/jobs/{job_id}": {"GET", "HEAD"},
    "/leads/import/jobs/{job_id}/errors": {"GET", "HEAD"},
    "/leads/import/jobs/{job_id}/warnings": {"GET", "HEAD"},
    "/leads/import/jobs/{job_id}/errors.csv": {"GET", "HEAD"},
    "/leads/import/jobs/{job_id}/results.csv": {"GET", "HEAD"},
    "/leads/import/jobs/{job_id}/cancel": {"POST"},
    "/leads/import/jobs/{job_id}/undo": {"POST"},
    "/leads": {"GET", "HEAD"},
    "/leads/{lead_id}": {"GET", "HEAD", "DELETE"},
    "/leads/{lead_id}/history": {"GET", "HEAD"},
    "/leads/erasures/{erasure_id}": {"GET", "HEAD"},
    "/healthz": {"GET", "HEAD"},
    "/readyz": {"GET", "HEAD"},
    "/openapi.json": {"GET", "HEAD"},
    "/metrics": {"GET", "HEAD"},
}
# The pages for people (api/web.py; their files are mounted under /static): no body, no token,
# not API operations, so only the method checks below apply to them.
PAGES = {"/": {"GET", "HEAD"}, "/import": {"GET", "HEAD"}, "/docs": {"GET", "HEAD"}}


def concrete(template: str) -> str:
    return (
        template.replace("{job_id}", JOB_ID)
        .replace("{lead_id}", LEAD_ID)
        .replace("{erasure_id}", ERASURE_ID)
    )


def test_the_tables_cover_every_route() -> None:
    """A route added to the app must be added here (and so gets all the checks above)."""
    declared: dict[str, set[str]] = {}  # a path may have a route per method
    for r in app_routes:
        if isinstance(r, Route):
            declared.setdefault(r.path, set()).update(r.methods or ())
    assert declared == ROUTES | PAGES
    covered = {(e.method, e.path) for e in ENDPOINTS}
    for template, methods in ROUTES.items():
        for main in methods - {"HEAD"}:
            assert (main, concrete(template)) in covered, (main, template)


METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"]


def method_params() -> list[Any]:
    return [
        pytest.param(concrete(path), method, id=f"{method} {path}")
        for path, allowed in (ROUTES | PAGES).items()
        for method in METHODS
        if method not in allowed
    ]


@pytest.mark.parametrize(("path", "method"), method_params())
def test_unsupported_method_is_405(
    client: TestClient, auth: dict[str, str], path: str, method: str
) -> None:
    r = client.request(
        method,
        path,
        headers={**auth, "Content-Type": "application/json"},
        content=b'{"file_id": "x"}',
    )
    assert_error(r, 405, "method_not_allowed")
    allowed = next(m for t, m in (ROUTES | PAGES).items() if concrete(t) == path)
    assert set(r.headers["allow"].replace(" ", "").split(",")) == allowed


# ("/" is the import wizard's address, a redirect to /import: see PAGES.)
@pytest.mark.parametrize(
    "path", ["/import/x", "/leads/import/jobs/x/y", "/leads/import/preview/x", "/api/leads"]
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_route_is_404(
    client: TestClient, auth: dict[str, str], path: str, method: str
) -> None:
    assert_error(client.request(method, path, headers=auth), 404, "not_found")


# --- another spelling of a job id ----------------------------------------------------------------
# A job id is "job_" + 32 lower-case hex digits. Other spellings of the same UUID either name no
# job (404, nothing changes) or the job itself (and then the command really applies to it): an
# answer must never disagree with what happened.

SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper-case": lambda hex_: "job_" + hex_.upper(),
    "dashed-uuid": lambda hex_: "job_" + str(uuid.UUID(hex_)),
    "without-prefix": lambda hex_: hex_,
    "braces": lambda hex_: "job_{" + hex_ + "}",
}


def start_job(client: TestClient, auth: dict[str, str], csv: bytes = CSV) -> str:
    r = client.post(PREVIEW, headers=auth, files={"file": ("leads.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    r = client.post(
        START, headers=auth, json={"file_id": r.json()["file_id"], "primary_identifier": PRIMARY}
    )
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    return job_id


def job_status(client: TestClient, auth: dict[str, str], job_id: str) -> str:
    r = client.get(f"/leads/import/jobs/{job_id}", headers=auth)
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_cancel_by_another_spelling_of_the_job_id(
    client: TestClient, make_auth: Any, spelling: str
) -> None:
    auth = make_auth(f"bad-cancel-{uuid.uuid4().hex[:12]}")
    # 1,000 rows: the job cannot complete in the few milliseconds before the cancel arrives.
    job_id = start_job(
        client, auth, b"Email\n" + b"".join(b"u%d@example.com\n" % i for i in range(1000))
    )
    alias = SPELLINGS[spelling](job_id.removeprefix("job_"))
    assert_error(client.get(f"/leads/import/jobs/{alias}", headers=auth), 404, "not_found")

    r = client.post(f"/leads/import/jobs/{alias}/cancel", headers=auth)

    if r.status_code == 404:
        assert_error(r, 404, "not_found")
        assert job_status(client, auth, job_id) != "cancelled", "a 404 answer cancelled the job"
    else:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == job_status(client, auth, job_id) == "cancelled"


@pytest.mark.parametrize("spelling", ["upper-case", "without-prefix"])
def test_undo_by_another_spelling_of_the_job_id(
    client: TestClient, make_auth: Any, workers: Workers, spelling: str
) -> None:
    auth = make_auth(f"bad-undo-{uuid.uuid4().hex[:12]}")
    job_id = start_job(client, auth)
    assert wait_job(client, auth, job_id, timeout=60)["status"] == "completed"
    alias = SPELLINGS[spelling](job_id.removeprefix("job_"))

    r = client.post(f"/leads/import/jobs/{alias}/undo", headers=auth)

    if r.status_code == 404:
        assert_error(r, 404, "not_found")
        assert job_status(client, auth, job_id) == "completed"
        assert len(lead_by(client, auth, email="jane@example.com")) == 1
    else:
        assert r.status_code == 202, r.text
        wait_for(lambda: job_status(client, auth, job_id) != "undoing", 60, f"the undo of {job_id}")
        assert job_status(client, auth, job_id) == "undone"
        assert lead_by(client, auth, email="jane@example.com") == [], "undone, lead still there"
