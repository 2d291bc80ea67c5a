"""A dry run's simulation tables (``dry_run_claims``, ``dry_run_leads``; ``domain.dry_run``).

They take the place of ``lead_identifiers`` and the lead events for the rows of a dry-run job:
read when its batches are planned, written in their transactions, deleted when the job ends
(``cleanup_effect``, in the transaction of ``JobCompleted``, ``JobFailed`` or ``JobCancelled``).
They are not projections of events (a dry run stores none but its ``RowsApplied``): a replay
neither rebuilds nor touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson
from psycopg import Cursor

from domain.dry_run import SimulatedLead

Effect = Callable[[Cursor[Any]], None]
ClaimKey = tuple[str, str, str, str]  # (job_id, ou, kind, value)


class StaleSimulation(Exception):
    """A simulated lead changed since the batch read it (another lead worker wrote it first):
    the batch is planned again, as for a lead version taken by another writer."""


def claims_of(curs: Cursor[Any], keys: list[ClaimKey]) -> dict[ClaimKey, UUID]:
    """Which lead each (job, ou, kind, value) would belong to by the job's own rows so far."""
    if not keys:
        return {}
    curs.execute(
        "SELECT c.job_id, c.ou, c.kind, c.value, c.lead_id FROM dry_run_claims c"
        " JOIN unnest(%b::text[], %b::text[], %b::text[], %b::text[]) AS k(job_id, ou, kind,"
        " value) ON c.job_id = k.job_id AND c.ou = k.ou AND c.kind = k.kind AND c.value = k.value",
        tuple([k[i] for k in keys] for i in range(4)),
    )
    return {(r["job_id"], r["ou"], r["kind"], r["value"]): r["lead_id"] for r in curs.fetchall()}


def leads_of(
    curs: Cursor[Any], keys: list[tuple[str, UUID]]
) -> dict[tuple[str, UUID], SimulatedLead]:
    """The simulated state of each (job, lead) the job's rows so far created or changed."""
    if not keys:
        return {}
    curs.execute(
        "SELECT d.job_id, d.lead_id, d.made_up, d.identifiers, d.fields, d.version"
        " FROM dry_run_leads d JOIN unnest(%b::text[], %b::uuid[]) AS k(job_id, lead_id)"
        " ON d.job_id = k.job_id AND d.lead_id = k.lead_id",
        ([k[0] for k in keys], [k[1] for k in keys]),
    )
    return {
        (r["job_id"], r["lead_id"]): SimulatedLead(
            r["lead_id"], r["made_up"], r["identifiers"], r["fields"], r["version"]
        )
        for r in curs.fetchall()
    }


def insert_claims_effect(rows: list[tuple[str, str, str, str, UUID]]) -> Effect:
    """Claim (job, ou, kind, value) for a lead; a clash raises UniqueViolation."""
    ordered = sorted(rows)
    cols = tuple([r[i] for r in ordered] for i in range(5))

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO dry_run_claims (job_id, ou, kind, value, lead_id)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::uuid[])",
            cols,
        )

    return effect


def save_leads_effect(leads: list[tuple[str, SimulatedLead]]) -> Effect:
    """Store the simulated leads (job, lead): a new one is inserted (a clash raises
    UniqueViolation), a stored one is updated if its version is still the one read, else
    ``StaleSimulation``."""
    ordered = sorted(leads, key=lambda item: (item[0], item[1].lead_id))
    new = [(j, lead) for j, lead in ordered if lead.version == 0]
    stored = [(j, lead) for j, lead in ordered if lead.version > 0]

    def columns(items: list[tuple[str, SimulatedLead]]) -> list[list[Any]]:
        return [
            [j for j, _ in items],
            [lead.lead_id for _, lead in items],
            [lead.made_up for _, lead in items],
            [orjson.dumps(lead.identifiers).decode() for _, lead in items],
            [orjson.dumps(lead.fields).decode() for _, lead in items],
            [lead.version for _, lead in items],
        ]

    def effect(curs: Cursor[Any]) -> None:
        if new:
            curs.execute(
                "INSERT INTO dry_run_leads (job_id, lead_id, made_up, identifiers, fields,"
                " version) SELECT j, l, m, i, f, v + 1 FROM unnest(%b::text[], %b::uuid[],"
                " %b::bool[], %b::text[]::jsonb[], %b::text[]::jsonb[], %b::int[])"
                " AS u(j, l, m, i, f, v)",
                columns(new),
            )
        if stored:
            curs.execute(
                "UPDATE dry_run_leads d SET identifiers = u.i, fields = u.f,"
                " version = d.version + 1"
                " FROM unnest(%b::text[], %b::uuid[], %b::bool[], %b::text[]::jsonb[],"
                " %b::text[]::jsonb[], %b::int[]) AS u(j, l, m, i, f, v)"
                " WHERE d.job_id = u.j AND d.lead_id = u.l AND d.version = u.v",
                columns(stored),
            )
            if curs.rowcount != len(stored):
                raise StaleSimulation(
                    f"{len(stored) - curs.rowcount} simulated lead(s) changed since they were read"
                )

    return effect


def cleanup_effect(job_id: str) -> Effect:
    """The job ended: its simulation is of no use any more."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute("DELETE FROM dry_run_claims WHERE job_id = %s", (job_id,))
        curs.execute("DELETE FROM dry_run_leads WHERE job_id = %s", (job_id,))

    return effect
