"""``leadimport replay`` rebuilds every projection from the events alone, identically.

Other tests share the database (and the shared workers keep applying their rows), while a replay
rebuilds every OU: so each test compares only the rows and answers of its own fresh OU, after its
own jobs finished. Columns that no event carries (``OPERATIONAL_COLUMNS``) are left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Notification, StoredEvent
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from starlette.testclient import TestClient

from adapters import postgres as db
from adapters.eventstore import create_event_store_tables, open_event_store
from adapters.tokens import create_token
from application import jobs
from application.container import Container
from domain.import_job import ImportJob
from domain.lead import Lead
from projections import replay as replay_module
from projections import swap as swap_module
from projections.replay import (
    OPERATIONAL_COLUMNS,
    TABLES,
    ReplayReport,
    UnknownEvent,
    describe_table,
    replay,
)
from tests.helpers import assert_error, big_csv, import_csv, start, upload, wait_for, wait_job
from tests.services import Workers

FIRST_IMPORT = (
    "Email,First Name,Company,Phone,Alt Email\n"
    "ann@example.com,Ann,Acme,+1 415 555 0101,ann.alt@example.com\n"
    "bob@example.com,Bob,Beta,+1 415 555 0102,\n"
    "not-an-email,X,,,\n"
    ",Nobody,,,\n"
    "cy@example.com,Cy,Gamma,+1 415 555 0101,\n"  # Ann's phone: a warning
    "dee@example.com,Dee,,phone: none!,\n"  # an invalid alias: a warning
    "ann@example.com,Annie,,,\n"  # the same file updates its own lead
)
FIRST_MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Company": "company"},
    "alias_mappings": {"Phone": "_alias_phone", "Alt Email": "_alias_email"},
}
SECOND_IMPORT = (
    "Email,First Name,Company,Cookie\n"
    "bob@example.com,Robert,Beta Two,ck-1\n"
    "eve@example.com,Eve,,ck-2\n"
    "ann@example.com,,Acme,\n"  # changes nothing: still an update
    "bad@@example.com,,,\n"
)
SECOND_MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name", "Company": "company"},
    "alias_mappings": {"Cookie": "_alias_cookie"},
}
# Imported in each mode, some as dry runs, after FIRST_IMPORT (FIRST_MAPPINGS).
MODES_IMPORT = (
    "Email,First Name,Company,Phone,Alt Email\n"
    "ann@example.com,Ann M,,,\n"  # exists: create_only skips it, naming Ann's lead
    "zed@example.com,Zed,,+1 415 555 0101,zed.alt@example.com\n"  # Ann's phone: a warning
)
MODES_RUNS = (
    ("upsert", True),
    ("create_only", False),
    ("update_only", True),
    ("update_only", False),
)


def rows_csv(prefix: str, n: int) -> str:
    return "Email,First Name\n" + "".join(f"{prefix}{i}@example.com,N{i}\n" for i in range(n))


@dataclass
class Seeded:
    ou: str
    auth: dict[str, str]
    job_ids: list[str]


@pytest.fixture(scope="module")
def seeded(
    client: TestClient,
    container: Container,
    workers: Workers,
) -> Seeded:
    """A fresh OU with every kind of job: completed (creates, updates, failures, warnings),
    cancelled mid-run, failed, and undone; all finished."""
    ou = f"ou-replay-{uuid.uuid4().hex[:10]}"
    auth = {"Authorization": f"Bearer {create_token(container.pool, ou)}"}
    first = import_csv(client, auth, FIRST_IMPORT, **FIRST_MAPPINGS)
    assert first["status"] == "completed"
    assert first["errors"] and first["warnings"], first
    second = import_csv(client, auth, SECOND_IMPORT, **SECOND_MAPPINGS)
    assert second["status"] == "completed"

    running = start(client, auth, upload(client, auth, rows_csv("c", 5000))["file_id"])["job_id"]
    cancel = client.post(f"/leads/import/jobs/{running}/cancel", headers=auth)
    assert cancel.status_code == 200, cancel.text
    # Rows of the cancelled job still in the topics are dropped: wait until the pipeline moved
    # past them (the importer handles job requests in order; 200 rows reach every partition).
    after = import_csv(client, auth, rows_csv("after", 200))
    assert after["status"] == "completed"
    # Skipped rows, and dry runs: their rows are counted and listed but change no lead.
    modes = [
        import_csv(client, auth, MODES_IMPORT, mode=mode, dry_run=dry, **FIRST_MAPPINGS)
        for mode, dry in MODES_RUNS
    ]
    assert [m["status"] for m in modes] == ["completed"] * len(MODES_RUNS)
    assert modes[1]["skipped_count"] == 1 and modes[0]["warnings_total"] == 1

    failed = ImportJob(
        ou=ou,
        file_id="preview_gone",
        file_name="gone.csv",
        total_rows=3,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    jobs.save_job(container, failed)  # as the importer does when the file is gone
    failed.fail("The uploaded file is no longer available.")
    jobs.save_job(container, failed)

    undo = client.post(f"/leads/import/jobs/{second['job_id']}/undo", headers=auth)
    assert undo.status_code == 202, undo.text
    wait_for(
        lambda: (
            client.get(f"/leads/import/jobs/{second['job_id']}", headers=auth).json()["status"]
            == "undone"
        ),
        120,
        "the undo of the second import",
    )
    job_ids = [first["job_id"], second["job_id"], running, after["job_id"], failed.job_id]
    job_ids += [m["job_id"] for m in modes]
    return Seeded(ou, auth, job_ids)


# --- what is compared ------------------------------------------------------------------------


def api_answers(client: TestClient, auth: dict[str, str], lead_ids: list[str]) -> dict[str, Any]:
    """Every GET answer of an OU: job list pages, job details, leads by id and by identifier."""
    answers: dict[str, Any] = {}
    jobs: list[str] = []
    page = 1
    while True:
        r = client.get("/leads/import/jobs", headers=auth, params={"page": page, "limit": 100})
        answers[f"jobs page {page}"] = (r.status_code, r.json())
        jobs += [j["job_id"] for j in r.json()["jobs"]]
        if page * 100 >= r.json()["total"]:
            break
        page += 1
    for job_id in jobs:
        r = client.get(f"/leads/import/jobs/{job_id}", headers=auth)
        answers[f"job {job_id}"] = (r.status_code, r.json())
    for lead_id in lead_ids:
        r = client.get(f"/leads/{lead_id}", headers=auth)
        if r.status_code != 200:  # an error: compared without its request id (one per request)
            answers[f"lead {lead_id}"] = (r.status_code, assert_error(r, r.status_code))
            continue
        answers[f"lead {lead_id}"] = (r.status_code, r.json())
        for kind, values in r.json()["identifiers"].items():
            for value in values:
                found = client.get("/leads", headers=auth, params={kind: value})
                answers[f"find {kind}={value}"] = (found.status_code, found.json())
    return answers


def lead_ids_of(conn: psycopg.Connection[Any], ou: str) -> list[str]:
    """The OU's leads: in the read model, or created by one of its rows (deleted ones too)."""
    rows = conn.execute(
        "SELECT lead_id FROM leads_view WHERE ou = %(ou)s UNION SELECT o.lead_id"
        " FROM row_outcomes o JOIN import_jobs j USING (job_id)"
        " WHERE j.ou = %(ou)s AND o.lead_id IS NOT NULL ORDER BY 1",
        {"ou": ou},
    ).fetchall()
    return [str(r["lead_id"]) for r in rows]


def table_rows(conn: psycopg.Connection[Any], ou: str) -> dict[str, list[dict[str, Any]]]:
    """Every projection row of the OU, in key order, without the operational columns."""
    queries = {
        "import_jobs": "SELECT * FROM import_jobs WHERE ou = %(ou)s ORDER BY job_id",
        "row_outcomes": "SELECT o.* FROM row_outcomes o JOIN import_jobs j USING (job_id)"
        " WHERE j.ou = %(ou)s ORDER BY o.job_id, o.row",
        "job_warnings": "SELECT w.* FROM job_warnings w JOIN import_jobs j USING (job_id)"
        " WHERE j.ou = %(ou)s ORDER BY w.job_id, w.row, w.seq",
        "lead_identifiers": "SELECT * FROM lead_identifiers WHERE ou = %(ou)s ORDER BY kind, value",
        "leads_view": "SELECT * FROM leads_view WHERE ou = %(ou)s ORDER BY lead_id",
    }
    assert set(queries) == set(TABLES)
    out = {}
    for table, query in queries.items():
        skip = OPERATIONAL_COLUMNS.get(table, ())
        out[table] = [
            {k: v for k, v in r.items() if k not in skip}
            for r in conn.execute(query, {"ou": ou}).fetchall()
        ]
    return out


def catalog(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    return {table: describe_table(conn, "public", table) for table in TABLES}


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as c:
        yield c


# --- tests -----------------------------------------------------------------------------------


def test_replay_rebuilds_identical_projections(
    seeded: Seeded,
    client: TestClient,
    container: Container,
    conn: psycopg.Connection[Any],
    database_url: str,
) -> None:
    lead_ids = lead_ids_of(conn, seeded.ou)
    before_answers = api_answers(client, seeded.auth, lead_ids)
    before_rows = table_rows(conn, seeded.ou)
    before_catalog = catalog(conn)
    # The seed covers what the projections hold: every job state, errors, warnings, leads with
    # aliases, a deleted lead (404) and a lead whose profile went back.
    statuses = {r["status"] for r in before_rows["import_jobs"]}
    assert statuses == {"completed", "cancelled", "failed", "undone"}
    assert before_rows["job_warnings"] and before_rows["lead_identifiers"]
    assert any(status == 404 for status, _ in before_answers.values())
    assert len(before_rows["import_jobs"]) == len(seeded.job_ids)
    outcomes = {r["outcome"] for r in before_rows["row_outcomes"]}
    assert outcomes == {"created", "updated", "failed", "skipped"}
    assert any(j["dry_run"] for j in before_rows["import_jobs"])

    report = replay(container.store, database_url)

    assert isinstance(report, ReplayReport)
    assert report.events > 0 and report.swap_attempts >= 1
    assert table_rows(conn, seeded.ou) == before_rows
    assert api_answers(client, seeded.auth, lead_ids) == before_answers
    # Same columns, keys, indexes and constraints, and the next migrate() changes nothing.
    assert catalog(conn) == before_catalog
    db.migrate(database_url)
    assert catalog(conn) == before_catalog
    leftovers = conn.execute(
        "SELECT count(*) AS n FROM pg_namespace WHERE nspname = %s",
        (replay_module.SHADOW_SCHEMA,),
    ).fetchone()
    assert leftovers == {"n": 0}
    # last_progress_at is derived from the events: the latest event of the job.
    job_rows = conn.execute(
        "SELECT last_progress_at, created_at, completed_at FROM import_jobs WHERE ou = %s",
        (seeded.ou,),
    ).fetchall()
    assert all(j["last_progress_at"] >= j["created_at"] for j in job_rows)


def test_replay_command_rebuilds_from_the_events_alone(
    seeded: Seeded, conn: psycopg.Connection[Any], database_url: str, tmp_path: Path
) -> None:
    """A database that holds nothing but the OU's events (and the keys their personal data is
    sealed with: adapters/sealing.py): ``leadimport replay`` creates the projection tables and
    fills them with what the live database holds for that OU."""
    name = f"leadimport_replay_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(database_url, dbname=name)
    try:
        create_event_store_tables(url)
        copied = copy_events_of_ou(conn, url, seeded.ou)
        assert copied > 0
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "LEADIMPORT_DATA_DIR": str(tmp_path),
            "LOG_LEVEL": "INFO",
        }
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        done = subprocess.run(
            [sys.executable, "-m", "runtime.cli", "replay"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert f"{copied} events" in done.stdout
        with psycopg.connect(url, row_factory=dict_row) as fresh:
            assert table_rows(fresh, seeded.ou) == table_rows(conn, seeded.ou)
            assert catalog(fresh) == catalog(conn)
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_keys(conn: psycopg.Connection[Any], url: str, ou: str) -> None:
    """The keys of the OU's leads and of its jobs' ledger values, into tables made as the schema
    makes them (the replay's migration leaves tables that exist as they are)."""
    leads = conn.execute(
        "SELECT k.lead_id, k.key FROM lead_keys k JOIN leadimport_events e"
        " ON e.originator_id = k.lead_id AND e.originator_version = 1"
        " WHERE convert_from(e.state, 'UTF8')::jsonb ->> 'ou' = %s",
        (ou,),
    ).fetchall()
    values = conn.execute(
        "SELECT v.job_id, v.row, v.seq, v.key FROM value_keys v"
        " JOIN import_jobs j ON j.job_id = v.job_id WHERE j.ou = %s",
        (ou,),
    ).fetchall()
    with psycopg.connect(url, autocommit=True) as fresh:
        fresh.execute("CREATE TABLE lead_keys (lead_id uuid PRIMARY KEY, key bytea NOT NULL)")
        fresh.execute(
            "CREATE TABLE value_keys (job_id text NOT NULL, row integer NOT NULL,"
            " seq integer NOT NULL, key bytea NOT NULL, PRIMARY KEY (job_id, row, seq))"
        )
        with fresh.cursor() as curs:
            curs.executemany(
                "INSERT INTO lead_keys VALUES (%s, %s)", [(r["lead_id"], r["key"]) for r in leads]
            )
            curs.executemany(
                "INSERT INTO value_keys VALUES (%s, %s, %s, %s)",
                [(r["job_id"], r["row"], r["seq"], r["key"]) for r in values],
            )


def copy_events_of_ou(conn: psycopg.Connection[Any], url: str, ou: str) -> int:
    """Store the OU's events (those of every aggregate created for the OU) in the database at
    ``url``, in their order of the log."""
    rows = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM leadimport_events"
        " WHERE originator_id IN (SELECT originator_id FROM leadimport_events"
        "  WHERE originator_version = 1"
        "  AND convert_from(state, 'UTF8')::jsonb ->> 'ou' = %s)"
        " ORDER BY notification_id",
        (ou,),
    ).fetchall()
    copy_keys(conn, url, ou)
    store = open_event_store(url, pool_size=1)
    try:
        for i in range(0, len(rows), 1000):
            store.recorder.insert_events(
                [
                    StoredEvent(
                        r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
                    )
                    for r in rows[i : i + 1000]
                ]
            )
    finally:
        store.close()
    return len(rows)


def test_the_api_answers_during_a_rebuild_while_workers_write(
    seeded: Seeded,
    client: TestClient,
    container: Container,
    conn: psycopg.Connection[Any],
    database_url: str,
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    """A replay while a large import is being applied: every GET answers 200 (the finished OU
    exactly as before), the import completes with every row counted once, and a second replay,
    once it is done, changes nothing: the first swap lost no write committed during it."""
    lead_ids = lead_ids_of(conn, seeded.ou)
    expected = api_answers(client, seeded.auth, lead_ids)
    busy_ou = f"ou-replay-busy-{uuid.uuid4().hex[:8]}"
    busy = make_auth(busy_ou)
    rows = 20_000
    content = big_csv(rows, seed=11, prefix="big")
    mappings: dict[str, Any] = {
        "field_mappings": {"First Name": "first_name"},
        "alias_mappings": {"Phone": "_alias_phone"},
    }
    job_id = start(client, busy, upload(client, busy, content)["file_id"], **mappings)["job_id"]

    def detail() -> dict[str, Any]:
        body: dict[str, Any] = client.get(f"/leads/import/jobs/{job_id}", headers=busy).json()
        return body

    wait_for(lambda: detail()["created_count"] > 0, 120, "the first rows of the big import")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = replay(container.store, database_url)
        except Exception as e:  # reported by the assertion below
            outcome["error"] = e

    thread = threading.Thread(target=run)
    at_start = detail()
    thread.start()
    during = 0
    while thread.is_alive():
        for path, (status, body) in api_answers(client, seeded.auth, lead_ids[:5]).items():
            assert (status, body) == expected[path], path
        r = client.get(f"/leads/import/jobs/{job_id}", headers=busy)
        assert r.status_code == 200
        during += 1
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    report: ReplayReport = outcome["report"]
    assert during >= 1
    assert at_start["status"] == "in_progress"

    done = wait_job(client, busy, job_id, timeout=300)
    assert done["status"] == "completed"
    counted = done["created_count"] + done["updated_count"] + done["failed_count"]
    assert counted == done["total_rows"] == rows
    emails = {line.split(",")[0] for line in content.splitlines()[1:]}
    assert done["created_count"] == len(emails)
    applied = conn.execute(
        "SELECT count(*) AS n FROM row_outcomes WHERE job_id = %s", (job_id,)
    ).fetchone()
    assert applied == {"n": rows}
    assert api_answers(client, seeded.auth, lead_ids) == expected

    before = table_rows(conn, busy_ou)
    again = replay(container.store, database_url)
    assert again.position >= report.position
    assert table_rows(conn, busy_ou) == before


class LeadMerged(Lead.Event):
    """An event type the replay was never taught (as if added to the domain later)."""

    into: str


@pytest.mark.parametrize("kind", ["unknown class", "unresolvable topic"])
def test_an_unknown_event_type_stops_the_replay_before_the_swap(
    kind: str, container: Container, conn: psycopg.Connection[Any], database_url: str
) -> None:
    """An event the replay does not know fails loudly, and the live tables stay as they are."""
    merged = LeadMerged(
        originator_id=uuid.uuid4(),
        originator_version=2,
        timestamp=LeadMerged.create_timestamp(),
        into="x",  # type: ignore[call-arg]
    )
    stored = container.store.mapper.to_stored_event(merged)
    if kind == "unresolvable topic":
        stored = StoredEvent(stored.originator_id, 2, "domain.lead:Lead.LeadSplit", stored.state)
    before, oids = catalog(conn), _table_oids(conn)
    recorder: Any = container.store.recorder
    original = recorder.select_notifications

    def with_unknown(start: int | None, limit: int, *args: Any, **kwargs: Any) -> Any:
        # Not stored (it would stay in the log for good): the replay reads it first.
        page = list(original(start, limit, *args, **kwargs))
        if not start:
            page.insert(0, Notification(id=0, **vars(stored)))
        return page

    recorder.select_notifications = with_unknown
    try:
        with pytest.raises(UnknownEvent, match=r"(:LeadMerged|Lead\.LeadSplit)' event"):
            replay(container.store, database_url)
    finally:
        del recorder.select_notifications
    assert _table_oids(conn) == oids
    assert catalog(conn) == before


def _table_oids(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    return {t: conn.execute("SELECT %s::regclass::oid AS oid", (t,)).fetchone() for t in TABLES}


def test_the_swap_gives_way_to_a_long_transaction_and_retries(
    container: Container, conn: psycopg.Connection[Any], database_url: str, monkeypatch: Any
) -> None:
    """A transaction holds a projection table longer than the swap's lock timeout: the swap
    gives way (readers do not queue behind it for long), catches up, retries, and succeeds once
    the transaction ended."""
    monkeypatch.setattr(swap_module, "SWAP_LOCK_TIMEOUT", "200ms")
    blocker = psycopg.connect(database_url)
    blocker.execute("SELECT count(*) FROM leads_view")  # ACCESS SHARE until the transaction ends
    gave_way = threading.Event()
    forget = replay_module.Rebuild.forget_uncommitted

    def forget_and_tell(self: Any) -> None:
        gave_way.set()
        forget(self)

    monkeypatch.setattr(replay_module.Rebuild, "forget_uncommitted", forget_and_tell)

    def release_when_it_gave_way() -> None:
        gave_way.wait(300)
        blocker.rollback()

    release = threading.Thread(target=release_when_it_gave_way)
    release.start()
    try:
        report = replay(container.store, database_url)
    finally:
        gave_way.set()
        release.join()
        blocker.close()
    assert report.swap_attempts >= 2
