"""Leads as the read API shows them: find by an identifier, get one by id."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.container import Container
from domain.errors import InvalidRequest
from domain.identifiers import IdentifierError, IdentifierKind, normalize
from projections import leads as leads_view


def find_leads(
    c: Container, ou: str, kind: IdentifierKind, raw: str, default_country: str
) -> list[dict[str, Any]]:
    """The leads of ``ou`` holding the identifier (zero or one), normalized as on import."""
    try:
        value = normalize(kind, raw, default_country)
    except IdentifierError as e:
        raise InvalidRequest(f"{kind} {raw!r}: {e.message}.") from None
    with c.pool.connection() as conn:
        return leads_view.find_leads(conn.cursor(), ou, kind, value)


def lead_of(
    c: Container, ou: str, kind: IdentifierKind, raw: str, default_country: str
) -> UUID | None:
    """The id of the lead of ``ou`` holding an identifier (normalized as on import), if one
    does. Raises ``IdentifierError`` for a value that is no identifier of that kind."""
    value = normalize(kind, raw, default_country)
    with c.pool.connection() as conn:
        return leads_view.owners(conn.cursor(), [(ou, kind, value)]).get((ou, kind, value))


def get_lead(c: Container, ou: str, lead_id: UUID) -> dict[str, Any] | None:
    with c.pool.connection() as conn:
        return leads_view.get_lead(conn.cursor(), ou, lead_id)
