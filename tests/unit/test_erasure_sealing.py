"""The sealing mapper (adapters/sealing.py): what the event store keeps of personal data, and how
events read back with their keys and once a key is gone. Keys come from plain dicts here (the
key tables are the database's; tests/e2e/test_erasure.py runs the real thing)."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from adapters.eventstore import project
from adapters.keys import LeadKeyMissing, ValueKeyId, new_key
from adapters.sealing import SEALED, SealedStoredEvent, SealingMapper
from adapters.transcoder import OrjsonTranscoder
from domain.import_job import ImportJob
from domain.lead import Lead
from domain.row_ledger import RowBatch
from domain.undo import ERASED_REASON

EMAIL = "zebulon.quartermain@example.org"
PHONE = "+14155550199"
COMPANY = "Quartermain Żółć Ltd"


class Keys:
    """The key tables as dicts."""

    def __init__(self) -> None:
        self.leads: dict[UUID, bytes] = {}
        self.values: dict[ValueKeyId, bytes] = {}

    def lead_keys(self, ids: set[UUID], *, cached: bool) -> dict[UUID, bytes]:
        return {i: self.leads[i] for i in ids if i in self.leads}

    def value_keys(self, ids: set[ValueKeyId]) -> dict[ValueKeyId, bytes]:
        return {i: self.values[i] for i in ids if i in self.values}

    def store(self, stored: list[StoredEvent]) -> None:
        """What the recorder does with the keys a stored event brings."""
        for s in stored:
            if isinstance(s, SealedStoredEvent):
                self.leads.update(s.new_lead_keys)
                self.values.update(s.new_value_keys)


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def mapper(keys: Keys) -> SealingMapper:
    transcoder = OrjsonTranscoder()
    for name in ("register",):
        assert hasattr(transcoder, name)
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, UUIDAsHex

    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    m = SealingMapper(transcoder=transcoder)
    m.source = keys
    return m


def a_lead() -> Lead:
    lead = Lead.create(
        ou="ou-1",
        primary={"kind": "email", "value": EMAIL},
        fields={"company": COMPANY, "last_name": "Quartermain"},
        aliases=[{"kind": "phone", "value": PHONE}],
        job_id="job_1",
        row=2,
    )
    lead.update_profile(changed={"first_name": "Zebulon"}, job_id="job_2", row=3)
    lead.add_alias(alias={"kind": "email", "value": "zq@example.net"}, job_id="job_2", row=3)
    lead.revert_profile({"first_name": None}, "job_2")
    lead.remove_alias({"kind": "email", "value": "zq@example.net"}, "job_2")
    return lead


def store(mapper: SealingMapper, keys: Keys, events: list[Any]) -> list[StoredEvent]:
    stored = mapper.seal_events(events)
    keys.store(stored)
    return stored


def personal_values() -> list[bytes]:
    return [v.encode() for v in (EMAIL, PHONE, COMPANY, "Quartermain", "Zebulon", "zq@")]


def test_lead_events_keep_no_personal_value_readable(mapper: SealingMapper, keys: Keys) -> None:
    lead = a_lead()
    events = list(lead.collect_events())
    stored = store(mapper, keys, events)
    for s in stored:
        for value in personal_values():
            assert value not in s.state, (s.topic, value)
    created = orjson.loads(stored[0].state)
    # What stays readable: the OU, job, row, source, time; the rest is one sealed part.
    assert {k for k in created if k != SEALED} >= {"ou", "job_id", "row", "source", "timestamp"}
    assert "primary" not in created and "fields" not in created
    assert orjson.loads(stored[3].state)["undo"] is True
    decode = mapper.decoder(stored)
    back = [decode(s) for s in stored]
    assert [type(e) for e in back] == [type(e) for e in events]
    assert [vars(a) for a in back] == [vars(e) for e in events]
    assert not any(hasattr(e, "erased") for e in back)
    assert project(back).snapshot_view() == lead.snapshot_view()


def test_without_its_key_a_lead_reads_back_erased_and_empty(
    mapper: SealingMapper, keys: Keys
) -> None:
    lead = a_lead()
    stored = store(mapper, keys, list(lead.collect_events()))
    del keys.leads[lead.id]
    back = [mapper.to_domain_event(s) for s in stored]
    assert all(e.erased for e in back)
    assert back[0].primary == {} and back[0].fields == {} and back[0].aliases == []
    assert back[0].ou == "ou-1" and back[0].job_id == "job_1" and back[0].row == 2
    assert back[1].changed == {} and back[2].alias == {} and back[3].fields == {}
    folded = project(back)
    assert folded.identifiers == {} and folded.fields == {}
    folded.erase("data_subject_request", "erasure_x")
    assert folded.erased and folded.deleted


def test_a_sealed_part_opens_only_where_it_was_stored(mapper: SealingMapper, keys: Keys) -> None:
    lead = a_lead()
    stored = store(mapper, keys, list(lead.collect_events()))
    update = orjson.loads(stored[1].state)
    alias = orjson.loads(stored[2].state)
    alias[SEALED] = update[SEALED]  # the ciphertext of version 2 moved to version 3
    moved = StoredEvent(stored[2].originator_id, 3, stored[2].topic, orjson.dumps(alias))
    with pytest.raises(MapperDeserialisationError):
        mapper.to_domain_event(moved)
    tampered = bytearray(base64.b64decode(update[SEALED]))
    tampered[-1] ^= 1
    update[SEALED] = base64.b64encode(bytes(tampered)).decode()
    broken = StoredEvent(stored[1].originator_id, 2, stored[1].topic, orjson.dumps(update))
    with pytest.raises(MapperDeserialisationError):
        mapper.to_domain_event(broken)


def test_events_stored_before_sealing_read_as_they_are(mapper: SealingMapper, keys: Keys) -> None:
    """A plain event (no ``_sealed_``) of a lead that has a key, as the schema migration gives
    every lead stored before."""
    lead = a_lead()
    created = next(iter(lead.collect_events()))
    plain = dict(vars(created))
    lead_id, version = plain.pop("originator_id"), plain.pop("originator_version")
    plain["class_version"] = 2
    stored = StoredEvent(
        lead_id, version, "domain.lead:Lead.LeadCreated", mapper.transcoder.encode(plain)
    )
    keys.leads[lead_id] = new_key()
    assert mapper.to_domain_event(stored).primary == {"kind": "email", "value": EMAIL}
    del keys.leads[lead_id]
    assert mapper.to_domain_event(stored).primary == {}  # erased: not shown, though stored


def test_an_existing_lead_without_key_gets_no_new_event(mapper: SealingMapper, keys: Keys) -> None:
    lead = a_lead()
    store(mapper, keys, list(lead.collect_events()))
    del keys.leads[lead.id]
    lead.update_profile(changed={"company": "Other"}, job_id="job_3", row=2)
    with pytest.raises(LeadKeyMissing):
        mapper.seal_events(list(lead.collect_events()))


def test_snapshots_of_leads_are_sealed(mapper: SealingMapper, keys: Keys) -> None:
    lead = a_lead()
    store(mapper, keys, list(lead.collect_events()))
    [stored] = store(mapper, keys, [Snapshot.take(lead)])
    for value in personal_values()[:4]:
        assert value not in stored.state
    assert project([mapper.to_domain_event(stored)]).snapshot_view() == lead.snapshot_view()
    del keys.leads[lead.id]
    assert mapper.to_domain_event(stored).mutate(None).identifiers == {}


def test_ledger_values_each_have_a_key(mapper: SealingMapper, keys: Keys) -> None:
    batch = RowBatch(
        ou="ou-1",
        job_id="job_1",
        outcomes=[
            [2, "created", uuid4().hex, None, None],
            [3, "failed", None, "Invalid email format", EMAIL],
        ],
        warnings=[[2, 0, "Alias not added: Invalid phone format", "415-CALL-ZEB"], [2, 1, "w", ""]],
    )
    event: Any = next(iter(batch.collect_events()))
    [stored] = store(mapper, keys, [event])
    assert EMAIL.encode() not in stored.state and b"CALL-ZEB" not in stored.state
    assert b"Invalid email format" in stored.state  # messages are no personal data
    assert set(keys.values) == {("job_1", 3, -1), ("job_1", 2, 0)}
    back = mapper.to_domain_event(stored)
    assert back.outcomes == event.outcomes and back.warnings == event.warnings
    del keys.values[("job_1", 3, -1)]
    back = mapper.to_domain_event(stored)
    assert back.outcomes[1] == [3, "failed", None, "Invalid email format", ""]
    assert back.warnings == event.warnings


def test_undo_report_alias_entries_are_sealed_with_the_leads_key(
    mapper: SealingMapper, keys: Keys
) -> None:
    lead = a_lead()
    store(mapper, keys, list(lead.collect_events()))
    entry = {
        "lead_id": str(lead.id),
        "what": "alias",
        "alias": {"kind": "phone", "value": PHONE},
        "later_job_id": "job_9",
        "later_row": 4,
        "reason": f"Alias phone {PHONE!r} may have been used later.",
    }
    field_entry = {**entry, "what": "field", "field": "company", "reason": "Field 'company'..."}
    del field_entry["alias"]
    report = {"leads_deleted": 0, "not_undone": [entry, field_entry], "not_undone_total": 2}
    event = ImportJob.JobUndone(  # type: ignore[call-arg]
        originator_id=uuid4(),
        originator_version=5,
        timestamp=ImportJob.JobUndone.create_timestamp(),
        report=report,
    )
    [stored] = store(mapper, keys, [event])
    assert PHONE.encode() not in stored.state
    assert isinstance(stored, SealedStoredEvent) and stored.requires_keys == (lead.id,)
    assert mapper.to_domain_event(stored).report == report
    del keys.leads[lead.id]
    redacted = mapper.to_domain_event(stored).report["not_undone"]
    assert redacted[0]["alias"] == {"kind": "phone"} and redacted[0]["reason"] == ERASED_REASON
    assert redacted[1] == field_entry
    with pytest.raises(LeadKeyMissing):  # a report naming an erased lead's alias is not stored
        mapper.seal_events([event])
