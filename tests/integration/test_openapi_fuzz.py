"""The OpenAPI document (``GET /openapi.json``): served without a token, complete, true to real
responses, and fuzzed with schemathesis against the in-process app and real jobs.

The fuzz run sends, per operation, up to ``FUZZ_EXAMPLES`` generated requests (positive and
negative data, derandomized, no deadline) with the token of an OU that owns real data (a finished
job with row errors, warnings and ignored fields, its leads, a previewed file), and checks: no
500, every status documented, content type, headers and body as documented, 405 with ``Allow``
for undeclared methods, 401 without the token. Hooks mix real ids, real files and real CSVs into
the generated data so that the 200/202/409 answers are exercised too, not only the 4xx ones.
Not run: ``positive_data_acceptance`` and ``negative_data_rejection``: the document cannot say
that a file_id must exist or a column must be a header, and unknown query parameters are ignored,
as HTTP APIs do; both checks would only report those.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as oas
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from adapters.tokens import create_token
from api import app as app_module
from api import schemas
from api.app import create_app
from api.openapi import AssetMount, PageRoute, openapi_document
from application.container import Container
from domain.fields import PROFILE_FIELDS
from domain.identifiers import ALIAS_TARGETS, KINDS
from runtime import bootstrap
from tests.helpers import lead_by, start, upload, wait_for, wait_job
from tests.services import Workers

FUZZ_EXAMPLES = 50
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi.json"), ("GET", "/metrics")}
# Pages for people (api/web.py): routes of the app, deliberately not API operations.
PAGES = {("GET", "/"), ("GET", "/import"), ("GET", "/docs")}
CHECKS = [
    not_a_server_error,
    oas.status_code_conformance,
    oas.content_type_conformance,
    oas.response_headers_conformance,
    oas.response_schema_conformance,
    oas.missing_required_header,
    oas.unsupported_method,
    oas.allow_header_conformance,
    oas.ignored_auth,
]
SEED_CSV = (
    "Email,First Name,Phone,Alt Email,Shoe Size\n"
    "jane@example.com,Jane,(415) 555-2671,shared@example.com,42\n"
    "john@example.com,John,+1-555-0100,shared@example.com,43\n"
    "not-an-email,Bad,,,\n"
    ",Nobody,,,\n"
)
SEED_HEADERS = ["Email", "First Name", "Phone", "Alt Email", "Shoe Size"]
SEED_MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Shoe Size": "shoe_size"},
    "alias_mappings": {"Phone": "_alias_phone", "Alt Email": "_alias_email"},
}


def document_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in openapi_document(app_module.routes)["paths"].items()
        for method in item
    }


def app_routes(pages: bool = False) -> set[tuple[str, str]]:
    """The API routes of the app, or (``pages``) its pages."""
    return {
        (method, route.path)
        for route in app_module.routes
        if isinstance(route, Route) and isinstance(route, PageRoute) == pages
        for method in route.methods or ()
        if method != "HEAD"  # Starlette adds HEAD to every GET route
    }


def response_validator(method: str, path: str, status: int, model: type[BaseModel]) -> Any:
    """A JSON Schema validator of the documented body of ``status``, which must be ``model``."""
    document = openapi_document(app_module.routes)
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, not documented"
    body = responses[str(status)]["content"]["application/json"]["schema"]
    assert body == {"$ref": f"#/components/schemas/{model.__name__}"}, (method, path, status)
    return jsonschema_rs.Draft202012Validator(
        {**body, "components": document["components"]}, validate_formats=True
    )


def conforms(
    method: str, path: str, response: Any, model: type[BaseModel], status: int
) -> dict[str, Any]:
    """``response`` has ``status``, and its body fits both ``model`` and the document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    model.model_validate(body)
    validator = response_validator(method, path, status, model)
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == [], (method, path, body)
    return body


# --- the document ------------------------------------------------------------------------------


def test_openapi_json_is_served_without_a_token(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == openapi_document(app_module.routes)
    assert r.json()["openapi"] == "3.1.0"


def test_every_route_is_documented_and_nothing_else() -> None:
    assert app_routes() == document_routes()
    # Left out, and only these: the pages and their static files.
    assert app_routes(pages=True) == PAGES
    assert not PAGES & document_routes()
    mounts = [r for r in app_module.routes if not isinstance(r, Route)]
    assert mounts
    assert all(isinstance(m, AssetMount) and m.path.startswith("/static") for m in mounts)


def test_every_operation_documents_its_answers() -> None:
    document = openapi_document(app_module.routes)
    [(name, scheme)] = document["components"]["securitySchemes"].items()
    assert (name, scheme["type"], scheme["scheme"]) == ("bearerAuth", "http", "bearer")
    assert document["security"] == [{"bearerAuth": []}]
    for path, item in document["paths"].items():
        for method, op in item.items():
            public = (method.upper(), path) in PUBLIC
            assert op["security"] == ([] if public else [{"bearerAuth": []}]), (method, path)
            statuses = set(op["responses"])
            assert public or "401" in statuses, (method, path)
            assert "{" not in path or public or "404" in statuses, (method, path)
            for status, reply in op["responses"].items():
                assert reply["description"], (method, path, status)
                if path == "/metrics":  # the Prometheus text format
                    assert set(reply["content"]) == {"text/plain"}, (method, path)
                    continue
                if path.endswith(".csv") and status == "200":  # a download: the file itself
                    assert set(reply["content"]) == {"text/csv"}, (method, path)
                    assert reply["headers"]["Content-Disposition"]["required"], (method, path)
                    continue
                assert "application/json" in reply["content"], (method, path, status)
                if status.startswith(("4", "5")) and path not in ("/readyz",):
                    schema = reply["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}


def _ok(result: Any) -> Any:
    return result.ok()  # raises the operation's error when it could not be built


def test_the_document_is_valid_openapi_3_1() -> None:
    loaded = schemathesis.openapi.from_dict(openapi_document(app_module.routes))
    loaded.validate()  # against the OpenAPI 3.1 meta-schema
    # Building every operation resolves every reference and parameter.
    operations = {(op.method.upper(), op.path) for op in map(_ok, loaded.get_all_operations())}
    assert operations == document_routes()
    components = openapi_document(app_module.routes)["components"]
    for name, schema in components["schemas"].items():
        assert "$defs" not in schema, name
        # Each component is a valid JSON Schema whose references resolve.
        jsonschema_rs.Draft202012Validator({**schema, "components": components})


# --- the models describe real responses ----------------------------------------------------------


def test_models_describe_real_responses(
    client: TestClient, workers: Workers, make_auth: Any, new_ou: Any
) -> None:
    auth = make_auth(new_ou())
    jobs = "/leads/import/jobs"

    preview = conforms(
        "POST",
        "/leads/import/preview",
        client.post(
            "/leads/import/preview",
            headers=auth,
            files={"file": ("leads.csv", SEED_CSV.encode(), "text/csv")},
        ),
        schemas.PreviewResponse,
        200,
    )
    body = {
        "file_id": preview["file_id"],
        "primary_identifier": {"column": "Email", "kind": "email"},
        **SEED_MAPPINGS,
    }
    started = conforms(
        "POST",
        "/leads/import/start",
        client.post("/leads/import/start", headers=auth, json=body),
        schemas.StartResponse,
        202,
    )
    assert started["ignored_fields"] == ["shoe_size"]
    without_ignored = conforms(
        "POST",
        "/leads/import/start",
        client.post("/leads/import/start", headers=auth, json={**body, "field_mappings": {}}),
        schemas.StartResponse,
        202,
    )
    assert "ignored_fields" not in without_ignored

    # Just started (queued or running): started_at / completed_at may be null.
    early = conforms(
        "GET",
        f"{jobs}/{{job_id}}",
        client.get(f"{jobs}/{without_ignored['job_id']}", headers=auth),
        schemas.JobDetail,
        200,
    )
    assert early["completed_at"] is None or early["status"] == "completed"
    cancel = client.post(f"{jobs}/{without_ignored['job_id']}/cancel", headers=auth)
    if cancel.status_code == 200:
        cancelled = conforms("POST", f"{jobs}/{{job_id}}/cancel", cancel, schemas.JobDetail, 200)
        assert cancelled["status"] == "cancelled"
    else:
        conforms("POST", f"{jobs}/{{job_id}}/cancel", cancel, schemas.ErrorBody, 409)

    done = wait_job(client, auth, started["job_id"])
    detail = conforms(
        "GET",
        f"{jobs}/{{job_id}}",
        client.get(f"{jobs}/{started['job_id']}", headers=auth),
        schemas.JobDetail,
        200,
    )
    assert detail == done
    assert detail["status"] == "completed"
    assert detail["errors"] and detail["warnings"]  # row errors and an alias warning
    assert detail["started_at"] and detail["completed_at"]
    conforms(
        "POST",
        f"{jobs}/{{job_id}}/cancel",
        client.post(f"{jobs}/{started['job_id']}/cancel", headers=auth),
        schemas.ErrorBody,
        409,
    )
    listed = conforms("GET", jobs, client.get(jobs, headers=auth), schemas.JobList, 200)
    assert {j["job_id"] for j in listed["jobs"]} == {
        started["job_id"],
        without_ignored["job_id"],
    }

    found = conforms(
        "GET",
        "/leads",
        client.get("/leads", headers=auth, params={"email": "jane@example.com"}),
        schemas.LeadList,
        200,
    )
    [lead] = found["leads"]
    conforms(
        "GET",
        "/leads/{lead_id}",
        client.get(f"/leads/{lead['lead_id']}", headers=auth),
        schemas.Lead,
        200,
    )
    history = "/leads/{lead_id}/history"
    conforms(
        "GET",
        history,
        client.get(f"/leads/{lead['lead_id']}/history", headers=auth),
        schemas.LeadHistory,
        200,
    )

    # Undo (after the lead reads: it deletes the leads the job created).
    undo = f"{jobs}/{{job_id}}/undo"
    undoing = conforms(
        "POST",
        undo,
        client.post(f"{jobs}/{started['job_id']}/undo", headers=auth),
        schemas.JobRef,
        202,
    )
    assert undoing == {"job_id": started["job_id"], "status": "undoing"}

    def undone() -> dict[str, Any] | None:
        r = client.get(f"{jobs}/{started['job_id']}", headers=auth)
        return r.json() if r.json()["status"] == "undone" else None

    wait_for(undone, 60, "the undo")
    reverted = conforms(
        "GET",
        f"{jobs}/{{job_id}}",
        client.get(f"{jobs}/{started['job_id']}", headers=auth),
        schemas.JobDetail,
        200,
    )
    assert reverted["undo_report"] is not None
    conforms(
        "POST",
        undo,
        client.post(f"{jobs}/{started['job_id']}/undo", headers=auth),
        schemas.ErrorBody,
        409,
    )
    conforms(
        "GET",
        "/leads/{lead_id}",
        client.get(f"/leads/{lead['lead_id']}", headers=auth),
        schemas.ErrorBody,
        404,
    )
    deleted = conforms(
        "GET",
        history,
        client.get(f"/leads/{lead['lead_id']}/history", headers=auth),
        schemas.LeadHistory,
        200,
    )
    assert deleted["events"][-1]["type"] == "LeadDeleted"

    conforms("GET", "/healthz", client.get("/healthz"), schemas.Health, 200)
    conforms("GET", "/readyz", client.get("/readyz"), schemas.Ready, 200)

    # Error bodies, one of each documented status.
    conforms("GET", jobs, client.get(jobs), schemas.ErrorBody, 401)
    conforms(
        "GET", jobs, client.get(jobs, headers=auth, params={"limit": 0}), schemas.ErrorBody, 400
    )
    conforms(
        "GET",
        f"{jobs}/{{job_id}}",
        client.get(f"{jobs}/job_missing", headers=auth),
        schemas.ErrorBody,
        404,
    )
    conforms(
        "POST",
        "/leads/import/preview",
        client.post(
            "/leads/import/preview",
            headers=auth,
            files={"file": ("leads.xlsx", b"PK\x03\x04", "application/zip")},
        ),
        schemas.ErrorBody,
        415,
    )
    conforms(
        "POST",
        "/leads/import/preview",
        client.post(
            "/leads/import/preview",
            headers={**auth, "Content-Length": str(11 * 1024 * 1024)},
            content=b"",
        ),
        schemas.ErrorBody,
        400,
    )


# --- inputs the fuzzer found (regressions) -------------------------------------------------------


def _multipart(filename: bytes) -> tuple[dict[str, str], bytes]:
    body = (
        b'--B0UND\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: text/csv\r\n\r\nEmail\njane@example.com\n\r\n--B0UND--\r\n'
    )
    return {"content-type": "multipart/form-data; boundary=B0UND"}, body


FOUND = [
    # int() of a 5,000-digit or a non-ASCII digit string raised ValueError: 500.
    pytest.param("GET", "/leads/import/jobs?page=" + "9" * 5000, {}, 400, id="page-5000-digits"),
    pytest.param("GET", "/leads/import/jobs?limit=%C2%B2", {}, 400, id="limit-superscript-two"),
    pytest.param("GET", "/leads/import/jobs?page=%D9%A1", {}, 400, id="page-arabic-indic-one"),
    # PostgreSQL text cannot hold NUL: the query raised DataError: 500.
    pytest.param("GET", "/leads/import/jobs/job_%00", {}, 404, id="job-id-with-nul"),
    pytest.param(
        "POST",
        "/leads/import/start",
        {
            "json": {
                "file_id": "preview_\x00",
                "primary_identifier": {"column": "E", "kind": "email"},
            }
        },
        400,
        id="file-id-with-nul",
    ),
    pytest.param(
        "POST", "/leads/import/preview", {"multipart": b"a\x00b.csv"}, 200, id="filename-with-nul"
    ),
    # 405 without the Allow header RFC 9110 requires.
    pytest.param("DELETE", "/leads/import/jobs", {}, 405, id="405-has-allow"),
]


@pytest.mark.parametrize(("method", "target", "kwargs", "status"), FOUND)
def test_inputs_found_by_fuzzing_are_answered_as_documented(
    client: TestClient,
    auth: dict[str, str],
    method: str,
    target: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    headers = dict(auth)
    if "multipart" in kwargs:
        extra, content = _multipart(kwargs.pop("multipart"))
        headers.update(extra)
        kwargs = {"content": content}
    r = client.request(method, target, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    if status == 405:
        assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
        return
    path = target.split("?", 1)[0].replace("job_%00", "{job_id}")
    model: type[BaseModel] = schemas.PreviewResponse if status == 200 else schemas.ErrorBody
    body = conforms(method, path, r, model, status)
    if status == 200:
        assert body["file_name"] == "ab.csv"


def test_timestamps_are_utc_whatever_the_servers_time_zone(
    database_url: str, kafka_bootstrap: str, auth: dict[str, str]
) -> None:
    sep = "&" if "?" in database_url else "?"
    url = f"{database_url}{sep}options=-c%20TimeZone%3DAsia/Kolkata"
    c = bootstrap.build(url, kafka_bootstrap)
    try:
        with TestClient(create_app(c)) as client:
            job_id = start(client, auth, upload(client, auth, "Email\na@b.com\n")["file_id"])[
                "job_id"
            ]
            r = client.get(f"/leads/import/jobs/{job_id}", headers=auth)
            conforms("GET", "/leads/import/jobs/{job_id}", r, schemas.JobDetail, 200)
    finally:
        c.close()


# --- the fuzz run --------------------------------------------------------------------------------


@dataclass
class Seed:
    """Real data of the fuzzed OU, for the hooks (filled by the ``fuzz_headers`` fixture)."""

    file_id: str = ""
    job_ids: list[str] = field(default_factory=list)  # finished, cancelled, unknown
    started: list[str] = field(default_factory=list)  # started by the fuzz run
    lead_ids: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    erasable: list[str] = field(default_factory=list)  # leads of their own for DELETE
    erasures: list[str] = field(default_factory=list)  # erasure ids (seeded, and the fuzzer's)


SEED = Seed()
SEEN: dict[str, set[int]] = {}  # "METHOD /path" -> statuses the fuzz run got


class LateApp:
    """The API app; the ``fuzz_app`` fixture attaches it once the session's services run."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the fuzz_app fixture attaches the app"
        await self.app(scope, receive, send)


APP = LateApp()
SCHEMA = schemathesis.openapi.from_dict(openapi_document(app_module.routes))
SCHEMA.app = APP


def _render_csv(rows: list[list[str]], delimiter: str, newline: str, encoding: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue().encode(encoding, errors="replace")


CELLS = st.text(max_size=12)
CSV_FILES = st.builds(
    _render_csv,
    st.lists(st.lists(CELLS, min_size=1, max_size=5), min_size=1, max_size=6),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)


def _real_start_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Start bodies for the seeded file: mostly valid, with a wrong part now and then."""

    def mostly(valid: list[str], wrong: list[str]) -> st.SearchStrategy[str]:
        return st.sampled_from(valid * 4 + wrong)

    columns = mostly(SEED_HEADERS, ["email", "EMAIL ", "Nope"])
    return st.fixed_dictionaries(
        {
            "file_id": st.just(SEED.file_id),
            "primary_identifier": st.fixed_dictionaries(
                {"column": columns, "kind": mostly(list(KINDS), ["EMAIL", " phone ", "fax"])}
            ),
        },
        optional={
            "field_mappings": st.dictionaries(
                columns, st.sampled_from(sorted(PROFILE_FIELDS)) | st.text(max_size=8), max_size=3
            ),
            "alias_mappings": st.dictionaries(
                columns, mostly(list(ALIAS_TARGETS), ["_alias_fax", "phone"]), max_size=2
            ),
            "default_country": mostly(["US", "gb", "DE"], ["XX", "", "USA"]),
        },
    )


@SCHEMA.hook
def before_generate_body(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    path = context.operation.path
    if path == "/leads/import/preview":
        return strategy | st.fixed_dictionaries({"file": CSV_FILES})
    if path == "/leads/import/start":
        return strategy | st.deferred(_real_start_bodies)
    return strategy


@SCHEMA.hook
def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    path = context.operation.path
    if "{job_id}" in path:
        # Read at draw time: the seeded jobs, and those the fuzzer started (see after_call).
        seeded = st.sampled_from(range(3)).map(lambda i: SEED.job_ids[i])
        started = st.integers(0, 1 << 16).map(
            lambda i: SEED.started[i % len(SEED.started)] if SEED.started else SEED.job_ids[0]
        )
        return strategy | st.fixed_dictionaries({"job_id": seeded | started})
    if "{lead_id}" in path and context.operation.method.upper() == "DELETE":
        # Leads of their own: an erasure of the seeded ones would leave GET nothing to find.
        return strategy | st.deferred(
            lambda: st.fixed_dictionaries({"lead_id": st.sampled_from(SEED.erasable)})
        )
    if "{lead_id}" in path:
        return strategy | st.deferred(
            lambda: st.fixed_dictionaries({"lead_id": st.sampled_from(SEED.lead_ids)})
        )
    if "{erasure_id}" in path:
        return strategy | st.integers(0, 1 << 16).map(
            lambda i: {"erasure_id": SEED.erasures[i % len(SEED.erasures)]}
        )
    return strategy


@SCHEMA.hook
def before_generate_query(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    if context.operation.path == "/leads":
        return strategy | st.deferred(
            lambda: st.fixed_dictionaries({"email": st.sampled_from(SEED.emails)})
        )
    return strategy


def cancelled_job(client: TestClient, auth: dict[str, str], file_id: str) -> str:
    """A job cancelled right after its start (cancel is idempotent: 200 again and again)."""
    for _ in range(5):
        job_id = start(client, auth, file_id)["job_id"]
        r = client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth)
        if r.status_code == 200:  # else 409: the workers finished it first; try again
            return str(job_id)
    raise AssertionError("could not cancel a job before it finished")


@pytest.fixture(scope="module")
def fuzz_app(container: Container) -> Iterator[Starlette]:
    APP.app = create_app(container)
    yield APP.app
    APP.app = None


@pytest.fixture(scope="module")
def fuzz_headers(container: Container, client: TestClient, workers: Workers) -> dict[str, str]:
    """A token of a fresh OU with leads, a previewed file, a finished job with row errors and
    warnings, and a cancelled one. The job that created the leads is not given to the fuzzer:
    an undo of it would delete them."""
    token = create_token(container.pool, f"ou-fuzz-{uuid.uuid4().hex[:8]}")
    auth = {"Authorization": f"Bearer {token}"}
    file_id = upload(client, auth, SEED_CSV)["file_id"]
    wait_job(client, auth, start(client, auth, file_id, **SEED_MAPPINGS)["job_id"])
    again = wait_job(client, auth, start(client, auth, file_id, **SEED_MAPPINGS)["job_id"])
    assert again["errors"] and again["updated_count"] == 2, again
    SEED.file_id = file_id
    SEED.job_ids = [
        again["job_id"],
        cancelled_job(client, auth, file_id),
        f"job_{uuid.uuid4().hex}",
    ]
    SEED.emails = ["jane@example.com", "john@example.com"]
    SEED.lead_ids = [lead_by(client, auth, email=e)[0]["lead_id"] for e in SEED.emails]
    erasable = ["erase.me@example.com", "erased@example.com"]
    wait_job(
        client,
        auth,
        start(client, auth, upload(client, auth, "Email\n" + "\n".join(erasable))["file_id"])[
            "job_id"
        ],
    )
    SEED.erasable = [lead_by(client, auth, email=e)[0]["lead_id"] for e in erasable]
    r = client.delete(f"/leads/{SEED.erasable.pop()}", headers=auth)
    assert r.status_code == 202, r.text
    SEED.erasures = [r.json()["erasure_id"]]
    return auth


@SCHEMA.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Remember the statuses seen, and the jobs the fuzzer started (for GET, cancel, undo)."""
    SEEN.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
    if case.path == "/leads/import/start" and response.status_code == 202:
        SEED.started.append(response.json()["job_id"])
    if case.method.upper() == "DELETE" and response.status_code == 202:
        SEED.erasures.append(response.json()["erasure_id"])


@SCHEMA.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(
    case: Any, fuzz_app: Starlette, fuzz_headers: dict[str, str]
) -> None:
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)


def test_the_fuzz_run_reached_the_success_answers() -> None:
    """The hooks keep the fuzzer past the 4xx answers: every operation answered 2xx at least
    once, and cancel also answered 409 (a finished job)."""
    if not SEEN:
        pytest.skip("the fuzz run did not run in this session")
    for method, path in sorted(document_routes()):
        statuses = SEEN.get(f"{method} {path}", set())
        assert any(200 <= s < 300 for s in statuses), (method, path, statuses)
    assert 409 in SEEN["POST /leads/import/jobs/{job_id}/cancel"]
