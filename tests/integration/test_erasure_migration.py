"""The upgrade to sealed events (adapters/schema.sql, ``lead_keys``): a database from before gets
a key for every lead it holds, so their old plain events still read and their new events are
sealed; a lead whose events are sealed with a key the database lacks gets none (it reads as
erased rather than with a wrong key)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from eventsourcing.persistence import StoredEvent

from adapters import postgres
from adapters.eventstore import open_event_store, project
from domain.lead import Lead
from tests.services import own_database


def test_leads_from_before_get_keys_and_their_new_events_are_sealed(database_url: str) -> None:
    with own_database(database_url, "erasure_upgrade") as url:
        store = open_event_store(url, pool_size=1)
        try:
            # A lead stored sealed whose key did not come along (events copied without keys).
            copied = Lead.create(
                "ou", {"kind": "email", "value": "copied@example.org"}, {}, [], "job_1", 2
            )
            store.put([copied])
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP TABLE lead_keys")
            # A lead stored by the version before: plain JSON, no key.
            old = Lead.create(
                "ou",
                {"kind": "email", "value": "old@example.org"},
                {"city": "Oslo"},
                [],
                "job_1",
                3,
            )
            [created] = old.collect_events()
            state: dict[str, Any] = dict(vars(created))
            lead_id, version = state.pop("originator_id"), state.pop("originator_version")
            state["class_version"] = 2
            store.recorder.insert_events(
                [
                    StoredEvent(
                        lead_id,
                        version,
                        "domain.lead:Lead.LeadCreated",
                        store.mapper.transcoder.encode(state),
                    )
                ]
            )
            postgres.migrate(url)  # the upgrade
            with psycopg.connect(url) as conn:
                keyed = {r[0] for r in conn.execute("SELECT lead_id FROM lead_keys")}
            assert keyed == {old.id}

            [read] = store.load_events([old.id])[old.id]
            assert read.primary == {"kind": "email", "value": "old@example.org"}
            assert not hasattr(read, "erased")
            [unreadable] = store.load_events([copied.id])[copied.id]
            assert unreadable.primary == {} and unreadable.erased is True

            # The old lead's next event is sealed with its new key.
            lead = project([read])
            lead.update_profile(changed={"city": "Bergen"}, job_id="job_2", row=2)
            store.put([lead])
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT state FROM leadimport_events WHERE originator_id = %s"
                    " AND originator_version = 2",
                    (old.id,),
                ).fetchone()
            assert row is not None and b"Bergen" not in bytes(row[0])
            assert "_sealed_" in orjson.loads(bytes(row[0]))
            assert project(store.load_events([old.id])[old.id]).fields == {"city": "Bergen"}
        finally:
            store.close()
