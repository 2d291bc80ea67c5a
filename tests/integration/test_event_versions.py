"""Versioned events: an event stored by an older version of its class is read through the
class's upcaster (``class_version`` and ``upcast_v1_v2`` of ``Lead.LeadCreated``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.container import Container
from domain.history import lead_history
from domain.lead import Lead

CREATED_V1_KEYS = {
    "timestamp",
    "originator_topic",
    "ou",
    "primary",
    "fields",
    "aliases",
    "job_id",
    "row",
}


def test_version_2_events_are_stored_with_their_class_version(container: Container) -> None:
    lead = Lead(
        ou="ou-v2",
        primary={"kind": "email", "value": "v2@example.com"},
        fields={},
        aliases=[],
        job_id="job_v2",
        row=2,
    )
    [created] = lead.collect_events()
    stored = container.store.mapper.to_stored_event(created)
    state = json.loads(stored.state)
    assert state["class_version"] == 2
    assert state["source"] == "csv"
    # Version 1 wrote the same state without these two keys. The personal ones are stored
    # sealed with the lead's key since erasure came (adapters/sealing.py), and read back as
    # they were.
    personal = {"primary", "fields", "aliases"}
    assert set(state) - {"class_version", "source", "_sealed_"} == CREATED_V1_KEYS - personal
    assert set(vars(container.store.mapper.to_domain_event(stored))) >= personal


def test_an_old_lead_created_event_is_read_through_the_upcaster(container: Container) -> None:
    app = container.store
    lead_id = uuid.uuid4()
    ou = f"ou-v1-{uuid.uuid4().hex[:8]}"
    # The state as version 1 of LeadCreated stored it: no "source", no "class_version" key
    # (the library writes that key only for versions above 1), through the same transcoder.
    state: dict[str, Any] = {
        "timestamp": datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "originator_topic": get_topic(Lead),
        "ou": ou,
        "primary": {"kind": "email", "value": f"{ou}@example.com"},
        "fields": {"first_name": "Old"},
        "aliases": [],
        "job_id": "job_from_2025",
        "row": 7,
    }
    assert set(state) == CREATED_V1_KEYS
    old = StoredEvent(
        originator_id=lead_id,
        originator_version=1,
        topic=get_topic(Lead.LeadCreated),
        state=app.mapper.transcoder.encode(state),
    )
    app.recorder.insert_events([old])
    with container.pool.connection() as conn:  # what the schema migration gives an old lead
        conn.execute("INSERT INTO lead_keys (lead_id, key) VALUES (%s, %s)", (lead_id, b"k" * 32))

    [event] = list(app.events.get(lead_id))
    assert isinstance(event, Lead.LeadCreated)
    assert event.source == "csv"
    assert (event.ou, event.job_id, event.row) == (ou, "job_from_2025", 7)
    lead: Any = app.repository.get(lead_id)
    assert isinstance(lead, Lead)
    assert lead.source == "csv"
    assert lead.fields == {"first_name": "Old"}
    assert lead.created_on == state["timestamp"]
    [entry] = lead_history([event])
    assert entry["changes"][0] == {"field": "first_name", "old": None, "new": "Old"}
