"""A lead hit by thousands of rows (a shared inbox, a switchboard used as the primary): the lead
workers keep it cached between batches and snapshot it, concurrent imports and an undo append
to it too, and its history is read a page at a time.

Every expectation is computed independently of the code under test: the fields from the files,
the history from all the lead's events through ``domain.history.lead_history``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError
from starlette.testclient import TestClient

from adapters.eventstore import SNAPSHOTS_TABLE, AggregateCache
from application import applying
from application.container import Container
from domain.history import fold, lead_history
from domain.lead import Lead
from domain.rows import Identifier, RowImported
from tests.e2e.test_history import run_audit
from tests.helpers import assert_error, import_csv, lead_by, start, upload, wait_for, wait_job
from tests.services import Workers

COMPANIES = ("Acme", "Globex")
CITIES = ("Paris", "Oslo")
PHONE = "+14155550100"


def by_email(rows: int) -> str:
    """``rows`` rows of hot@example.com, the company going back and forth."""
    lines = ["Email,Company"] + [f"hot@example.com,{COMPANIES[i % 2]}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def by_phone(rows: int) -> str:
    """``rows`` rows of the same lead by its phone, the city going back and forth."""
    lines = ["Phone,City"] + [f"+1 415 555 0100,{CITIES[i % 2]}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def events_of(container: Container, lead_id: str) -> list[Any]:
    return list(container.store.events.get(UUID(lead_id)))


def rendered(entries: list[Any]) -> list[dict[str, Any]]:
    """History entries as the API renders them (timestamps in whole seconds, UTC)."""
    return [
        {**e, "occurred_at": e["occurred_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for e in entries
    ]


def walk_history(
    client: TestClient, auth: dict[str, str], lead_id: str, limit: int
) -> list[dict[str, Any]]:
    """Every page of the lead's history from the first, checking each page's bounds."""
    entries: list[dict[str, Any]] = []
    params: dict[str, int] = {"limit": limit}
    while True:
        r = client.get(f"/leads/{lead_id}/history", headers=auth, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["lead_id"] == lead_id
        assert 1 <= len(body["events"]) <= limit or (not entries and not body["events"])
        entries += body["events"]
        if body["next_after"] is None:
            return entries
        assert body["next_after"] == body["events"][-1]["version"]
        params = {"limit": limit, "after": body["next_after"]}


def assert_consistent(
    client: TestClient, auth: dict[str, str], container: Container, lead_id: str
) -> list[Any]:
    """The lead's events are versions 1..n; its read model is their fold; every page size walks
    the same history, which is the oracle's; each stored snapshot is the fold up to it."""
    events = events_of(container, lead_id)
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    lead = fold(events)
    assert lead is not None
    r = client.get(f"/leads/{lead_id}", headers=auth)
    assert r.status_code == 200, r.text
    assert (r.json()["fields"], r.json()["identifiers"]) == (lead.fields, lead.identifiers)
    oracle = rendered(lead_history(events))
    for limit in (1000, 333):
        assert walk_history(client, auth, lead_id, limit) == oracle
    for snapshot in container.store.lead_snapshots.get(UUID(lead_id)):
        assert isinstance(snapshot, Snapshot)
        at = snapshot.mutate(None)
        expected = fold(events[: snapshot.originator_version])
        assert expected is not None
        assert vars(at) == vars(expected), snapshot.originator_version
    return events


def test_a_lead_hit_by_many_rows_across_batches_with_concurrent_imports_and_an_undo(
    client: TestClient,
    auth: dict[str, str],
    workers: Workers,
    container: Container,
) -> None:
    first = import_csv(
        client,
        auth,
        "Email,Company,City,Phone\nhot@example.com,Start,Start,+1 415 555 0100\n",
        field_mappings={"Company": "company", "City": "city"},
        alias_mappings={"Phone": "_alias_phone"},
    )
    assert first["created_count"] == 1
    [hot] = lead_by(client, auth, email="hot@example.com")
    lead_id = hot["lead_id"]

    # Two imports at once on the same lead, one by its e-mail (key: the e-mail) and one by its
    # phone (another key, so maybe another lead worker): each row changes one field, each file
    # its own, so every row makes an event whatever the interleaving.
    by_mail = upload(client, auth, by_email(4500))
    by_tel = upload(client, auth, by_phone(3000))
    job_mail = start(client, auth, by_mail["file_id"], field_mappings={"Company": "company"})
    job_tel = start(
        client,
        auth,
        by_tel["file_id"],
        column="Phone",
        kind="phone",
        field_mappings={"City": "city"},
    )
    done_mail = wait_job(client, auth, job_mail["job_id"], timeout=300)
    done_tel = wait_job(client, auth, job_tel["job_id"], timeout=300)
    assert (done_mail["status"], done_mail["updated_count"]) == ("completed", 4500)
    assert (done_tel["status"], done_tel["updated_count"]) == ("completed", 3000)
    events = assert_consistent(client, auth, container, lead_id)
    assert len(events) == 1 + 4500 + 3000
    lead = fold(events)
    assert lead is not None
    assert lead.fields == {"company": COMPANIES[4499 % 2], "city": CITIES[2999 % 2]}
    for job in (job_mail, job_tel):  # each job's rows were applied in file order
        rows = [e.row for e in events if getattr(e, "job_id", None) == job["job_id"]]
        assert rows == sorted(rows) and len(rows) == len(set(rows))
    with container.pool.connection() as conn:
        snapshots = conn.execute(
            f"SELECT originator_version FROM {SNAPSHOTS_TABLE} WHERE originator_id = %s ORDER BY 1",
            (UUID(lead_id),),
        ).fetchall()
    # one with each batch that takes the lead past a multiple of 500, at most a batch beyond it
    versions = [s["originator_version"] for s in snapshots]
    steps = [v // applying.SNAPSHOT_EVERY for v in versions]
    assert steps == sorted(set(steps)) and steps[-1] == 7501 // applying.SNAPSHOT_EVERY, versions
    assert 7501 - versions[-1] < applying.SNAPSHOT_EVERY + 2000, versions

    # An undo appends to the lead behind the lead workers' backs; the next rows see it.
    title = {"Title": "title"}
    boss = import_csv(client, auth, "Email,Title\nhot@example.com,Boss\n", field_mappings=title)
    r = client.post(f"/leads/import/jobs/{boss['job_id']}/undo", headers=auth)
    assert r.status_code == 202, r.text

    def undone() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(
            f"/leads/import/jobs/{boss['job_id']}", headers=auth
        ).json()
        return job if job["status"] == "undone" else None

    report = wait_for(undone, 120, "the undo")["undo_report"]
    assert (report["leads_reverted"], report["fields_reverted"]) == (1, 1)
    # the e-mail file's last row set COMPANIES[1]: the next file starts with COMPANIES[0]
    more = import_csv(client, auth, by_email(600), field_mappings={"Company": "company"})
    assert (more["status"], more["updated_count"]) == ("completed", 600)
    events = assert_consistent(client, auth, container, lead_id)
    assert len(events) == 7501 + 2 + 600
    assert [type(e).__name__ for e in events[7501:7503]] == [
        "LeadProfileUpdated",
        "LeadProfileReverted",
    ]
    lead = fold(events)
    assert lead is not None
    assert lead.fields == {"company": COMPANIES[599 % 2], "city": CITIES[2999 % 2]}


def test_history_page_bounds_and_scope(
    client: TestClient,
    workers: Workers,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    auth = make_auth(new_ou())
    import_csv(client, auth, by_email(5), field_mappings={"Company": "company"})
    [lead] = lead_by(client, auth, email="hot@example.com")
    path = f"/leads/{lead['lead_id']}/history"
    for params in (
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"after": "-1"},
        {"after": "1.5"},
    ):
        assert_error(client.get(path, headers=auth, params=params), 400, "invalid_request")
    whole = client.get(path, headers=auth).json()
    assert [e["version"] for e in whole["events"]] == [1, 2, 3, 4, 5]
    assert whole["next_after"] is None
    assert client.get(path, headers=auth, params={"limit": "1000"}).json() == whole
    page = client.get(path, headers=auth, params={"after": "2", "limit": "2"}).json()
    assert page == {"lead_id": lead["lead_id"], "events": whole["events"][2:4], "next_after": 4}
    beyond = client.get(path, headers=auth, params={"after": "99"}).json()
    assert beyond == {"lead_id": lead["lead_id"], "events": [], "next_after": None}
    # Another OU (and its pages) cannot see it.
    other = make_auth(new_ou())
    for params in ({}, {"after": "2", "limit": "2"}):
        assert_error(client.get(path, headers=other, params=params), 404, "not_found")
    assert_error(client.get(f"/leads/{uuid.uuid4()}/history", headers=auth), 404, "not_found")


def test_audit_prints_a_page_and_where_to_go_on(
    client: TestClient,
    workers: Workers,
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
    database_url: str,
    tmp_path: Path,
) -> None:
    ou = new_ou()
    auth = make_auth(ou)
    import_csv(client, auth, by_email(5), field_mappings={"Company": "company"})
    [lead] = lead_by(client, auth, email="hot@example.com")
    path = f"/leads/{lead['lead_id']}/history"
    for after, limit, hint in (("0", "2", "--after 2"), ("2", "2", "--after 4"), ("4", "2", None)):
        done = run_audit(
            database_url,
            tmp_path,
            "--email",
            "hot@example.com",
            "--ou",
            ou,
            "--after",
            after,
            "--limit",
            limit,
        )
        assert done.returncode == 0, done.stderr
        page = client.get(path, headers=auth, params={"after": after, "limit": limit}).json()
        assert json.loads(done.stdout) == page
        if hint is None:
            assert "More events" not in done.stderr
        else:
            more = f"More events: leadimport audit --email hot@example.com --ou {ou} {hint}"
            assert f"{more} --limit 2" in done.stderr, done.stderr
    too_many = run_audit(database_url, tmp_path, "--email", "hot@example.com", "--limit", "1001")
    assert too_many.returncode == 1 and "1000" in too_many.stderr
    assert run_audit(database_url, tmp_path, "--email", "x@example.com", "--limit", "0").returncode
    assert run_audit(database_url, tmp_path, "--email", "x@example.com", "--after", "-1").returncode


def _open_job(container: Container, ou: str) -> str:
    """A job row that lead workers accept rows of: this test hands its rows to ``apply_rows``
    itself (no file, no broker). ``total_rows`` is beyond its rows: no sweep completes it."""
    job_id = f"job_{uuid.uuid4().hex}"
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO import_jobs (job_id, ou, status, file_id, file_name, created_at,"
            " total_rows, primary_identifier, field_mappings, alias_mappings, default_country,"
            " last_progress_at) VALUES (%s, %s, 'in_progress', 'none', 'rows.csv', now(),"
            " 1000000, '{\"column\": \"Email\", \"kind\": \"email\"}', '{}', '{}', 'US', now())",
            (job_id, ou),
        )
    return job_id


def _close_job(container: Container, job_id: str) -> None:
    with container.pool.connection() as conn:
        conn.execute("UPDATE import_jobs SET status = 'cancelled' WHERE job_id = %s", (job_id,))


def test_a_cached_lead_catches_up_with_other_writers_and_a_rolled_back_batch_is_not_cached(
    container: Container, new_ou: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two lead workers' caches, deterministically: one goes stale while the other appends,
    then a batch of the first rolls back after its events were collected."""
    ou = new_ou()
    job_id = _open_job(container, ou)
    email = Identifier(kind="email", value="hot@example.com")
    phone = Identifier(kind="phone", value=PHONE)

    def rows(first: int, last: int, primary: Identifier = email) -> list[Any]:
        return [
            RowImported(
                event_id=f"{job_id}:{n}",
                ou=ou,
                job_id=job_id,
                row=n,
                primary=primary,
                fields={"company": COMPANIES[n % 2]},
                aliases=[phone] if n == 2 else [],
            )
            for n in range(first, last + 1)
        ]

    def stored(lead_id: UUID) -> Lead:
        lead = fold(container.store.events.get(lead_id))
        assert lead is not None
        return lead

    worker_1, worker_2 = AggregateCache(100), AggregateCache(100)
    try:
        for first in range(2, 302, 100):  # rows 2..301: version 300
            assert applying.apply_rows(container, rows(first, first + 99), worker_1) == [job_id]
        with container.pool.connection() as conn:
            [found] = conn.execute(
                "SELECT lead_id FROM lead_identifiers WHERE ou = %s AND kind = 'email'", (ou,)
            ).fetchall()
        lead_id = found["lead_id"]
        assert lead_id in worker_1
        # The other worker appends rows 302..401 (by the phone alias): worker 1 is now stale.
        applying.apply_rows(container, rows(302, 401, phone), worker_2)
        assert stored(lead_id).version == 400
        applying.apply_rows(container, rows(402, 701), worker_1)  # catches up, then appends
        [cached] = worker_1.take([lead_id]).values()
        assert (cached.version, cached.fields) == (700, stored(lead_id).fields)
        worker_1.keep([cached])

        # A batch whose transaction fails after ``put`` collected its events (as a conflict
        # with another writer does) is planned again from the database: nothing of it stays
        # in the cache.
        real_put = container.store.put
        failures: list[int] = []

        def put_failing_once(aggregates: Any, effects: Any = (), **options: Any) -> None:
            if not failures:
                for aggregate in aggregates:
                    aggregate.collect_events()
                failures.append(1)
                raise IntegrityError("a concurrent writer got there first (simulated)")
            real_put(aggregates, effects, **options)

        monkeypatch.setattr(container.store, "put", put_failing_once)
        applying.apply_rows(container, rows(702, 801), worker_1)
        monkeypatch.undo()
        assert failures == [1]
        lead = stored(lead_id)
        assert lead.version == 800 and lead.fields == {"company": COMPANIES[801 % 2]}
        [cached] = worker_1.take([lead_id]).values()
        assert vars(cached) == vars(lead)
    finally:
        _close_job(container, job_id)
    events = list(container.store.events.get(lead_id))
    assert [e.originator_version for e in events] == list(range(1, 801))
    assert [getattr(e, "row", None) for e in events[:2]] == [2, 3]
    # stored with the batch that took the lead past version 500, at that batch's last version
    [snapshot] = container.store.lead_snapshots.get(lead_id)
    assert isinstance(snapshot, Snapshot) and snapshot.originator_version == 700
    assert vars(snapshot.mutate(None)) == vars(fold(events[:700]))
