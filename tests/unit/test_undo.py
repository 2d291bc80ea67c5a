"""Unit tests of the undo of a whole import: the pure decision per lead, the compensating Lead
events, the report, and the ImportJob undo lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import Conflict
from domain.import_job import ImportJob
from domain.lead import Lead
from domain.undo import MAX_LISTED, LeadUndo, UndoReport, decide_undo, identifier_kinds

EMAIL_ONLY = frozenset({"email"})
EMAIL_AND_PHONE = frozenset({"email", "phone"})
KINDS = {"job_a": EMAIL_AND_PHONE, "job_b": EMAIL_ONLY, "job_c": EMAIL_AND_PHONE}
PHONE = {"kind": "phone", "value": "+14155552671"}


def created_by(job_id: str, **fields: str) -> Lead:
    return Lead(
        ou="ou-1",
        primary={"kind": "email", "value": "jane@example.com"},
        fields=dict(fields),
        aliases=[],
        job_id=job_id,
        row=2,
    )


def events_of(lead: Lead, history: list[Any] | None = None) -> list[Any]:
    """Everything stored for the lead so far (earlier events plus the pending ones)."""
    return [*(history or []), *lead.collect_events()]


def apply(lead: Lead, undo: LeadUndo, job_id: str) -> None:
    """What the undo worker does with a decision."""
    if undo.revert:
        lead.revert_profile(undo.revert, job_id)
    for alias in undo.remove_aliases:
        lead.remove_alias(alias, job_id)
    if undo.delete:
        lead.delete(job_id)


# --- leads the job created -------------------------------------------------------------------


def test_a_lead_the_job_created_is_deleted() -> None:
    lead = created_by("job_a", first_name="Jane")
    lead.update_profile(changed={"company": "Acme"}, job_id="job_a", row=5)  # same file, row 5
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert undo.delete
    assert (undo.revert, undo.remove_aliases, undo.not_undone) == ({}, [], [])


def test_a_created_lead_changed_later_by_another_job_is_kept_and_reported() -> None:
    lead = created_by("job_a", first_name="Jane")
    lead.update_profile(changed={"company": "Acme"}, job_id="job_b", row=7)
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert not undo.compensates
    [kept] = undo.not_undone
    assert (kept.what, kept.later_job_id, kept.later_row) == ("lead", "job_b", 7)
    assert "job_b, row 7" in kept.reason


def test_a_created_lead_is_deleted_when_the_later_job_was_undone_first() -> None:
    lead = created_by("job_a", first_name="Jane")
    lead.update_profile(changed={"company": "Acme"}, job_id="job_b", row=7)
    history = events_of(lead)
    apply(lead, decide_undo(history, "job_b", KINDS), "job_b")  # undo B: company removed
    history = events_of(lead, history)
    assert lead.fields == {"first_name": "Jane"}
    assert decide_undo(history, "job_a", KINDS).delete


# --- profile fields --------------------------------------------------------------------------


def test_changed_fields_go_back_to_their_old_values_and_new_ones_are_removed() -> None:
    lead = created_by("job_0", first_name="Jane", company="Old Inc")
    lead.update_profile(changed={"company": "Acme", "title": "CTO"}, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Acme 2"}, job_id="job_a", row=9)  # same file again
    history = events_of(lead)
    undo = decide_undo(history, "job_a", KINDS)
    assert undo.revert == {"company": "Old Inc", "title": None}
    assert not undo.delete and undo.not_undone == []
    apply(lead, undo, "job_a")
    assert lead.fields == {"first_name": "Jane", "company": "Old Inc"}


def test_a_field_changed_again_later_keeps_the_later_value() -> None:
    lead = created_by("job_0", company="Old Inc", city="Paris")
    lead.update_profile(changed={"company": "Acme", "city": "Lyon"}, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Beta"}, job_id="job_b", row=4)
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert undo.revert == {"city": "Paris"}
    [kept] = undo.not_undone
    assert (kept.what, kept.field, kept.later_job_id, kept.later_row) == (
        "field",
        "company",
        "job_b",
        4,
    )


def test_a_later_change_between_two_rows_of_the_job_is_a_conflict() -> None:
    lead = created_by("job_0", company="Old Inc")
    lead.update_profile(changed={"company": "Acme"}, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Beta"}, job_id="job_b", row=4)
    lead.update_profile(changed={"company": "Acme"}, job_id="job_a", row=8)
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert undo.revert == {}
    assert [(n.field, n.later_job_id) for n in undo.not_undone] == [("company", "job_b")]


def test_a_field_whose_later_change_was_undone_goes_back() -> None:
    lead = created_by("job_0", company="Old Inc")
    lead.update_profile(changed={"company": "Acme"}, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Beta"}, job_id="job_b", row=4)
    history = events_of(lead)
    apply(lead, decide_undo(history, "job_b", KINDS), "job_b")  # back to Acme
    history = events_of(lead, history)
    assert lead.fields["company"] == "Acme"
    undo = decide_undo(history, "job_a", KINDS)
    assert undo.revert == {"company": "Old Inc"}
    assert undo.not_undone == []


def test_a_field_already_back_at_its_old_value_needs_no_revert() -> None:
    lead = created_by("job_0", company="Old Inc")
    lead.update_profile(changed={"company": "Acme"}, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Old Inc"}, job_id="job_a", row=4)
    assert decide_undo(events_of(lead), "job_a", KINDS).revert == {}


def test_earlier_changes_of_other_jobs_are_not_conflicts() -> None:
    lead = created_by("job_0", company="Old Inc")
    lead.update_profile(changed={"city": "Paris"}, job_id="job_b", row=2)
    lead.update_profile(changed={"city": "Lyon"}, job_id="job_a", row=2)
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert undo.revert == {"city": "Paris"}
    assert undo.not_undone == []


# --- aliases ---------------------------------------------------------------------------------


def test_an_alias_the_job_added_is_removed_when_no_later_job_maps_its_kind() -> None:
    lead = created_by("job_0")
    lead.add_alias(alias=PHONE, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Beta"}, job_id="job_b", row=4)  # email only
    history = events_of(lead)
    undo = decide_undo(history, "job_a", KINDS)
    assert undo.remove_aliases == [PHONE]
    apply(lead, undo, "job_a")
    assert lead.identifiers == {"email": ["jane@example.com"]}


def test_an_alias_that_may_have_been_used_later_is_kept() -> None:
    lead = created_by("job_0")
    lead.add_alias(alias=PHONE, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Gamma"}, job_id="job_c", row=6)  # maps phones
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert undo.remove_aliases == []
    [kept] = undo.not_undone
    assert (kept.what, kept.alias, kept.later_job_id, kept.later_row) == (
        "alias",
        PHONE,
        "job_c",
        6,
    )


def test_a_later_job_of_unknown_mapping_keeps_the_alias() -> None:
    lead = created_by("job_0")
    lead.add_alias(alias=PHONE, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Gamma"}, job_id="job_x", row=6)
    assert decide_undo(events_of(lead), "job_a", KINDS).remove_aliases == []


def test_identifier_kinds_of_a_job_are_its_primary_and_alias_kinds() -> None:
    job = new_job(alias_mappings=[["Mobile", "_alias_phone"], ["Id", "_alias_external_id"]])
    assert identifier_kinds(job) == frozenset({"email", "phone", "external_id"})


# --- idempotence and leads with nothing to undo ----------------------------------------------


def test_a_lead_already_compensated_is_not_compensated_twice_but_reported_again() -> None:
    lead = created_by("job_0", company="Old Inc", city="Paris")
    lead.update_profile(changed={"company": "Acme", "city": "Lyon"}, job_id="job_a", row=3)
    lead.add_alias(alias=PHONE, job_id="job_a", row=3)
    lead.update_profile(changed={"company": "Beta"}, job_id="job_b", row=4)
    history = events_of(lead)
    first = decide_undo(history, "job_a", KINDS)
    apply(lead, first, "job_a")
    history = events_of(lead, history)
    # A later import after the undo does not change what the redelivered undo reports.
    lead.update_profile(changed={"city": "Nice"}, job_id="job_c", row=2)
    again = decide_undo(events_of(lead, history), "job_a", KINDS)
    assert again.already_applied
    assert (again.revert, again.remove_aliases, again.not_undone) == (
        first.revert,
        first.remove_aliases,
        first.not_undone,
    )


def test_a_deleted_lead_is_recognised_as_done() -> None:
    lead = created_by("job_a")
    history = events_of(lead)
    lead.delete("job_a")
    undo = decide_undo(events_of(lead, history), "job_a", KINDS)
    assert undo.already_applied and undo.delete


def test_a_lead_the_job_did_not_change_needs_nothing() -> None:
    lead = created_by("job_0", company="Old Inc")
    lead.update_profile(changed={"company": "Beta"}, job_id="job_b", row=4)
    undo = decide_undo(events_of(lead), "job_a", KINDS)
    assert not undo.compensates and undo.not_undone == [] and not undo.already_applied


# --- the compensating events -----------------------------------------------------------------


def test_compensating_events_carry_the_undone_job_and_change_the_lead() -> None:
    lead = created_by("job_0", company="Old Inc")
    lead.add_alias(alias=PHONE, job_id="job_a", row=3)
    lead.update_profile(changed={"title": "CTO"}, job_id="job_a", row=3)
    lead.collect_events()
    lead.revert_profile({"title": None, "company": "Older Inc"}, "job_a")
    lead.remove_alias(PHONE, "job_a")
    lead.delete("job_a")
    reverted, removed, deleted = lead.collect_events()
    assert isinstance(reverted, Lead.LeadProfileReverted)
    assert reverted.fields == {"title": None, "company": "Older Inc"}
    assert isinstance(removed, Lead.LeadAliasRemoved)
    assert removed.alias == PHONE
    assert isinstance(deleted, Lead.LeadDeleted)
    assert all(e.job_id == "job_a" and e.undo is True for e in (reverted, removed, deleted))
    assert lead.deleted
    assert lead.identifiers == {}


# --- the report ------------------------------------------------------------------------------


def test_the_report_counts_everything_and_lists_a_bounded_number_of_conflicts() -> None:
    report = UndoReport()
    lead = created_by("job_a")
    report.add(decide_undo(events_of(lead), "job_a", KINDS))
    kept = created_by("job_0", company="Old")
    kept.update_profile(changed={"company": "New", "city": "Rome"}, job_id="job_a", row=2)
    kept.update_profile(changed={"company": "Newer"}, job_id="job_b", row=3)
    kept_undo = decide_undo(events_of(kept), "job_a", KINDS)
    report.add(kept_undo)
    many = LeadUndo(lead.id, not_undone=kept_undo.not_undone)
    for _ in range(MAX_LISTED + 5):
        report.add(many)
    body = report.as_dict()
    assert body["leads_deleted"] == 1
    assert (body["leads_reverted"], body["fields_reverted"], body["aliases_removed"]) == (1, 1, 0)
    assert body["not_undone_total"] == MAX_LISTED + 6
    assert len(body["not_undone"]) == MAX_LISTED
    assert body["not_undone"][0] == {
        "lead_id": str(kept.id),
        "what": "field",
        "field": "company",
        "later_job_id": "job_b",
        "later_row": 3,
        "reason": "Field 'company' was changed again later by job job_b, row 3: "
        "the later value is kept.",
    }


# --- the job's lifecycle ---------------------------------------------------------------------


def new_job(**overrides: Any) -> ImportJob:
    args: dict[str, Any] = {
        "ou": "ou-1",
        "file_id": "preview_x",
        "file_name": "leads.csv",
        "total_rows": 1,
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": [],
        "alias_mappings": [],
        "ignored_fields": [],
        "default_country": "US",
    }
    args.update(overrides)
    return ImportJob(**args)


def test_only_completed_or_cancelled_jobs_can_be_undone() -> None:
    queued = new_job()
    with pytest.raises(Conflict, match="Cancel it first"):
        queued.request_undo()
    running = new_job()
    running.start()
    with pytest.raises(Conflict, match="Cancel it first"):
        running.request_undo()
    failed = new_job()
    failed.fail("file gone")
    with pytest.raises(Conflict, match="Only completed or cancelled"):
        failed.request_undo()
    cancelled = new_job()
    cancelled.cancel()
    assert cancelled.request_undo()


def test_undo_lifecycle_is_undoing_then_undone() -> None:
    job = new_job()
    job.complete()
    assert job.request_undo() is True
    assert job.status == "undoing"
    assert job.request_undo() is False  # asking again while it runs changes nothing
    with pytest.raises(Conflict):
        job.cancel()
    job.finish_undo({"leads_deleted": 1})
    assert (job.status, job.undo_report) == ("undone", {"leads_deleted": 1})
    with pytest.raises(Conflict, match="already undone"):
        job.request_undo()
    with pytest.raises(Conflict):
        job.finish_undo({})
    names = [type(e).__name__ for e in job.collect_events()]
    assert names[-2:] == ["JobUndoRequested", "JobUndone"]
