"""The bad-input corpus (tests/data/generate.py) through preview, start and the real workers.

Every file goes through ``POST /leads/import/preview`` in a fresh OU; a rejected file must
answer its status and error code with the JSON error body and leave nothing stored; an
accepted file is imported and its job must finish with exactly the expected counts, row errors
and warnings (and, where listed, leads holding exactly the expected fields).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from application.container import Container
from tests.data import generate
from tests.helpers import assert_error, lead_by, wait_job
from tests.services import Workers

PREVIEW = "/leads/import/preview"
START = "/leads/import/start"
JOB_KEYS = ("total_rows", "created_count", "updated_count", "failed_count", "errors")

# Corpus files whose expectation the product does not meet yet (see the report of issue 5):
# name -> (reason, run). A case that would kill the session's shared workers is not run.
KNOWN_BUGS: dict[str, tuple[str, bool]] = {}


def case_params() -> list[Any]:
    params = []
    for name in generate.case_names():
        marks = []
        if name in KNOWN_BUGS:
            reason, run = KNOWN_BUGS[name]
            marks.append(pytest.mark.xfail(strict=True, run=run, reason=reason))
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("corpus")
    generate.write_corpus(out)
    manifest: dict[str, Any] = json.loads((out / generate.MANIFEST).read_text("utf-8"))
    return out, manifest


def assert_alive(workers: Workers) -> None:
    """A file must never kill a worker (they are shared by the whole session)."""
    dead = {name: p.returncode for name, p in workers.procs.items() if p.poll() is not None}
    assert not dead, f"worker processes exited: {dead}"


def count(container: Container, table: str, ou: str) -> int:
    assert table in ("preview_files", "import_jobs")
    with container.pool.connection() as conn:
        row = conn.execute(f"SELECT count(*) AS n FROM {table} WHERE ou = %s", (ou,)).fetchone()
    assert row is not None
    return int(row["n"])


# --- the corpus itself -------------------------------------------------------------------------


def test_corpus_is_complete_and_deterministic(
    corpus: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, manifest = corpus
    written = sorted(p.name for p in out.iterdir() if p.name != generate.MANIFEST)
    assert written == sorted(manifest) == sorted(generate.case_names())
    assert len(written) >= 40
    for name, expect in manifest.items():
        assert expect["status"] in (200, 400, 413, 415), name
        if expect["status"] == 200:
            assert "start" in expect and ("job" in expect or "start_error" in expect), name
        else:
            assert isinstance(expect["code"], str), name
    again = tmp_path / "again"
    generate.write_corpus(again)
    for name in [*written, generate.MANIFEST]:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


# --- every file through the API ----------------------------------------------------------------


@pytest.mark.parametrize("name", case_params())
def test_corpus_file(
    name: str,
    corpus: tuple[Path, dict[str, Any]],
    client: TestClient,
    container: Container,
    make_auth: Callable[[str], dict[str, str]],
    workers: Workers,
) -> None:
    assert_alive(workers)
    out, manifest = corpus
    expect: dict[str, Any] = manifest[name]
    ou = f"corpus-{uuid.uuid4().hex[:12]}"
    auth = make_auth(ou)
    data = (out / name).read_bytes()
    upload_name = expect.get("upload_name", name)

    r = client.post(PREVIEW, headers=auth, files={"file": (upload_name, data, "text/csv")})

    if expect["status"] != 200:
        assert_error(r, expect["status"], expect["code"])
        assert count(container, "preview_files", ou) == 0, "a rejected file was stored"
        return
    assert r.status_code == 200, r.text[:2000]
    preview = r.json()
    assert preview["row_count"] == expect["row_count"]
    assert preview["file_name"] == expect.get("file_name", upload_name)
    if "headers" in expect:
        assert preview["headers"] == expect["headers"]
    if "sample_rows" in expect:
        assert preview["sample_rows"] == expect["sample_rows"]
    assert count(container, "preview_files", ou) == 1

    r = client.post(START, headers=auth, json={"file_id": preview["file_id"], **expect["start"]})
    if "start_error" in expect:
        assert_error(r, expect["start_error"]["status"], expect["start_error"]["code"])
        assert count(container, "import_jobs", ou) == 0, "a refused start created a job"
        return
    assert r.status_code == 202, r.text
    assert r.json()["total_rows"] == expect["job"]["total_rows"]

    job = wait_job(client, auth, r.json()["job_id"], timeout=60)
    assert_alive(workers)
    want = expect["job"]
    assert job["status"] == "completed", job
    assert {k: job[k] for k in JOB_KEYS} == {k: want[k] for k in JOB_KEYS}
    assert job["warnings"] == want.get("warnings", [])

    for item in expect.get("leads", []):
        leads = lead_by(client, auth, **item["lookup"])
        assert len(leads) == 1, (item["lookup"], leads)
        assert leads[0]["fields"] == item["fields"], item["lookup"]
