"""The key cache (adapters/keys.py ``KeyCache``) and the key tables: a fresh read does not fill
the cache, a lead found erased by a write is dropped from it, and a ledger value's key is never
silently skipped."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from adapters import keys
from adapters.eventstore import open_event_store, project
from application.container import Container
from domain.lead import Lead


def _lead(container: Container) -> Lead:
    lead = Lead.create(
        f"ou-keys-{uuid.uuid4().hex[:8]}",
        {"kind": "email", "value": f"k.{uuid.uuid4().hex[:8]}@example.org"},
        {},
        [],
        "job_keys",
        2,
    )
    container.store.put([lead])
    return lead


def test_a_fresh_read_of_keys_leaves_the_cache_alone(container: Container) -> None:
    store = container.store
    lead = _lead(container)
    store.key_cache.forget([lead.id])
    assert set(store.lead_keys({lead.id}, cached=False)) == {lead.id}
    assert store.key_cache.get_many([lead.id]) == {}
    assert set(store.lead_keys({lead.id}, cached=True)) == {lead.id}
    assert set(store.key_cache.get_many([lead.id])) == {lead.id}


def test_a_lead_erased_by_another_process_leaves_the_cache_on_the_next_write(
    container: Container, database_url: str
) -> None:
    store = container.store
    lead = _lead(container)  # this process holds the lead (its worker's cache) and its key
    assert set(store.key_cache.get_many([lead.id])) == {lead.id}
    other = open_event_store(database_url, pool_size=1)  # another process erases it
    try:
        erased = project(other.load_events([lead.id])[lead.id])
        erased.erase("data_subject_request", "erasure_keys")
        other.put([erased], effects=[keys.delete_lead_key_effect(lead.id)])
    finally:
        other.close()
    lead.update_profile(changed={"city": "Oslo"}, job_id="job_keys", row=3)
    with pytest.raises(IntegrityError):  # LeadErased took the version
        store.put([lead])
    assert store.key_cache.get_many([lead.id]) == {}


def test_a_ledger_values_key_that_exists_already_is_a_conflict(container: Container) -> None:
    value_id = (f"job_{uuid.uuid4().hex}", 2, -1)
    with container.pool.connection() as conn:
        keys.insert_value_keys(conn.cursor(), [(value_id, keys.new_key())])
    with (
        pytest.raises(psycopg.errors.UniqueViolation),
        container.pool.connection() as conn,
    ):
        keys.insert_value_keys(conn.cursor(), [(value_id, keys.new_key())])
