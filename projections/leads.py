"""The lead read model (``leads_view``) and the identifier index (``lead_identifiers``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from psycopg import Cursor

from domain.lead import Lead


def upsert_leads_effect(leads: list[Lead]) -> Any:
    ids = [lead.id for lead in leads]
    ous = [lead.ou for lead in leads]
    identifiers = [orjson.dumps(lead.identifiers).decode() for lead in leads]
    fields = [orjson.dumps(lead.fields).decode() for lead in leads]
    created = [lead.created_on for lead in leads]
    updated = [lead.modified_on for lead in leads]

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO leads_view (lead_id, ou, identifiers, fields, created_at, updated_at)"
            " SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[]::jsonb[],"
            " %b::text[]::jsonb[], %b::timestamptz[], %b::timestamptz[])"
            " ON CONFLICT (lead_id) DO UPDATE SET identifiers = EXCLUDED.identifiers,"
            " fields = EXCLUDED.fields, updated_at = EXCLUDED.updated_at",
            (ids, ous, identifiers, fields, created, updated),
        )

    return effect


def insert_identifiers_effect(rows: list[tuple[str, str, str, UUID]]) -> Any:
    """Claim identifiers (ou, kind, value) for leads; a clash raises IntegrityError."""
    ous = [r[0] for r in rows]
    kinds = [r[1] for r in rows]
    values = [r[2] for r in rows]
    lead_ids = [r[3] for r in rows]

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO lead_identifiers (ou, kind, value, lead_id)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::uuid[])",
            (ous, kinds, values, lead_ids),
        )

    return effect


def delete_leads_effect(lead_ids: list[UUID]) -> Any:
    """``LeadDeleted``: the leads leave the read model and release every identifier they held."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute("DELETE FROM lead_identifiers WHERE lead_id = ANY(%b::uuid[])", (lead_ids,))
        curs.execute("DELETE FROM leads_view WHERE lead_id = ANY(%b::uuid[])", (lead_ids,))

    return effect


def release_identifiers_effect(rows: list[tuple[str, str, str, UUID]]) -> Any:
    """``LeadAliasRemoved``: free identifiers (ou, kind, value) held by the given leads."""
    cols = [[r[i] for r in rows] for i in range(4)]

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "DELETE FROM lead_identifiers i"
            " USING unnest(%b::text[], %b::text[], %b::text[], %b::uuid[]) AS k(ou, kind, value,"
            " lead_id) WHERE i.ou = k.ou AND i.kind = k.kind AND i.value = k.value"
            " AND i.lead_id = k.lead_id",
            tuple(cols),
        )

    return effect


def owners(curs: Cursor[Any], keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], UUID]:
    """Which lead owns each (ou, kind, value)."""
    if not keys:
        return {}
    curs.execute(
        "SELECT i.ou, i.kind, i.value, i.lead_id FROM lead_identifiers i"
        " JOIN unnest(%b::text[], %b::text[], %b::text[]) AS k(ou, kind, value)"
        " ON i.ou = k.ou AND i.kind = k.kind AND i.value = k.value",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
    )
    return {(r["ou"], r["kind"], r["value"]): r["lead_id"] for r in curs.fetchall()}


def _lead(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "lead_id": str(r["lead_id"]),
        "identifiers": r["identifiers"],
        "fields": r["fields"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
    }


def get_lead(curs: Cursor[Any], ou: str, lead_id: UUID) -> dict[str, Any] | None:
    curs.execute(
        "SELECT lead_id, identifiers, fields, created_at, updated_at FROM leads_view"
        " WHERE lead_id = %s AND ou = %s",
        (lead_id, ou),
    )
    r = curs.fetchone()
    return _lead(r) if r else None


def find_leads(curs: Cursor[Any], ou: str, kind: str, value: str) -> list[dict[str, Any]]:
    curs.execute(
        "SELECT v.lead_id, v.identifiers, v.fields, v.created_at, v.updated_at"
        " FROM lead_identifiers i JOIN leads_view v ON v.lead_id = i.lead_id"
        " WHERE i.ou = %s AND i.kind = %s AND i.value = %s",
        (ou, kind, value),
    )
    return [_lead(r) for r in curs.fetchall()]
