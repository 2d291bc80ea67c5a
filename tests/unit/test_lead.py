"""Unit tests for the Lead aggregate: its events, their provenance, identifiers only added."""

from __future__ import annotations

from typing import Any

from domain.lead import Lead

PRIMARY = {"kind": "email", "value": "jane@example.com"}


def new_lead(**overrides: Any) -> Lead:
    args: dict[str, Any] = {
        "ou": "ou-1",
        "primary": PRIMARY,
        "fields": {"first_name": "Jane", "company": "Example Inc"},
        "aliases": [{"kind": "phone", "value": "5550200"}],
        "job_id": "job_a",
        "row": 2,
    }
    args.update(overrides)
    return Lead(**args)


def replay(events: list[Any]) -> Lead:
    lead: Any = None
    for e in events:
        lead = e.mutate(lead)
    assert isinstance(lead, Lead)
    return lead


def test_created_event_carries_everything_and_its_provenance() -> None:
    lead = new_lead()
    [created] = lead.collect_events()
    assert isinstance(created, Lead.LeadCreated)
    assert created.originator_id == lead.id
    assert created.ou == "ou-1"
    assert created.primary == PRIMARY
    assert created.fields == {"first_name": "Jane", "company": "Example Inc"}
    assert created.aliases == [{"kind": "phone", "value": "5550200"}]
    assert (created.job_id, created.row) == ("job_a", 2)
    assert lead.identifiers == {"email": ["jane@example.com"], "phone": ["5550200"]}
    assert lead.fields == {"first_name": "Jane", "company": "Example Inc"}


def test_profile_update_and_alias_events_carry_job_and_row() -> None:
    lead = new_lead()
    lead.update_profile(changed={"company": "Acme"}, job_id="job_b", row=17)
    lead.add_alias(alias={"kind": "phone", "value": "5550100"}, job_id="job_b", row=17)
    _, updated, added = lead.collect_events()
    assert isinstance(updated, Lead.LeadProfileUpdated)
    assert (updated.changed, updated.job_id, updated.row) == ({"company": "Acme"}, "job_b", 17)
    assert isinstance(added, Lead.LeadAliasAdded)
    assert (added.alias, added.job_id, added.row) == (
        {"kind": "phone", "value": "5550100"},
        "job_b",
        17,
    )
    assert lead.version == 3


def test_profile_update_overwrites_only_the_changed_fields() -> None:
    lead = new_lead()
    lead.update_profile(changed={"title": "CEO", "company": "Acme"}, job_id="job_b", row=3)
    assert lead.fields == {"first_name": "Jane", "company": "Acme", "title": "CEO"}


def test_identifiers_are_only_added() -> None:
    """The spec's example: a lead with phone 555-0200 gets 555-0100 too."""
    lead = new_lead()
    lead.add_alias(alias={"kind": "phone", "value": "5550100"}, job_id="job_b", row=2)
    lead.add_alias(alias={"kind": "email", "value": "jd@work.example"}, job_id="job_b", row=3)
    assert lead.identifiers == {
        "email": ["jane@example.com", "jd@work.example"],
        "phone": ["5550200", "5550100"],
    }
    assert lead.has_identifier("phone", "5550200")
    assert lead.has_identifier("phone", "5550100")
    assert not lead.has_identifier("social", "5550100")
    # Imports never remove an identifier: only the undo of the import that added it does, with a
    # compensating LeadAliasRemoved (tests/unit/test_undo.py).


def test_an_identifier_is_held_once() -> None:
    lead = new_lead(aliases=[PRIMARY, {"kind": "phone", "value": "5550200"}] * 2)
    lead.add_alias(alias={"kind": "phone", "value": "5550200"}, job_id="job_b", row=2)
    assert lead.identifiers == {"email": ["jane@example.com"], "phone": ["5550200"]}


def test_replaying_the_events_rebuilds_the_lead() -> None:
    lead = new_lead()
    lead.update_profile(changed={"title": "CTO"}, job_id="job_b", row=5)
    lead.add_alias(alias={"kind": "social", "value": "janedoe"}, job_id="job_b", row=5)
    rebuilt = replay(list(lead.collect_events()))
    assert rebuilt.id == lead.id
    assert rebuilt.version == lead.version
    assert rebuilt.snapshot_view() == lead.snapshot_view()
    assert rebuilt.snapshot_view() == {
        "lead_id": str(lead.id),
        "identifiers": {
            "email": ["jane@example.com"],
            "phone": ["5550200"],
            "social": ["janedoe"],
        },
        "fields": {"first_name": "Jane", "company": "Example Inc", "title": "CTO"},
    }


def test_snapshot_view_is_a_copy() -> None:
    lead = new_lead()
    view = lead.snapshot_view()
    view["identifiers"]["email"].append("x@example.com")
    view["fields"]["company"] = "changed"
    assert lead.identifiers["email"] == ["jane@example.com"]
    assert lead.fields["company"] == "Example Inc"


def _state(lead: Lead) -> dict[str, Any]:
    skip = {"_id", "_created_on", "_modified_on", "_pending_events"}
    return {k: v for k, v in vars(lead).items() if k not in skip}


def test_create_is_the_constructor_without_its_machinery() -> None:
    args: dict[str, Any] = {
        "ou": "ou-1",
        "primary": PRIMARY,
        "fields": {"first_name": "Jane"},
        "aliases": [{"kind": "phone", "value": "5550200"}, {"kind": "social", "value": "@jane"}],
        "job_id": "job_a",
        "row": 2,
    }
    built, created = Lead(**args), Lead.create(**args)
    assert _state(created) == _state(built) and created.version == built.version == 1
    [a], [b] = built.collect_events(), created.collect_events()
    assert type(a) is type(b)
    assert created.id == b.originator_id and created.created_on == b.timestamp
    assert {k: v for k, v in vars(b).items() if k not in ("originator_id", "timestamp")} == {
        k: v for k, v in vars(a).items() if k not in ("originator_id", "timestamp")
    }
    # the stored event rebuilds the same lead, and later events apply on top as usual
    created.update_profile(changed={"city": "Oslo"}, job_id="job_b", row=3)
    rebuilt = replay([b, *created.collect_events()])
    assert _state(rebuilt) == _state(created) and rebuilt.version == 2
    assert Lead.create(**args).id != created.id


def test_lead_ids_are_time_ordered_uuid7() -> None:
    import time
    from uuid import UUID

    from domain.lead import new_lead_id

    ids = []
    for _ in range(5):
        ids.append(new_lead_id())
        time.sleep(0.002)  # ordering is by millisecond
    assert ids == sorted(ids, key=lambda u: u.int)
    for lead_id in ids:
        assert lead_id.version == 7 and lead_id.variant == "specified in RFC 4122"
        assert abs((lead_id.int >> 80) - time.time() * 1000) < 60_000
    assert len({new_lead_id() for _ in range(10_000)}) == 10_000
    assert (
        new_lead().id.version == 7
        and Lead.create(
            ou="o", primary=PRIMARY, fields={}, aliases=[], job_id="j", row=2
        ).id.version
        == 7
    )
    assert isinstance(ids[0], UUID)
