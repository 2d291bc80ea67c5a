"""Audit: one lead's history (``GET /leads/{lead_id}/history``, ``leadimport audit``), a page
at a time: the events after a version, at most ``MAX_HISTORY_LIMIT`` of them. The history of an
erased lead lists its events with their types, jobs, rows and times, each marked ``erased``
and without values."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from application.container import Container
from application.leads import lead_of
from domain.errors import InvalidRequest, NotFound
from domain.history import HistoryEntry, history_page
from domain.identifiers import IdentifierKind, normalize
from domain.lead import Lead

DEFAULT_HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 1000


def lead_history_page(
    c: Container, ou: str, lead_id: UUID, after: int = 0, limit: int = DEFAULT_HISTORY_LIMIT
) -> tuple[list[HistoryEntry], int | None] | None:
    """``GET /leads/{lead_id}/history``: the entries of the lead's first ``limit`` events after
    version ``after`` and the ``after`` of the next page (None: the last page); None for a
    foreign or unknown id."""
    # The lead's latest snapshot up to ``after`` (the page's entries need the lead as it was
    # before them), the events after it, and one event beyond the page: there is a next page.
    events = c.store.load_history(lead_id, after, after + limit + 1)
    lead: Lead | None = None
    if events and isinstance(events[0], Snapshot):
        snapshot_of = events.pop(0).mutate(None)
        if not isinstance(snapshot_of, Lead) or snapshot_of.ou != ou:
            return None
        lead = snapshot_of
    elif not events or type(events[0]) is not Lead.LeadCreated or events[0].ou != ou:
        return None
    entries, next_after = history_page(events, after, limit, lead)
    # An erased lead's events read back without their values (adapters/sealing.py): each entry
    # says so instead of showing changes from and to nothing.
    erased = {e.originator_version for e in events if getattr(e, "erased", False)}
    for entry in entries:
        if entry["version"] in erased:
            entry["erased"] = True
    return entries, next_after


def audit(
    c: Container,
    ou: str,
    kind: IdentifierKind,
    raw_value: str,
    default_country: str = "US",
    after: int = 0,
    limit: int = DEFAULT_HISTORY_LIMIT,
) -> dict[str, Any]:
    """``leadimport audit``: a page of the history of the lead of ``ou`` holding an identifier
    (as ``GET /leads/{lead_id}/history`` answers it).

    Raises ``NotFound`` when no lead holds it (identifiers of a deleted lead are released),
    ``InvalidRequest`` for a page out of bounds.
    """
    if after < 0 or not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise InvalidRequest(
            f"The page must start after a version of at least 0 and hold 1 to "
            f"{MAX_HISTORY_LIMIT} events."
        )
    owner = lead_of(c, ou, kind, raw_value, default_country)
    page = lead_history_page(c, ou, owner, after, limit) if owner is not None else None
    if owner is None or page is None:
        value = normalize(kind, raw_value, default_country)
        raise NotFound(f"No lead of OU {ou!r} has the {kind} {value!r}.")
    entries, next_after = page
    return {"lead_id": str(owner), "events": entries, "next_after": next_after}
