"""Import modes (``upsert``, ``create_only``, ``update_only``) and dry runs, end to end: HTTP in,
the real broker and lead workers, counters, row outcomes and leads out.

Expected values come from hand-computed small files, and for the generated big files from
``oracle``: a plain sequential model of the import rules written for this test (not the code
under test). The big files are built so that their counts do not depend on the order in which
the lead workers apply rows (module docstring of ``big_file``).
"""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from starlette.testclient import TestClient

from application.container import Container
from tests.helpers import (
    assert_error,
    big_csv,
    import_csv,
    job_items,
    lead_by,
    start,
    upload,
    wait_for,
    wait_job,
)
from tests.services import Workers

ALIAS_TAKEN = "Alias not added: it already belongs to another lead"
MAPPINGS: dict[str, Any] = {
    "field_mappings": {"First Name": "first_name"},
    "alias_mappings": {"Phone": "_alias_phone", "Alt Email": "_alias_email"},
}
MODES = ("upsert", "create_only", "update_only")


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as c:
        yield c


def counts(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "created_count", "updated_count", "failed_count", "skipped_count")
    return {k: job[k] for k in keys} | {"warnings": job["warnings_total"]}


def outcomes(conn: psycopg.Connection[Any], job_id: str) -> dict[int, tuple[str, Any]]:
    rows = conn.execute(
        "SELECT row, outcome, lead_id FROM row_outcomes WHERE job_id = %s ORDER BY row", (job_id,)
    ).fetchall()
    return {r["row"]: (r["outcome"], r["lead_id"]) for r in rows}


def lead_id(client: TestClient, auth: dict[str, str], email: str) -> uuid.UUID:
    [lead] = lead_by(client, auth, email=email)
    return uuid.UUID(lead["lead_id"])


# --- each mode on a prepared OU (hand-computed) ----------------------------------------------

PREPARED = (
    "Email,First Name,Phone,Alt Email\n"
    "ann@example.com,Ann,+1 415 555 0101,\n"
    "bob@example.com,Bob,,bob.alt@example.com\n"
)
FILE = (
    "Email,First Name,Phone,Alt Email\n"
    "ann@example.com,Annie,,\n"  # 2: Ann exists
    "cy@example.com,Cy,+1 415 555 0101,\n"  # 3: new; Ann's phone
    "not-an-email,X,,\n"  # 4: fails in every mode
    "cy@example.com,Cyrus,,\n"  # 5: Cy again (exists once row 3 created it)
    "bob@example.com,,phone: none!,\n"  # 6: Bob exists; an invalid alias
    "dee@example.com,Dee,,bob.alt@example.com\n"  # 7: new; Bob's alt e-mail
)
# mode -> row -> outcome; the warnings (row, warning); the first names after the import.
EXPECTED: dict[str, dict[str, Any]] = {
    "upsert": {
        "rows": {2: "updated", 3: "created", 4: "failed", 5: "updated", 6: "updated", 7: "created"},
        "warnings": [(3, ALIAS_TAKEN), (6, "Alias not added"), (7, ALIAS_TAKEN)],
        "names": {"ann": "Annie", "bob": "Bob", "cy": "Cyrus", "dee": "Dee"},
    },
    "create_only": {
        "rows": {2: "skipped", 3: "created", 4: "failed", 5: "skipped", 6: "skipped", 7: "created"},
        "warnings": [(3, ALIAS_TAKEN), (7, ALIAS_TAKEN)],
        "names": {"ann": "Ann", "bob": "Bob", "cy": "Cy", "dee": "Dee"},
    },
    "update_only": {
        "rows": {2: "updated", 3: "skipped", 4: "failed", 5: "skipped", 6: "updated", 7: "skipped"},
        "warnings": [(6, "Alias not added")],
        "names": {"ann": "Annie", "bob": "Bob", "cy": None, "dee": None},
    },
}


def prepared_ou(client: TestClient, make_auth: Callable[[str], dict[str, str]], ou: str) -> Any:
    auth = make_auth(ou)
    seeded = import_csv(client, auth, PREPARED, **MAPPINGS)
    assert counts(seeded)["created_count"] == 2, seeded
    return auth


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_on_a_prepared_ou(
    mode: str,
    client: TestClient,
    workers: Workers,
    conn: psycopg.Connection[Any],
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    auth = prepared_ou(client, make_auth, new_ou())
    ann, bob = lead_id(client, auth, "ann@example.com"), lead_id(client, auth, "bob@example.com")
    preview = upload(client, auth, FILE)
    started = start(client, auth, preview["file_id"], mode=mode, **MAPPINGS)
    job = wait_job(client, auth, started["job_id"])

    expected = EXPECTED[mode]
    by_outcome = Counter(expected["rows"].values())
    assert counts(job) == {
        "status": "completed",
        "created_count": by_outcome["created"],
        "updated_count": by_outcome["updated"],
        "failed_count": 1,
        "skipped_count": by_outcome["skipped"],
        "warnings": len(expected["warnings"]),
    }
    assert (job["mode"], job["dry_run"]) == (mode, False)
    assert [(e["row"], e["error"]) for e in job["errors"]] == [(4, "Invalid email format")]
    # A skipped row records no warning, not even for its invalid alias (row 6, create_only).
    got = [(w["row"], w["warning"]) for w in job["warnings"]]
    assert [(row, w if w == ALIAS_TAKEN else w[:15]) for row, w in got] == expected["warnings"]

    rows = outcomes(conn, job["job_id"])
    assert {row: outcome for row, (outcome, _) in rows.items()} == expected["rows"]
    names = {k: lead_by(client, auth, email=f"{k}@example.com") for k in expected["names"]}
    assert {k: v[0]["fields"]["first_name"] if v else None for k, v in names.items()} == (
        expected["names"]
    )
    # A skipped row names the lead that exists (create_only), none when there is none.
    skipped_leads = {row: lid for row, (outcome, lid) in rows.items() if outcome == "skipped"}
    if mode == "create_only":
        cy = lead_id(client, auth, "cy@example.com")
        assert skipped_leads == {2: ann, 5: cy, 6: bob}
        # Skipped rows added no alias: Bob has no phone.
        assert "phone" not in names["bob"][0]["identifiers"]
    elif mode == "update_only":
        assert skipped_leads == {3: None, 5: None, 7: None}
    listed = client.get("/leads/import/jobs", headers=auth).json()["jobs"][0]
    assert listed["job_id"] == job["job_id"]
    assert (listed["mode"], listed["dry_run"], listed["skipped_count"]) == (
        mode,
        False,
        by_outcome["skipped"],
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_dry_run_of_each_mode_reports_what_the_real_run_then_does(
    mode: str,
    client: TestClient,
    container: Container,
    workers: Workers,
    conn: psycopg.Connection[Any],
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    ou = new_ou()
    auth = prepared_ou(client, make_auth, ou)
    before = ou_snapshot(conn, ou)
    dry = import_csv(client, auth, FILE, mode=mode, dry_run=True, **MAPPINGS)
    assert (dry["mode"], dry["dry_run"]) == (mode, True)
    assert ou_snapshot(conn, ou) == before
    assert_no_lead_events_since(conn, ou, before.position)
    real = import_csv(client, auth, FILE, mode=mode, **MAPPINGS)
    assert counts(dry) == counts(real)
    assert dry["errors"] == real["errors"] and dry["warnings"] == real["warnings"]
    dry_rows, real_rows = outcomes(conn, dry["job_id"]), outcomes(conn, real["job_id"])
    assert {r: o for r, (o, _) in dry_rows.items()} == {r: o for r, (o, _) in real_rows.items()}
    # The dry run names the leads that existed; the leads it would have created have no id.
    existing = {row[1] for row in before.identifiers}
    for row, (_, dry_lead) in dry_rows.items():
        real_lead = real_rows[row][1]
        assert dry_lead == (real_lead if real_lead in existing else None), row


# --- dry runs of big files, every mode --------------------------------------------------------


@dataclass
class Row:
    email: str
    name: str
    phone: str = ""
    alt: str = ""

    def line(self) -> str:
        return f"{self.email},{self.name},{self.phone},{self.alt}"


SEED_LEADS = 300
BIG_ROWS = 5_000  # more than two batches of 2,000 rows
INVALID_PHONE = "phone: none!"


def seed_rows() -> list[Row]:
    """Leads that exist before the import: every third holds a phone, every fifth an alt
    e-mail."""
    return [
        Row(
            f"old{i}@example.com",
            f"Old{i}",
            f"+1415600{i:04d}" if i % 3 == 0 else "",
            f"oldalt{i}@example.com" if i % 5 == 0 else "",
        )
        for i in range(SEED_LEADS)
    ]


def big_file(seed: int) -> list[Row]:
    """Rows whose outcome does not depend on the order of the lead workers:

    - updates of the existing leads ``old<k>``, some with the phone they hold;
    - new leads ``new<n>`` from a pool of 1,500, so a primary comes back many times, across
      batches (rows 2, 2,502 and 5,001 share one), sometimes spelled in capitals;
    - rows claiming a phone or alt e-mail an existing lead holds (a warning unless it is theirs);
    - contested phones: each in exactly two rows of two different leads (one warning when both
      rows are applied), on no other row;
    - fresh phones and alt e-mails (claimed once, by nobody else), never a primary;
    - invalid rows: a bad or missing primary (failed), a bad phone or alt e-mail (a warning).
    """
    rnd = random.Random(seed)
    rows: list[Row] = []
    contested: list[int] = []  # row indexes whose phone is contested, in pairs
    for i in range(BIG_ROWS):
        if i in (0, 2500, 4999):
            rows.append(Row("new0@example.com", f"Again{i}", f"+1415800{i:04d}"))
            continue
        roll = rnd.random()
        if roll < 0.03:
            rows.append(Row(f"not-an-email-{i}", "Bad"))
            continue
        if roll < 0.04:
            rows.append(Row("", "Nobody"))
            continue
        if roll < 0.30:
            k = rnd.randrange(SEED_LEADS)
            email = f"old{k}@example.com"
        else:
            n = rnd.randrange(1, 1500)
            email = f"new{n}@example.com" if rnd.random() < 0.9 else f" NEW{n}@Example.com"
        row = Row(email, f"N{i}")
        pick = rnd.random()
        if pick < 0.10:
            row.phone = f"+1415600{3 * rnd.randrange(SEED_LEADS // 3):04d}"  # held
        elif pick < 0.20:
            row.phone = f"+1415800{i:04d}"  # fresh
        elif pick < 0.25:
            row.phone = INVALID_PHONE
        elif pick < 0.30:
            contested.append(i)
        alt = rnd.random()
        if alt < 0.08:
            row.alt = f"oldalt{5 * rnd.randrange(SEED_LEADS // 5)}@example.com"  # held
        elif alt < 0.16:
            row.alt = f"alt{i}@example.com"  # fresh
        elif alt < 0.18:
            row.alt = "bad@@example.com"
        rows.append(row)
    # Pair contested rows of different leads; an odd one out gets nothing.
    rnd.shuffle(contested)
    pairs = 0
    while len(contested) >= 2:
        a = contested.pop()
        partner = next((b for b in contested if norm(rows[b].email) != norm(rows[a].email)), None)
        if partner is None:
            break
        contested.remove(partner)
        rows[a].phone = rows[partner].phone = f"+1415900{pairs:04d}"
        pairs += 1
    assert pairs > 50
    return rows


def norm(email: str) -> str:
    return email.strip().lower()


EMAIL = re.compile(r"^[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


@dataclass
class Expected:
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0
    warnings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (taken|invalid, value)
    outcomes: dict[int, str] = field(default_factory=dict)


def oracle(existing: list[Row], rows: list[Row], mode: str) -> Expected:
    """The import rules as a plain sequential model: rows in file order, identifiers owned by
    lead numbers, a lead's identifiers a set."""
    owner: dict[tuple[str, str], int] = {}
    held: dict[int, set[tuple[str, str]]] = {}
    for n, r in enumerate(existing):
        ids = {("email", r.email)}
        if r.phone:
            ids.add(("phone", r.phone))
        if r.alt:
            ids.add(("email", r.alt))
        held[n] = ids
        owner.update(dict.fromkeys(ids, n))
    out = Expected()
    for number, r in enumerate(rows, start=2):
        primary = ("email", norm(r.email))
        if not EMAIL.match(primary[1]):
            out.failed += 1
            out.outcomes[number] = "failed"
            continue
        lead = owner.get(primary)
        if (mode == "create_only" and lead is not None) or (mode == "update_only" and lead is None):
            out.skipped += 1
            out.outcomes[number] = "skipped"
            continue
        aliases: list[tuple[str, str]] = []
        for kind, cell, valid in (
            ("phone", r.phone, r.phone.startswith("+1")),
            ("email", r.alt, bool(EMAIL.match(r.alt))),
        ):
            if not cell:
                continue
            if not valid:
                out.warnings[("invalid", cell)] += 1
            elif (kind, cell) != primary and (kind, cell) not in aliases:
                aliases.append((kind, cell))
        if lead is None:
            lead = len(held)
            held[lead] = {primary}
            owner[primary] = lead
            out.created += 1
            out.outcomes[number] = "created"
        else:
            out.updated += 1
            out.outcomes[number] = "updated"
        for alias in aliases:
            if alias in held[lead]:
                continue
            if owner.get(alias, lead) != lead:
                out.warnings[("taken", alias[1])] += 1
                continue
            held[lead].add(alias)
            owner[alias] = lead
    return out


def csv_of(rows: list[Row]) -> str:
    return "Email,First Name,Phone,Alt Email\n" + "".join(r.line() + "\n" for r in rows)


def warning_kinds(warnings: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(taken|invalid, value) of each warning: which row of a contested pair warns depends on
    the order the workers applied them, the value does not."""
    return Counter(
        ("taken" if w["warning"] == ALIAS_TAKEN else "invalid", w["value"]) for w in warnings
    )


@dataclass
class Snapshot:
    position: int = field(compare=False)  # where the log was when it was taken
    leads: list[dict[str, Any]]
    identifiers: list[tuple[str, Any, str]]
    events: list[tuple[Any, int, str]]


def ou_snapshot(conn: psycopg.Connection[Any], ou: str) -> Snapshot:
    """The OU's leads (read model), identifiers and lead events, and the log's last position."""
    position = conn.execute(
        "SELECT coalesce(max(notification_id), 0) AS n FROM leadimport_events"
    ).fetchone()
    leads = conn.execute(
        "SELECT lead_id, identifiers, fields, created_at, updated_at FROM leads_view"
        " WHERE ou = %s ORDER BY lead_id",
        (ou,),
    ).fetchall()
    identifiers = conn.execute(
        "SELECT kind, value, lead_id FROM lead_identifiers WHERE ou = %s ORDER BY kind, value",
        (ou,),
    ).fetchall()
    events = conn.execute(
        "SELECT originator_id, originator_version, topic FROM leadimport_events"
        " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version",
        ([r["lead_id"] for r in leads],),
    ).fetchall()
    return Snapshot(
        position["n"] if position else 0,
        leads,
        [(r["kind"], r["lead_id"], r["value"]) for r in identifiers],
        [(r["originator_id"], r["originator_version"], r["topic"]) for r in events],
    )


def assert_no_lead_events_since(conn: psycopg.Connection[Any], ou: str, position: int) -> None:
    """No Lead event of the OU was stored after ``position`` (so the relay has none to publish
    on ``leads.events``): only job and row-ledger events."""
    topics = conn.execute(
        "SELECT DISTINCT topic FROM leadimport_events WHERE notification_id > %s"
        " AND (convert_from(state, 'UTF8')::jsonb ->> 'ou' = %s"
        "  OR originator_id IN (SELECT lead_id FROM lead_identifiers WHERE ou = %s))",
        (position, ou, ou),
    ).fetchall()
    found = {r["topic"] for r in topics}
    assert found and not {t for t in found if t.startswith("domain.lead:")}, found


def simulation_rows(conn: psycopg.Connection[Any], job_id: str) -> int:
    """The job's rows in the dry-run simulation tables."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM dry_run_claims WHERE job_id = %(j)s)"
        " + (SELECT count(*) FROM dry_run_leads WHERE job_id = %(j)s) AS n",
        {"j": job_id},
    ).fetchone()
    return int(row["n"]) if row else -1


@pytest.mark.parametrize("mode", MODES)
def test_a_dry_run_of_a_big_file_changes_nothing_and_counts_what_the_real_run_does(
    mode: str,
    client: TestClient,
    workers: Workers,
    conn: psycopg.Connection[Any],
    new_ou: Callable[[], str],
    make_auth: Callable[[str], dict[str, str]],
) -> None:
    ou = new_ou()
    auth = make_auth(ou)
    existing = seed_rows()
    seeded = import_csv(client, auth, csv_of(existing), **MAPPINGS)
    assert seeded["created_count"] == SEED_LEADS, counts(seeded)
    rows = big_file(seed=MODES.index(mode))
    content = csv_of(rows)
    expected = oracle(existing, rows, mode)
    assert expected.skipped or mode == "upsert"
    assert expected.warnings and expected.failed and expected.created + expected.updated

    before = ou_snapshot(conn, ou)
    dry = import_csv(client, auth, content, mode=mode, dry_run=True, **MAPPINGS)
    assert ou_snapshot(conn, ou) == before
    assert_no_lead_events_since(conn, ou, before.position)
    assert simulation_rows(conn, dry["job_id"]) == 0  # cleaned up when it completed

    real = import_csv(client, auth, content, mode=mode, **MAPPINGS)
    want = {
        "status": "completed",
        "created_count": expected.created,
        "updated_count": expected.updated,
        "failed_count": expected.failed,
        "skipped_count": expected.skipped,
        "warnings": sum(expected.warnings.values()),
    }
    assert counts(dry) == want
    assert counts(real) == want
    dry_warnings = job_items(client, auth, dry["job_id"], "warnings")
    real_warnings = job_items(client, auth, real["job_id"], "warnings")
    assert warning_kinds(dry_warnings) == warning_kinds(real_warnings) == expected.warnings
    dry_errors = job_items(client, auth, dry["job_id"], "errors")
    assert dry_errors == job_items(client, auth, real["job_id"], "errors")
    assert len(dry_errors) == expected.failed
    # Row by row: a lead the file creates at row 2 is updated at row 5,001, batches later.
    dry_rows = outcomes(conn, dry["job_id"])
    assert {r: o for r, (o, _) in dry_rows.items()} == expected.outcomes
    assert {r: o for r, (o, _) in outcomes(conn, real["job_id"]).items()} == expected.outcomes
    again = {"upsert": "updated", "create_only": "skipped", "update_only": "skipped"}[mode]
    first = "skipped" if mode == "update_only" else "created"
    assert [dry_rows[r][0] for r in (2, 2502, 5001)] == [first, again, again]


# --- API ------------------------------------------------------------------------------------


def test_start_refuses_an_unknown_mode_or_a_dry_run_that_is_not_a_boolean(
    client: TestClient, auth: dict[str, str]
) -> None:
    file_id = upload(client, auth, "Email\nann@example.com\n")["file_id"]
    body = {"file_id": file_id, "primary_identifier": {"column": "Email", "kind": "email"}}
    bad_mode = client.post("/leads/import/start", headers=auth, json={**body, "mode": "merge"})
    message = assert_error(bad_mode, 400, "invalid_request")["message"]
    assert all(m in message for m in MODES), message
    for value in ("yes", 1, None):
        r = client.post("/leads/import/start", headers=auth, json={**body, "dry_run": value})
        assert "true or false" in assert_error(r, 400, "invalid_request")["message"]
    assert client.get("/leads/import/jobs", headers=auth).json()["total"] == 0


def test_a_dry_run_cannot_be_undone(
    client: TestClient, auth: dict[str, str], workers: Workers
) -> None:
    job = import_csv(client, auth, "Email\nann@example.com\n", dry_run=True)
    assert counts(job) == {
        "status": "completed",
        "created_count": 1,
        "updated_count": 0,
        "failed_count": 0,
        "skipped_count": 0,
        "warnings": 0,
    }
    r = client.post(f"/leads/import/jobs/{job['job_id']}/undo", headers=auth)
    assert "nothing to undo" in assert_error(r, 409, "conflict")["message"]
    after = client.get(f"/leads/import/jobs/{job['job_id']}", headers=auth).json()
    assert after["status"] == "completed"
    assert lead_by(client, auth, email="ann@example.com") == []


def test_a_cancelled_dry_run_leaves_no_simulation_behind(
    client: TestClient,
    auth: dict[str, str],
    workers: Workers,
    conn: psycopg.Connection[Any],
) -> None:
    preview = upload(client, auth, big_csv(20_000, seed=5, prefix="cancel"))
    job_id = start(client, auth, preview["file_id"], dry_run=True)["job_id"]

    def applied() -> bool:
        job = client.get(f"/leads/import/jobs/{job_id}", headers=auth).json()
        return bool(job["created_count"])

    wait_for(applied, 120, "the first rows of the dry run")
    r = client.post(f"/leads/import/jobs/{job_id}/cancel", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    # Batches either committed before the cancel (and were deleted with it) or are dropped.
    assert simulation_rows(conn, job_id) == 0
    done = wait_job(client, auth, job_id)
    assert done["status"] == "cancelled"
    assert simulation_rows(conn, job_id) == 0
    assert lead_by(client, auth, email="cancel0@example.com") == []
