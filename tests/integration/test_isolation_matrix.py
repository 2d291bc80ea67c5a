"""Isolation matrix over the route table of ``api.app.routes`` (new routes are covered as they
are added): every ``/leads...`` route answers 401 with the JSON error body to a missing,
malformed or unknown token, and every route that names a resource of OU A (a job, a lead, a
previewed file) answers 404 to OU B, exactly as for an id that does not exist, changing nothing.

``test_auth_and_scope.py`` covers the token forms in detail on a fixed list of endpoints; this
module is the exhaustive cross product.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from adapters.tokens import create_token
from api import app as app_module
from application.container import Container
from tests.helpers import assert_error, import_csv, lead_by, start, upload
from tests.services import Workers

# Also public: the pages (api/web.py), static HTML whose data comes from the API with the token
# the person types in; their files are mounted under /static (not routes of this table); and
# /metrics, scraped by Prometheus, which carries no OU's data (docs/operations.md, "Metrics").
PUBLIC_PATHS = {"/healthz", "/readyz", "/openapi.json", "/metrics", "/", "/import", "/docs"}
CSV = "Email,Name\njane@example.com,Jane\njohn@example.com,John\n"


def route_table() -> list[tuple[str, str]]:
    """(method, path template) of every route, HEAD excluded (Starlette adds it to GET)."""
    return sorted(
        (method, route.path)
        for route in app_module.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    )


PROTECTED = [(m, p) for m, p in route_table() if p not in PUBLIC_PATHS]
# Routes naming a resource: path parameters, or the file_id in the body of start.
WITH_IDS = [(m, p) for m, p in PROTECTED if "{" in p] + [("POST", "/leads/import/start")]

BAD_CREDENTIALS = [
    pytest.param({}, id="no-token"),
    pytest.param({"Authorization": "Bearer"}, id="malformed-bearer-without-token"),
    pytest.param({"Authorization": "li_" + secrets.token_urlsafe(32)}, id="malformed-no-scheme"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, id="malformed-basic"),
    pytest.param({"Authorization": f"Bearer li_{secrets.token_urlsafe(32)}"}, id="unknown-token"),
]


@dataclass(frozen=True)
class Resources:
    """Ids that fill a route's path parameters, and the file_id for start."""

    file_id: str
    job_id: str
    lead_id: str
    erasure_id: str = "erasure_" + "0" * 32

    def path(self, template: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1).split(":", 1)[0]
            assert hasattr(self, name), (
                f"route {template}: no resource for path parameter {name!r}; "
                "add one to Resources in this test"
            )
            return str(getattr(self, name))

        return re.sub(r"\{([^}]+)\}", fill, template)


MISSING = Resources(
    file_id="preview_" + secrets.token_urlsafe(18),
    job_id=f"job_{uuid.uuid4().hex}",
    lead_id=str(uuid.uuid4()),
    erasure_id=f"erasure_{uuid.uuid4().hex}",
)


def call(
    client: TestClient, method: str, template: str, headers: dict[str, str], ids: Resources
) -> Any:
    """One request that would succeed for the owner of ``ids`` (bodies where a route needs one)."""
    path = ids.path(template)
    if template == "/leads/import/preview":
        files = {"file": ("leads.csv", CSV.encode(), "text/csv")}
        return client.post(path, headers=headers, files=files)
    if template == "/leads/import/start":
        body = {"file_id": ids.file_id, "primary_identifier": {"column": "Email", "kind": "email"}}
        return client.post(path, headers=headers, json=body)
    if template == "/leads":
        return client.get(path, headers=headers, params={"email": "jane@example.com"})
    return client.request(method, path, headers=headers)


def test_the_route_table_is_what_this_matrix_expects() -> None:
    # Guards the parametrization itself: new routes join automatically, none silently vanish.
    assert {
        ("POST", "/leads/import/preview"),
        ("POST", "/leads/import/start"),
        ("GET", "/leads/import/jobs"),
        ("GET", "/leads/import/jobs/{job_id}"),
        ("GET", "/leads"),
        ("GET", "/leads/{lead_id}"),
    } <= set(PROTECTED)
    assert {p for _, p in route_table()} - {p for _, p in PROTECTED} == PUBLIC_PATHS
    assert all(p.startswith("/leads") for _, p in PROTECTED)


@pytest.mark.parametrize(
    ("method", "template"), [pytest.param(*r, id=" ".join(r)) for r in PROTECTED]
)
@pytest.mark.parametrize("headers", BAD_CREDENTIALS)
def test_every_leads_route_answers_401_without_a_valid_token(
    client: TestClient, method: str, template: str, headers: dict[str, str]
) -> None:
    r = call(client, method, template, headers, MISSING)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].lower().startswith("bearer")


# --- two OUs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    owner: dict[str, str]
    stranger: dict[str, str]
    mine: Resources  # the owner's: a preview, a finished job and one of its leads
    queued_job_id: str  # the owner's second job, started without waiting


@pytest.fixture(scope="module")
def world(client: TestClient, container: Container, workers: Workers) -> World:
    def token() -> dict[str, str]:
        ou = f"ou-{uuid.uuid4().hex[:12]}"
        return {"Authorization": f"Bearer {create_token(container.pool, ou)}"}

    owner, stranger = token(), token()
    job = import_csv(client, owner, CSV, field_mappings={"Name": "first_name"})
    assert (job["status"], job["created_count"]) == ("completed", 2), job
    [jane] = lead_by(client, owner, email="jane@example.com")
    [john] = lead_by(client, owner, email="john@example.com")
    erased = client.delete(f"/leads/{john['lead_id']}", headers=owner)  # an erasure request
    assert erased.status_code == 202, erased.text
    file_id = upload(client, owner, CSV)["file_id"]
    queued = start(client, owner, upload(client, owner, CSV)["file_id"])["job_id"]
    # The stranger has data of its own: the 404s are not about an empty OU.
    import_csv(client, stranger, "Email\nsomeone@example.com\n")
    return World(
        owner=owner,
        stranger=stranger,
        mine=Resources(
            file_id=file_id,
            job_id=job["job_id"],
            lead_id=jane["lead_id"],
            erasure_id=erased.json()["erasure_id"],
        ),
        queued_job_id=queued,
    )


def owner_view(client: TestClient, world: World) -> dict[str, Any]:
    """What the owner sees of its resources (to prove the stranger changed nothing)."""
    jobs = "/leads/import/jobs"
    listing = client.get(jobs, headers=world.owner).json()
    return {
        "job": client.get(f"{jobs}/{world.mine.job_id}", headers=world.owner).json(),
        "lead": client.get(f"/leads/{world.mine.lead_id}", headers=world.owner).json(),
        "jobs": sorted(j["job_id"] for j in listing["jobs"]),
        "second job stopped": client.get(
            f"{jobs}/{world.queued_job_id}", headers=world.owner
        ).json()["status"]
        in ("cancelled", "undoing", "undone"),
    }


@pytest.mark.parametrize(
    ("method", "template"), [pytest.param(*r, id=" ".join(r)) for r in WITH_IDS]
)
def test_another_ous_ids_are_404_like_missing_ones(
    client: TestClient, world: World, method: str, template: str
) -> None:
    before = owner_view(client, world)
    foreign = assert_error(
        call(client, method, template, world.stranger, world.mine), 404, "not_found"
    )
    missing = assert_error(
        call(client, method, template, world.stranger, MISSING), 404, "not_found"
    )
    # Nothing in the message tells a foreign id from one that does not exist.
    for ids, error in ((world.mine, foreign), (MISSING, missing)):
        for value in (ids.file_id, ids.job_id, ids.lead_id, ids.erasure_id):
            error["message"] = error["message"].replace(value, "ID")
    assert foreign == missing
    if "{job_id}" in template:  # the owner's job that may still be queued or running, too
        queued = Resources(world.mine.file_id, world.queued_job_id, world.mine.lead_id)
        assert_error(call(client, method, template, world.stranger, queued), 404, "not_found")
    assert owner_view(client, world) == before

    # The owner's own request still works (the 404 is about the OU, not the id).
    mine = call(client, "GET", "/leads/import/jobs/{job_id}", world.owner, world.mine)
    assert mine.status_code == 200


def test_another_ous_lists_and_lookups_are_empty(client: TestClient, world: World) -> None:
    listing = client.get("/leads/import/jobs", headers=world.stranger).json()
    assert world.mine.job_id not in {j["job_id"] for j in listing["jobs"]}
    assert world.queued_job_id not in {j["job_id"] for j in listing["jobs"]}
    assert lead_by(client, world.stranger, email="jane@example.com") == []
    assert lead_by(client, world.owner, email="jane@example.com")[0]["lead_id"] == (
        world.mine.lead_id
    )
