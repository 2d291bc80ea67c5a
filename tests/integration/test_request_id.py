"""Every response carries ``X-Request-ID``: the request's own when it is a sane token, else a new
one; error bodies carry the same id (api/middleware.py, api/errors.py)."""

from __future__ import annotations

import re
import uuid

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from api import errors
from api.middleware import ObservedApp
from tests.helpers import assert_error, import_csv

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_is_kept_on_every_kind_of_answer(
    client: TestClient, auth: dict[str, str]
) -> None:
    rid = f"trace-{uuid.uuid4().hex}:1.2_3"
    mine = {"X-Request-ID": rid}
    answers = {
        "json": client.get("/healthz", headers=mine),
        "page": client.get("/import", headers=mine),
        "static file": client.get("/static/swagger-ui/swagger-ui.css", headers=mine),
        "unknown path": client.get("/no/such/path", headers=mine),
        "wrong method": client.delete("/healthz", headers=mine),
        "no token": client.get("/leads/import/jobs", headers=mine),
        "unknown job": client.get(
            f"/leads/import/jobs/job_{uuid.uuid4().hex}", headers=auth | mine
        ),
    }
    assert {k: r.headers.get_list("x-request-id") for k, r in answers.items()} == {
        k: [rid] for k in answers
    }
    assert [answers[k].status_code for k in ("json", "page", "static file")] == [200, 200, 200]
    for name, status in (("unknown path", 404), ("wrong method", 405), ("no token", 401)):
        assert_error(answers[name], status)
        assert answers[name].json()["error"]["request_id"] == rid
    assert_error(answers["unknown job"], 404)
    assert answers["unknown job"].json()["error"]["request_id"] == rid


@pytest.mark.parametrize(
    "sent",
    [
        "",
        "a" * 129,
        "has space",
        "semi;colon",
        "new\tline",
        "ünïcode",
        '"quoted"',
        "<script>",
    ],
)
def test_an_insane_request_id_is_replaced_not_echoed(client: TestClient, sent: str) -> None:
    r = client.get("/no/such/path", headers={b"X-Request-ID": sent.encode()})
    [rid] = r.headers.get_list("x-request-id")
    assert GENERATED.fullmatch(rid)
    assert_error(r, 404)
    assert r.json()["error"]["request_id"] == rid


def test_without_one_each_request_gets_its_own(client: TestClient) -> None:
    ids = [client.get("/healthz").headers["x-request-id"] for _ in range(5)]
    assert all(GENERATED.fullmatch(i) for i in ids)
    assert len(set(ids)) == 5


def test_a_streamed_download_carries_it(
    client: TestClient, auth: dict[str, str], workers: object
) -> None:
    job = import_csv(client, auth, "Email\na@example.com\nnot-an-email\n")
    rid = "download-1"
    for name in ("results.csv", "errors.csv"):
        r = client.get(
            f"/leads/import/jobs/{job['job_id']}/{name}", headers=auth | {"X-Request-ID": rid}
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert r.headers.get_list("x-request-id") == [rid]
        assert "row" in r.text.splitlines()[0]


def test_a_server_error_carries_it_too() -> None:
    """An unhandled error becomes the JSON 500 of api/errors.py, with the id in both places."""

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app = ObservedApp(
        routes=[Route("/broken", broken)], exception_handlers={Exception: errors.server_error}
    )
    rid = uuid.uuid4().hex[:12]
    with TestClient(app, raise_server_exceptions=False) as tc:
        r = tc.get("/broken", headers={"X-Request-ID": rid})
    assert r.headers.get_list("x-request-id") == [rid]
    assert_error(r, 500, "internal_error")
    assert r.json()["error"]["request_id"] == rid
