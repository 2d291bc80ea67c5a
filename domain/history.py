"""A lead's history for an audit: its events in order, each with what it changed (old → new).

Pure: events in, entries out. The old and new values come from applying the events, one by one,
to the ``Lead`` aggregate itself, so the history says exactly what the aggregate (and with it the
read model) did, including the compensating events of an undo. A deleted lead has no fields and
no identifiers any more: its ``LeadDeleted`` entry lists every one of them going to ``None``.

A history is read in pages (``history_page``): a page that starts after version ``n`` needs the
lead as it was at version ``n``, which is folded from its earlier events (or from a snapshot of
the lead and the events after it); its entries are then exactly those of the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict

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
    erased: NotRequired[bool]  # the lead was erased: its values are gone (application/audit.py)


# What a reader sees of a lead: profile fields, and identifier values per kind, in order.
_View = tuple[dict[str, str], dict[str, list[str]]]


class NotALeadEvent(ValueError):
    """The events are not (all) events of one Lead, in order."""


def lead_history(events: Iterable[Any], lead: Lead | None = None) -> list[HistoryEntry]:
    """The history entries of a lead's events, given in version order from its creation, or
    from the version after ``lead`` (the lead as it was before them; it is changed in place).

    Raises ``NotALeadEvent`` when an event is not a Lead event or the sequence has a gap (the
    aggregate refuses an event whose version does not follow the previous one).
    """
    entries: list[HistoryEntry] = []
    for event in events:
        before = _view(lead)
        lead = _apply(lead, event)
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


def fold(events: Iterable[Any], lead: Lead | None = None) -> Lead | None:
    """The lead after ``events`` (in version order, from its creation or following ``lead``,
    which is changed in place), checked as ``lead_history`` checks them."""
    for event in events:
        lead = _apply(lead, event)
    return lead


def history_page(
    events: Sequence[Any], after: int, limit: int, lead: Lead | None = None
) -> tuple[list[HistoryEntry], int | None]:
    """A page of a lead's history: the entries of its first ``limit`` events after version
    ``after``, and the version to give as ``after`` for the next page (None: no more events).

    ``events``: the lead's events in version order from its creation, or following ``lead``
    (a snapshot of it at a version up to ``after``; changed in place), through version
    ``after + limit + 1`` at least (an event beyond the page says there is a next one). The
    entries are those ``lead_history`` gives for the whole history.
    """
    split = next((i for i, e in enumerate(events) if e.originator_version > after), len(events))
    before = fold(events[:split], lead)
    page = events[split : split + limit]
    entries = lead_history(page, before)
    more = len(events) - split > limit
    return entries, (entries[-1]["version"] if more else None)


def _apply(lead: Lead | None, event: Any) -> Lead:
    try:
        mutated = event.mutate(lead)
    except (OriginatorIDError, OriginatorVersionError, AssertionError) as e:
        # another aggregate's event, a gap, or a second "created" (the library asserts)
        raise NotALeadEvent(f"{type(event).__name__} cannot follow: {e!r}") from e
    if not isinstance(mutated, Lead):
        raise NotALeadEvent(f"{type(event).__name__} is not an event of a Lead")
    return mutated


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
