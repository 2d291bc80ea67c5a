"""Unit tests for ``domain.history.history_page``: a page of a lead's history, started from the
lead's creation or from a snapshot, gives exactly the entries of the whole history."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper

from adapters.transcoder import OrjsonTranscoder
from domain.history import NotALeadEvent, fold, history_page, lead_history
from domain.lead import Lead


def busy_lead() -> list[Any]:
    """The events of a lead that went through every kind of event: 12 of them."""
    lead = Lead(
        ou="ou-1",
        primary={"kind": "email", "value": "jane@example.com"},
        fields={"first_name": "Jane", "company": "Example Inc"},
        aliases=[{"kind": "phone", "value": "+14155552671"}],
        job_id="job_a",
        row=2,
    )
    for row in range(3, 8):  # a field going back and forth, as a shared inbox's rows do
        lead.update_profile(
            changed={"company": ("Acme", "Globex")[row % 2]}, job_id="job_b", row=row
        )
    lead.add_alias(alias={"kind": "cookie", "value": "ck-1"}, job_id="job_b", row=8)
    lead.update_profile(changed={"title": "CTO"}, job_id="job_c", row=2)
    lead.revert_profile({"title": None, "company": "Acme"}, "job_c")
    lead.remove_alias({"kind": "cookie", "value": "ck-1"}, "job_b")
    lead.add_alias(alias={"kind": "phone", "value": "+14155550000"}, job_id="job_d", row=4)
    lead.delete("job_a")
    events: list[Any] = list(lead.collect_events())
    assert [e.originator_version for e in events] == list(range(1, 13))
    return events


def walk(events: list[Any], limit: int) -> list[Any]:
    """Every page from the first, as a client pages through them."""
    entries: list[Any] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        through = after + limit + 1
        page, after = history_page(
            [e for e in events if e.originator_version <= through], after, limit
        )
        entries += page
        pages += 1
        assert pages <= len(events) + 1, "the pages do not end"
    return entries


def stored_and_read(snapshot: Snapshot) -> Any:
    """The snapshot through the event store's mapper and transcoder, as it is stored and read
    back (a snapshot taken in memory shares the lead's dicts)."""
    transcoder = OrjsonTranscoder()
    Application.register_transcodings(Application, transcoder)  # type: ignore[arg-type]
    mapper: Mapper[Any] = Mapper(transcoder=transcoder)
    return mapper.to_domain_event(mapper.to_stored_event(snapshot))


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 11, 12, 13, 1000])
def test_walking_the_pages_gives_the_whole_history_once_in_order(limit: int) -> None:
    events = busy_lead()
    assert walk(events, limit) == lead_history(events)


def test_a_page_starting_anywhere_has_the_entries_of_the_whole_history() -> None:
    events = busy_lead()
    whole = lead_history(events)
    for after in range(0, len(events) + 2):
        for limit in (1, 2, 4, 20):
            page, next_after = history_page(events, after, limit)
            assert page == whole[after : after + limit], (after, limit)
            more = after + limit < len(events)
            assert next_after == (after + limit if more else None), (after, limit)


def test_a_page_from_a_snapshot_has_the_entries_of_the_whole_history() -> None:
    events = busy_lead()
    whole = lead_history(events)
    for at in range(1, len(events) + 1):
        at_version = fold(events[:at])
        assert at_version is not None and at_version.version == at
        for after in range(at, len(events) + 1):
            lead = stored_and_read(Snapshot.take(at_version)).mutate(None)
            assert isinstance(lead, Lead)
            page, _ = history_page(events[at:], after, 3, lead)
            assert page == whole[after : after + 3], (at, after)


def test_only_the_events_up_to_one_beyond_the_page_are_needed() -> None:
    events = busy_lead()
    page, next_after = history_page(events[:5], 2, 2)
    assert [e["version"] for e in page] == [3, 4] and next_after == 4
    page, next_after = history_page(events[:4], 2, 2)
    assert [e["version"] for e in page] == [3, 4] and next_after is None


def test_a_page_of_events_that_do_not_follow_the_lead_is_refused() -> None:
    events = busy_lead()
    with pytest.raises(NotALeadEvent):
        history_page(events[3:], 3, 2)  # no creation, no snapshot
    lead = fold(events[:2])
    with pytest.raises(NotALeadEvent):
        history_page(events[4:], 4, 2, lead)  # a gap after the snapshot's version
