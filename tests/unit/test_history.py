"""Unit tests for ``domain.history``: a lead's events become audit entries with old → new values."""

from __future__ import annotations

from typing import Any

import pytest

from domain.history import NotALeadEvent, changes, lead_history
from domain.import_job import ImportJob
from domain.lead import Lead


def imported_lead() -> Lead:
    return Lead(
        ou="ou-1",
        primary={"kind": "email", "value": "jane@example.com"},
        fields={"first_name": "Jane", "company": "Example Inc"},
        aliases=[{"kind": "phone", "value": "+14155552671"}],
        job_id="job_a",
        row=2,
    )


def test_created_lists_every_field_and_identifier_as_new() -> None:
    lead = imported_lead()
    [entry] = lead_history(lead.collect_events())
    assert entry["version"] == 1
    assert entry["type"] == "LeadCreated"
    assert (entry["job_id"], entry["row"]) == ("job_a", 2)
    assert entry["occurred_at"] == lead.created_on
    assert entry["changes"] == [
        {"field": "first_name", "old": None, "new": "Jane"},
        {"field": "company", "old": None, "new": "Example Inc"},
        {"identifier": "email", "old": None, "new": "jane@example.com"},
        {"identifier": "phone", "old": None, "new": "+14155552671"},
    ]


def test_updates_and_aliases_show_old_and_new_values_with_their_job_and_row() -> None:
    lead = imported_lead()
    lead.update_profile(changed={"company": "Acme", "title": "CTO"}, job_id="job_b", row=7)
    lead.add_alias(alias={"kind": "email", "value": "j@acme.com"}, job_id="job_b", row=7)
    lead.update_profile(changed={"company": "Globex"}, job_id="job_c", row=3)
    entries = lead_history(lead.collect_events())
    assert [(e["version"], e["type"], e["job_id"], e["row"]) for e in entries] == [
        (1, "LeadCreated", "job_a", 2),
        (2, "LeadProfileUpdated", "job_b", 7),
        (3, "LeadAliasAdded", "job_b", 7),
        (4, "LeadProfileUpdated", "job_c", 3),
    ]
    assert entries[1]["changes"] == [
        {"field": "company", "old": "Example Inc", "new": "Acme"},
        {"field": "title", "old": None, "new": "CTO"},
    ]
    assert entries[2]["changes"] == [{"identifier": "email", "old": None, "new": "j@acme.com"}]
    assert entries[3]["changes"] == [{"field": "company", "old": "Acme", "new": "Globex"}]
    assert [e["occurred_at"] for e in entries] == sorted(e["occurred_at"] for e in entries)


def test_an_update_to_the_same_value_changes_nothing() -> None:
    lead = imported_lead()
    lead.update_profile(changed={"company": "Example Inc"}, job_id="job_b", row=5)
    assert lead_history(lead.collect_events())[1]["changes"] == []


def test_undo_events_take_values_back_and_deletion_removes_everything() -> None:
    lead = imported_lead()
    lead.update_profile(changed={"company": "Acme", "title": "CTO"}, job_id="job_b", row=7)
    lead.add_alias(alias={"kind": "cookie", "value": "c-1"}, job_id="job_b", row=7)
    lead.revert_profile({"company": "Example Inc", "title": None}, undo_of_job="job_b")
    lead.remove_alias({"kind": "cookie", "value": "c-1"}, undo_of_job="job_b")
    lead.delete(undo_of_job="job_a")
    entries = lead_history(lead.collect_events())
    reverted, removed, deleted = entries[3:]
    assert (reverted["type"], reverted["job_id"], reverted["row"]) == (
        "LeadProfileReverted",
        "job_b",
        None,
    )
    assert reverted["changes"] == [
        {"field": "company", "old": "Acme", "new": "Example Inc"},
        {"field": "title", "old": "CTO", "new": None},
    ]
    assert removed["changes"] == [{"identifier": "cookie", "old": "c-1", "new": None}]
    assert (deleted["type"], deleted["job_id"]) == ("LeadDeleted", "job_a")
    assert deleted["changes"] == [
        {"field": "first_name", "old": "Jane", "new": None},
        {"field": "company", "old": "Example Inc", "new": None},
        {"identifier": "email", "old": "jane@example.com", "new": None},
        {"identifier": "phone", "old": "+14155552671", "new": None},
    ]


def test_no_events_no_entries() -> None:
    assert lead_history([]) == []


def test_events_of_something_else_or_with_a_gap_are_refused() -> None:
    job = ImportJob(
        ou="ou-1",
        file_id="f",
        file_name="a.csv",
        total_rows=1,
        primary_identifier={"column": "Email", "kind": "email"},
        field_mappings=[],
        alias_mappings=[],
        ignored_fields=[],
        default_country="US",
    )
    with pytest.raises(NotALeadEvent, match="not an event of a Lead"):
        lead_history(job.collect_events())
    lead = imported_lead()
    lead.update_profile(changed={"company": "Acme"}, job_id="job_b", row=3)
    lead.update_profile(changed={"company": "Globex"}, job_id="job_c", row=3)
    created, _, last = lead.collect_events()
    with pytest.raises(NotALeadEvent):
        lead_history([created, last])
    other: Any = imported_lead().collect_events()[0]
    with pytest.raises(NotALeadEvent):
        lead_history([created, other])
    with pytest.raises(NotALeadEvent):
        lead_history([last])


def test_changes_orders_fields_then_identifiers_and_removals_last() -> None:
    before = ({"a": "1", "b": "2"}, {"email": ["x@e.com"], "phone": ["1"]})
    after = ({"b": "3", "c": "4"}, {"email": ["x@e.com", "y@e.com"]})
    assert changes(before, after) == [
        {"field": "b", "old": "2", "new": "3"},
        {"field": "c", "old": None, "new": "4"},
        {"field": "a", "old": "1", "new": None},
        {"identifier": "email", "old": None, "new": "y@e.com"},
        {"identifier": "phone", "old": "1", "new": None},
    ]
