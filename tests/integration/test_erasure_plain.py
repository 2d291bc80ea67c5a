"""Erasing a lead whose events were stored before sealing existed (plain JSON, no key of their
own until the upgrade gave one): deleting the key is not enough, the shredding transaction
rewrites those events blank and drops the lead's snapshots; a ``pg_dump`` holds none of the
lead's values, and another old lead reads as before."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent

from adapters import keys
from adapters.eventstore import SNAPSHOTS_TABLE, project
from application import erasure
from application.container import Container
from domain.lead import Lead
from tests.e2e.test_erasure import dump, hits


def _store_plain(container: Container, ou: str, email: str, city: str) -> Lead:
    """A lead as the version before sealing stored it: plain events and a plain snapshot, and
    the key the upgrade gives every lead it finds."""
    lead = Lead.create(ou, {"kind": "email", "value": email}, {"city": city}, [], "job_old", 2)
    lead.update_profile(changed={"city": city + "-2"}, job_id="job_old", row=3)
    transcoder = container.store.mapper.transcoder
    stored = []
    for event in lead.collect_events():
        state: dict[str, Any] = dict(vars(event))
        lead_id, version = state.pop("originator_id"), state.pop("originator_version")
        class_version = getattr(type(event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        topic = f"{type(event).__module__}:{type(event).__qualname__}"
        stored.append(StoredEvent(lead_id, version, topic, transcoder.encode(state)))
    container.store.recorder.insert_events(stored)
    snap = Snapshot.take(lead)
    state = dict(vars(snap))
    lead_id, version = state.pop("originator_id"), state.pop("originator_version")
    with container.pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {SNAPSHOTS_TABLE} (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s)",
            (lead_id, version, "eventsourcing.domain:Snapshot", transcoder.encode(state)),
        )
        keys.insert_lead_keys(conn.cursor(), {lead.id: keys.new_key()})
    return lead


def test_an_old_plain_lead_is_blanked_by_its_erasure(
    container: Container, database_url: str, new_ou: Callable[[], str]
) -> None:
    ou, tag = new_ou(), uuid.uuid4().hex[:10]
    erased_values = [f"plain.{tag}@old-format.example", f"Plainville{tag}"]
    kept_values = [f"kept.{tag}@old-format.example", f"Keptville{tag}"]
    gone = _store_plain(container, ou, erased_values[0], erased_values[1])
    kept = _store_plain(container, ou, kept_values[0], kept_values[1])
    before = dump(database_url)
    assert set(hits(before, erased_values + kept_values)) == set(erased_values + kept_values)

    request, _ = erasure.request_erasure(container, ou, gone.id, "test")
    with container.pool.connection() as conn:
        logged = conn.execute(
            "SELECT * FROM erasure_requests WHERE erasure_id = %s", (request["erasure_id"],)
        ).fetchone()
    erasure.carry_out(container, logged)

    after = dump(database_url)
    assert hits(after, erased_values) == {}
    assert set(hits(after, kept_values)) == set(kept_values)
    read = container.store.load_events([gone.id])[gone.id]
    assert read[0].primary == {} and read[0].erased is True
    assert project(read).erased is True
    kept_events = container.store.load_events([kept.id])[kept.id]
    assert kept_events[0].primary == {"kind": "email", "value": kept_values[0]}
    assert project(kept_events).fields == {"city": kept_values[1] + "-2"}
