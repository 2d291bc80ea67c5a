"""Audit: one lead's history (``GET /leads/{lead_id}/history``, ``leadimport audit``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.container import Container
from domain.errors import NotFound
from domain.history import HistoryEntry, lead_history
from domain.identifiers import IdentifierKind, normalize
from domain.lead import Lead
from projections.leads import owners


def lead_events(c: Container, ou: str, lead_id: UUID) -> list[Any] | None:
    """The events of lead ``lead_id`` of ``ou`` in order; None if it is no lead of ``ou``."""
    events = list(c.store.events.get(lead_id))
    if not events or type(events[0]) is not Lead.LeadCreated or events[0].ou != ou:
        return None
    return events


def lead_history_of(c: Container, ou: str, lead_id: UUID) -> list[HistoryEntry] | None:
    """``GET /leads/{lead_id}/history``: the lead's history, or None for a foreign/unknown id."""
    events = lead_events(c, ou, lead_id)
    return None if events is None else lead_history(events)


def audit(
    c: Container, ou: str, kind: IdentifierKind, raw_value: str, default_country: str = "US"
) -> dict[str, Any]:
    """``leadimport audit``: the history of the lead of ``ou`` holding an identifier.

    Raises ``NotFound`` when no lead holds it (identifiers of a deleted lead are released).
    """
    value = normalize(kind, raw_value, default_country)
    with c.pool.connection() as conn:
        owner = owners(conn.cursor(), [(ou, kind, value)]).get((ou, kind, value))
    history = lead_history_of(c, ou, owner) if owner is not None else None
    if owner is None or history is None:
        raise NotFound(f"No lead of OU {ou!r} has the {kind} {value!r}.")
    return {"lead_id": str(owner), "events": history}
