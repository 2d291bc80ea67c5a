"""A lead's history over HTTP (``GET /leads/{lead_id}/history``) and on the command line
(``leadimport audit``): its events in order, with time, type, job, row and old → new values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.helpers import import_csv, lead_by
from tests.services import Workers

FIRST = (
    "Email,First Name,Company,Phone\n"
    "jane@example.com,Jane,Example Inc,(415) 555-2671\n"
    "john@example.com,John,Acme,\n"
)
SECOND = (
    "Email,First Name,Company,Cookie\n"
    "JANE@example.com,,Globex,ck-jane\n"  # company changes, a cookie alias is added
)
MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Company": "company"},
    "alias_mappings": {"Phone": "_alias_phone", "Cookie": "_alias_cookie"},
}


def run_audit(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LEADIMPORT_DATA_DIR": str(data_dir)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_history_and_audit_tell_what_each_row_changed(
    client: TestClient,
    workers: Workers,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    database_url: str,
    tmp_path: Path,
) -> None:
    ou = new_ou()
    auth = make_auth(ou)
    first = import_csv(client, auth, FIRST, **_only(FIRST))
    second = import_csv(client, auth, SECOND, **_only(SECOND))
    assert (first["status"], second["status"]) == ("completed", "completed")
    [jane] = lead_by(client, auth, email="jane@example.com")

    r = client.get(f"/leads/{jane['lead_id']}/history", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["lead_id"] == jane["lead_id"]
    events = body["events"]
    assert [(e["version"], e["type"], e["job_id"], e["row"]) for e in events] == [
        (1, "LeadCreated", first["job_id"], 2),
        (2, "LeadProfileUpdated", second["job_id"], 2),
        (3, "LeadAliasAdded", second["job_id"], 2),
    ]
    assert events[0]["changes"] == [
        {"field": "first_name", "old": None, "new": "Jane"},
        {"field": "company", "old": None, "new": "Example Inc"},
        {"identifier": "email", "old": None, "new": "jane@example.com"},
        {"identifier": "phone", "old": None, "new": "+14155552671"},
    ]
    assert events[1]["changes"] == [{"field": "company", "old": "Example Inc", "new": "Globex"}]
    assert events[2]["changes"] == [{"identifier": "cookie", "old": None, "new": "ck-jane"}]
    times = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert times == sorted(times)
    assert events[0]["occurred_at"] == jane["created_at"]
    assert events[-1]["occurred_at"] == jane["updated_at"]

    # The audit command finds the lead by any of its identifiers and prints the same history.
    for args in (
        ["--email", " Jane@Example.com "],
        ["--phone", "+1 415 555 2671"],
        ["--cookie", "ck-jane"],
    ):
        done = run_audit(database_url, tmp_path, *args, "--ou", ou)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == body
    missing = run_audit(database_url, tmp_path, "--email", "nobody@example.com", "--ou", ou)
    assert missing.returncode == 1
    assert "nobody@example.com" in missing.stderr
    # Another OU, even with the same identifier, is not this lead's.
    other = run_audit(database_url, tmp_path, "--email", "jane@example.com", "--ou", new_ou())
    assert other.returncode == 1
    invalid = run_audit(database_url, tmp_path, "--email", "not-an-email", "--ou", ou)
    assert invalid.returncode == 1
    assert "Invalid email format" in invalid.stderr


def _only(content: str) -> dict[str, Any]:
    """The mappings of the columns this file has."""
    header = content.splitlines()[0].split(",")
    return {
        kind: {col: target for col, target in mapping.items() if col in header}
        for kind, mapping in MAPPINGS.items()
    }


def test_history_of_a_foreign_or_unknown_lead_is_404(
    client: TestClient,
    workers: Workers,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    auth = make_auth(new_ou())
    job = import_csv(client, auth, "Email\nsolo@example.com\n")
    [lead] = lead_by(client, auth, email="solo@example.com")
    assert client.get(f"/leads/{lead['lead_id']}/history", headers=auth).status_code == 200

    other = make_auth(new_ou())
    for path, headers in (
        (f"/leads/{lead['lead_id']}/history", other),
        (f"/leads/{uuid.uuid4()}/history", auth),
        ("/leads/not-a-uuid/history", auth),
        (f"/leads/{job['job_id'].removeprefix('job_')}/history", auth),  # a job, not a lead
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    assert client.get(f"/leads/{lead['lead_id']}/history").status_code == 401
