"""The relay leaves the events it never publishes undecoded (``RowsApplied``: the bulk of the
log, whose values would each cost a key read): one it could not even read stops nothing, while a
lead event of the same batch is published as always."""

from __future__ import annotations

import threading
import uuid

import psycopg
from eventsourcing.persistence import Notification

from adapters.kafka import TOPIC_LEAD_EVENTS
from application.container import Container
from application.envelopes import Outgoing
from application.relaying import Relay
from domain.lead import Lead


def test_unpublished_events_are_not_decoded(container: Container, database_url: str) -> None:
    lead = Lead.create(
        "ou-relay-skip", {"kind": "email", "value": "skip@example.org"}, {}, [], "job_r", 2
    )
    container.store.put([lead])
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT notification_id FROM leadimport_events WHERE originator_id = %s", (lead.id,)
        ).fetchone()
    assert row is not None
    [created] = container.store.recorder.select_notifications(row["notification_id"], 1)
    unreadable = Notification(
        id=created.id + 1_000_000,
        originator_id=uuid.uuid4(),
        originator_version=1,
        topic="domain.row_ledger:RowBatch.RowsApplied",
        state=b"\xff not JSON",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        relay = Relay(container, threading.Event(), conn, 1, {})
        try:
            out = relay._outgoing([unreadable, created])
        finally:
            relay.producer.close(timeout=5)
            relay.admin.close()
    assert len(out) == 1 and isinstance(out[0], Outgoing)
    assert (out[0].topic, out[0].key) == (TOPIC_LEAD_EVENTS, str(lead.id).encode())
    assert relay.failures == {}
