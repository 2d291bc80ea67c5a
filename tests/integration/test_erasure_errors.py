"""How erasures are taken up (application/erasure.py): a failed one logs what failed
(``erasure_requests.last_error``) without the values a database error names (PostgreSQL's
DETAIL line quotes the key that was violated); a sweep takes one at a time; the command line
takes the same lease as the sweep."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from application import erasure
from application.container import Container
from domain.errors import Conflict
from domain.lead import Lead


def test_last_error_keeps_the_class_and_sqlstate_not_the_values(
    container: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"secret.{uuid.uuid4().hex[:8]}@example.org"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE erasure_error_probe (value text PRIMARY KEY)")
        conn.execute("INSERT INTO erasure_error_probe VALUES (%s)", (secret,))
        with pytest.raises(psycopg.errors.UniqueViolation) as raised:
            conn.execute("INSERT INTO erasure_error_probe VALUES (%s)", (secret,))
    assert secret in str(raised.value)  # the oracle: the message names the value

    seen: list[dict[str, Any]] = []

    def failing(c: Container, request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        raise raised.value

    monkeypatch.setattr(erasure, "carry_out", failing)
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO erasure_requests (erasure_id, ou, lead_id, requested_by, reason,"
            " requested_at) VALUES (%s, 'ou-errors', %s, 'test', 'data_subject_request',"
            " now() - interval '10 years')",
            (f"erasure_{uuid.uuid4().hex}", uuid.uuid4()),
        )
    assert erasure.run_pending(container) == 0
    assert seen
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT last_error FROM erasure_requests WHERE erasure_id = %s",
            (seen[0]["erasure_id"],),
        ).fetchone()
        conn.execute("DELETE FROM erasure_requests WHERE erasure_id = %s", (seen[0]["erasure_id"],))
    assert row is not None
    assert row["last_error"] == "psycopg.errors.UniqueViolation (SQLSTATE 23505)"


def _old_request(container: Container, lead_id: uuid.UUID, ou: str = "ou-errors") -> str:
    erasure_id = f"erasure_{uuid.uuid4().hex}"
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO erasure_requests (erasure_id, ou, lead_id, requested_by, reason,"
            " requested_at) VALUES (%s, %s, %s, 'test', 'data_subject_request',"
            " now() - interval '10 years')",
            (erasure_id, ou, lead_id),
        )
    return erasure_id


def test_a_sweep_takes_one_erasure_and_their_index_exists(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = [_old_request(container, uuid.uuid4()) for _ in range(2)]
    taken: list[str] = []

    def carry_out(c: Container, request: dict[str, Any]) -> dict[str, Any]:
        taken.append(request["erasure_id"])
        return {}

    monkeypatch.setattr(erasure, "carry_out", carry_out)
    try:
        assert erasure.run_pending(container) == 1
        assert len(taken) == 1
    finally:
        with container.pool.connection() as conn:
            conn.execute("DELETE FROM erasure_requests WHERE erasure_id = ANY(%s)", (logged,))
            index = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'row_outcomes_lead_idx'"
            ).fetchone()
    assert index is not None and "WHERE (lead_id IS NOT NULL)" in index["indexdef"]


def test_the_command_line_waits_for_the_lease_a_sweep_holds(container: Container) -> None:
    ou = f"ou-lease-{uuid.uuid4().hex[:8]}"
    lead = Lead.create(ou, {"kind": "email", "value": "lease@example.org"}, {}, [], "job_l", 2)
    container.store.put([lead])
    request, _ = erasure.request_erasure(container, ou, lead.id, "test")
    with container.pool.connection() as conn:  # a sweep carries it out right now
        conn.execute(
            "UPDATE erasure_requests SET lease_until = now() + interval '5 minutes'"
            " WHERE erasure_id = %s",
            (request["erasure_id"],),
        )
    with pytest.raises(Conflict):
        erasure.carry_out_now(container, request["erasure_id"])
    assert erasure.get_request(container, ou, request["erasure_id"])["status"] == "pending"  # type: ignore[index]
    assert not hasattr(container.store.load_events([lead.id])[lead.id][-1], "erased")
    with container.pool.connection() as conn:  # the sweep's lease ran out
        conn.execute(
            "UPDATE erasure_requests SET lease_until = now() - interval '1 second'"
            " WHERE erasure_id = %s",
            (request["erasure_id"],),
        )
    done = erasure.carry_out_now(container, request["erasure_id"])
    assert done["status"] == "done" and done["report"]["events_shredded"] == 1
    assert erasure.carry_out_now(container, request["erasure_id"]) == done
