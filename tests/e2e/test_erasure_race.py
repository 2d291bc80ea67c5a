"""An erasure that commits while a lead worker's batch, planned against the lead, is on its way to
the database (the worker holds the lead in its cache): the batch must not store anything more
about the erased person under their old lead. Deterministic: the erasure runs inside the
batch's first ``put``, after the batch was planned, before its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from adapters.eventstore import AggregateCache
from application import applying, erasure
from application.container import Container
from domain.lead import Lead
from domain.rows import Identifier, RowImported
from tests.e2e.test_hot_lead import _close_job, _open_job


def row(ou: str, job_id: str, n: int, email: str, company: str) -> RowImported:
    return RowImported(
        event_id=f"{job_id}:{n}",
        ou=ou,
        job_id=job_id,
        row=n,
        primary=Identifier(kind="email", value=email),
        fields={"company": company},
        aliases=[],
    )


def outcome(container: Container, job_id: str, n: int) -> tuple[str, UUID]:
    with container.pool.connection() as conn:
        found = conn.execute(
            "SELECT outcome, lead_id FROM row_outcomes WHERE job_id = %s AND row = %s", (job_id, n)
        ).fetchone()
    assert found is not None
    return found["outcome"], found["lead_id"]


def erase_at_the_next_put(
    container: Container, monkeypatch: pytest.MonkeyPatch, ou: str, lead_id: UUID
) -> list[str]:
    """Make the store's next ``put`` first erase ``lead_id`` (the whole erasure, committed), then
    store as asked: a batch planned against the lead meets an erasure on its way to the
    database. The returned list gets the erasure's id when it happened."""
    real_put = container.store.put
    raced: list[str] = []

    def put_after_an_erasure(aggregates: Any, effects: Any = (), **options: Any) -> None:
        if not raced:
            request, _ = erasure.request_erasure(container, ou, lead_id, "test")
            raced.append(request["erasure_id"])
            erasure.carry_out_now(container, request["erasure_id"])
        real_put(aggregates, effects, **options)

    monkeypatch.setattr(container.store, "put", put_after_an_erasure)
    return raced


@pytest.mark.parametrize(
    "company",
    [
        pytest.param("Acme", id="a row that changes nothing (no version claimed)"),
        pytest.param("Globex", id="a row that changes the lead"),
    ],
)
def test_a_batch_planned_against_a_lead_erased_meanwhile_goes_to_a_new_lead(
    container: Container,
    new_ou: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    company: str,
) -> None:
    ou, email = new_ou(), "racing@example.org"
    job_id = _open_job(container, ou)
    cache = AggregateCache(100)
    try:
        applying.apply_rows(container, [row(ou, job_id, 2, email, "Acme")], cache)
        _, erased_id = outcome(container, job_id, 2)
        assert erased_id in cache
        raced = erase_at_the_next_put(container, monkeypatch, ou, erased_id)
        applying.apply_rows(container, [row(ou, job_id, 3, email, company)], cache)
        monkeypatch.undo()
        assert raced

        # The row went to a new lead; the erased one got nothing after LeadErased.
        status, new_id = outcome(container, job_id, 3)
        assert (status, new_id != erased_id) == ("created", True)
        events = list(container.store.events.get(erased_id))
        assert type(events[-1]) is Lead.LeadErased and len(events) == 2
        assert all(getattr(e, "erased", False) for e in events)
        # The worker's cache does not bring the erased lead back either.
        applying.apply_rows(container, [row(ou, job_id, 4, email, "Initech")], cache)
        assert outcome(container, job_id, 4) == ("updated", new_id)
        assert len(list(container.store.events.get(erased_id))) == 2
        with container.pool.connection() as conn:
            views = conn.execute(
                "SELECT lead_id, fields FROM leads_view WHERE ou = %s", (ou,)
            ).fetchall()
        assert [(v["lead_id"], v["fields"]) for v in views] == [(new_id, {"company": "Initech"})]
    finally:
        _close_job(container, job_id)


def test_a_batch_quoting_an_alias_of_a_lead_erased_meanwhile_plans_again(
    container: Container, new_ou: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 3 names an alias owned by the lead of row 2 (another person): planned, it warns
    quoting that alias on row 3's lead. The owner is erased before the batch commits: the batch
    must not store the erased person's alias in a warning of another lead's row."""
    ou = new_ou()
    alias = f"owned.{uuid.uuid4().hex[:8]}@alias-race.example"
    job_id = _open_job(container, ou)
    try:
        owner_row = row(ou, job_id, 2, "owner@example.org", "Acme")
        owner_row = owner_row.model_copy(
            update={"aliases": [Identifier(kind="email", value=alias)]}
        )
        applying.apply_rows(container, [owner_row])
        _, owner_id = outcome(container, job_id, 2)
        other = row(ou, job_id, 3, "other@example.org", "Globex").model_copy(
            update={"aliases": [Identifier(kind="email", value=alias)]}
        )
        raced = erase_at_the_next_put(container, monkeypatch, ou, owner_id)
        applying.apply_rows(container, [other])
        monkeypatch.undo()
        assert raced
        with container.pool.connection() as conn:
            quoted = conn.execute(
                "SELECT count(*) AS n FROM job_warnings WHERE job_id = %s AND lower(value) = %s",
                (job_id, alias),
            ).fetchone()
        assert quoted is not None and quoted["n"] == 0
        assert outcome(container, job_id, 3)[0] == "created"
    finally:
        _close_job(container, job_id)
