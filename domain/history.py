"""A lead's history for an audit: its events in order, each with what it changed (old → new).

Pure: events in, entries out. The old and new values come from applying the events, one by one,
to the ``Lead`` aggregate itself, so the history says exactly what the aggregate (and with it the
read model) did, including the compensating events of an undo. A deleted lead has no fields and
no identifiers any more: its ``LeadDeleted`` entry lists every one of them going to ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict

from eventsourcing.domain import OriginatorIDError, OriginatorVersionError

from domain.lead import Lead


class FieldChange(TypedDict):
    """A profile field: ``old`` None = it was not set; ``new`` None = it was removed."""

    field: str
    old: str | None
    new: str | None


class IdentifierChange(TypedDict):
    """One identifier value of a kind: ``old`` None = added; ``new`` None = removed."""

    identifier: str
    old: str | None
    new: str | None


Change = FieldChange | IdentifierChange


class HistoryEntry(TypedDict):
    """One event of the lead, as an auditor reads it."""

    version: int
    occurred_at: datetime
    type: str
    job_id: str | None
    row: int | None
    changes: list[Change]


# What a reader sees of a lead: profile fields, and identifier values per kind, in order.
_View = tuple[dict[str, str], dict[str, list[str]]]


class NotALeadEvent(ValueError):
    """The events are not (all) events of one Lead, in order."""


def lead_history(events: Iterable[Any]) -> list[HistoryEntry]:
    """The history entries of a lead's events, given in version order from its creation.

    Raises ``NotALeadEvent`` when an event is not a Lead event or the sequence has a gap (the
    aggregate refuses an event whose version does not follow the previous one).
    """
    lead: Lead | None = None
    entries: list[HistoryEntry] = []
    for event in events:
        before = _view(lead)
        try:
            mutated = event.mutate(lead)
        except (OriginatorIDError, OriginatorVersionError, AssertionError) as e:
            # another aggregate's event, a gap, or a second "created" (the library asserts)
            raise NotALeadEvent(f"{type(event).__name__} cannot follow: {e!r}") from e
        if not isinstance(mutated, Lead):
            raise NotALeadEvent(f"{type(event).__name__} is not an event of a Lead")
        lead = mutated
        entries.append(
            {
                "version": int(event.originator_version),
                "occurred_at": event.timestamp,
                "type": type(event).__name__,
                "job_id": getattr(event, "job_id", None),
                "row": getattr(event, "row", None),
                "changes": changes(before, _view(lead)),
            }
        )
    return entries


def changes(before: _View, after: _View) -> list[Change]:
    """Field changes (in the lead's field order, removed fields last), then identifier changes
    (per kind, added values then removed ones)."""
    old_fields, old_ids = before
    new_fields, new_ids = after
    out: list[Change] = []
    for name in [*new_fields, *(n for n in old_fields if n not in new_fields)]:
        old, new = old_fields.get(name), new_fields.get(name)
        if old != new:
            out.append({"field": name, "old": old, "new": new})
    for kind in [*new_ids, *(k for k in old_ids if k not in new_ids)]:
        old_values, new_values = old_ids.get(kind, []), new_ids.get(kind, [])
        for value in new_values:
            if value not in old_values:
                out.append({"identifier": kind, "old": None, "new": value})
        for value in old_values:
            if value not in new_values:
                out.append({"identifier": kind, "old": value, "new": None})
    return out


def _view(lead: Lead | None) -> _View:
    """A copy of what the read model shows of ``lead`` (events mutate the aggregate in place)."""
    if lead is None or getattr(lead, "deleted", False):
        return {}, {}
    return dict(lead.fields), {kind: list(values) for kind, values in lead.identifiers.items()}
