"""Applying rows: dedup and alias merge of a batch of row events onto event-sourced Lead aggregates.

A batch is applied in one PostgreSQL transaction: the lead events, the claimed identifiers, the
row outcomes ``(job_id, row)``, the warnings, the job counters, the lead read model and the row
ledger. Rows that already have an outcome are skipped, so a redelivered row changes nothing.
Conflicts with a concurrent writer (an identifier claimed, a lead version taken, a row applied)
surface as IntegrityError: the whole batch is re-read and re-decided.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import DataError, IntegrityError
from psycopg import Cursor

from application.container import Container
from domain.import_job import OPEN, status_values
from domain.lead import Lead
from domain.merge import LeadState, decide
from domain.row_ledger import RowBatch
from domain.rows import Identifier, RowFailed, RowImported
from projections.jobs import counters_effect
from projections.leads import insert_identifiers_effect, owners, upsert_leads_effect

log = logging.getLogger(__name__)

CONFLICT_RETRIES = 8
DATABASE_ERROR = "Database error"

Key = tuple[str, str, str]  # (ou, kind, value)


class JobClosed(Exception):
    """A job of the batch was cancelled (or otherwise closed) while the batch was decided."""


def _guard_open_jobs(job_ids: list[str]) -> Any:
    """Lock the batch's job rows, in one order for every worker (no deadlocks), and abort the
    transaction if any of them is no longer open: a cancel either commits before this batch
    and its rows are dropped, or waits for this batch and counts it."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "SELECT job_id, status FROM import_jobs WHERE job_id = ANY(%b::text[])"
            " ORDER BY job_id FOR UPDATE",
            (sorted(job_ids),),
        )
        closed = [r["job_id"] for r in curs.fetchall() if r["status"] not in OPEN]
        if closed:
            raise JobClosed(", ".join(closed))

    return effect


@dataclass
class Plan:
    """Everything one batch writes."""

    leads: dict[UUID, Lead] = field(default_factory=dict)  # touched leads
    claims: list[tuple[str, str, str, UUID]] = field(default_factory=list)
    outcomes: list[tuple[str, int, str, UUID | None, str | None, str | None]] = field(
        default_factory=list
    )
    warnings: list[tuple[str, int, int, str, str]] = field(default_factory=list)
    counters: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    ou_of_job: dict[str, str] = field(default_factory=dict)

    def ledger(self, ou_of_job: dict[str, str]) -> list[RowBatch]:
        """One RowsApplied event per job of the batch (see domain.row_ledger)."""
        outcomes: dict[str, list[list[object]]] = defaultdict(list)
        for job_id, row, outcome, lead_id, error, value in self.outcomes:
            outcomes[job_id].append([row, outcome, lead_id.hex if lead_id else None, error, value])
        warnings: dict[str, list[list[object]]] = defaultdict(list)
        for job_id, row, seq, warning, value in self.warnings:
            warnings[job_id].append([row, seq, warning, value])
        return [
            RowBatch(ou=ou_of_job[j], job_id=j, outcomes=o, warnings=warnings.get(j, []))
            for j, o in outcomes.items()
        ]

    def effects(self) -> list[Any]:
        out: list[Any] = [_guard_open_jobs(list(self.counters))]
        if self.claims:
            out.append(insert_identifiers_effect(self.claims))
        out.append(_insert_outcomes(self.outcomes))
        if self.warnings:
            out.append(_insert_warnings(self.warnings))
        out.append(counters_effect({j: (c[0], c[1], c[2]) for j, c in self.counters.items()}))
        # Only leads that get new events: their version is claimed in this transaction, so the
        # read model cannot go back to an older state. A lead a row left unchanged may be a
        # stale copy (another worker or an undo changed it meanwhile): it is not written.
        changed = [lead for lead in self.leads.values() if lead.pending_events]
        if changed:
            out.append(upsert_leads_effect(changed))
        return out


def _insert_outcomes(rows: list[tuple[str, int, str, UUID | None, str | None, str | None]]) -> Any:
    cols = list(zip(*rows, strict=True))

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO row_outcomes (job_id, row, outcome, lead_id, error, value)"
            " SELECT * FROM unnest(%b::text[], %b::int[], %b::text[], %b::uuid[], %b::text[],"
            " %b::text[])",
            tuple(list(c) for c in cols),
        )

    return effect


def _insert_warnings(rows: list[tuple[str, int, int, str, str]]) -> Any:
    cols = list(zip(*rows, strict=True))

    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            "INSERT INTO job_warnings (job_id, row, seq, warning, value)"
            " SELECT * FROM unnest(%b::text[], %b::int[], %b::int[], %b::text[], %b::text[])",
            tuple(list(c) for c in cols),
        )

    return effect


def _state(lead: Lead) -> LeadState:
    return LeadState(lead.id, lead.identifiers, lead.fields)


def plan_batch(c: Container, rows: list[RowImported | RowFailed]) -> Plan:
    """Read what the batch needs (one query each) and decide every row, in order."""
    with c.pool.connection() as conn:
        curs = conn.cursor()
        curs.execute(
            "SELECT o.job_id, o.row FROM row_outcomes o"
            " JOIN unnest(%b::text[], %b::int[]) AS k(job_id, row)"
            " ON o.job_id = k.job_id AND o.row = k.row",
            ([r.job_id for r in rows], [r.row for r in rows]),
        )
        applied = {(r["job_id"], r["row"]) for r in curs.fetchall()}
        curs.execute(
            "SELECT job_id FROM import_jobs WHERE job_id = ANY(%b::text[])"
            " AND status = ANY(%b::text[])",
            (sorted({r.job_id for r in rows}), status_values(OPEN)),
        )
        open_jobs = {r["job_id"] for r in curs.fetchall()}
        # Rows of cancelled (or unknown) jobs are dropped; rows already applied are skipped.
        todo = [r for r in rows if r.job_id in open_jobs and (r.job_id, r.row) not in applied]
        keys: set[Key] = set()
        for r in todo:
            if isinstance(r, RowImported):
                keys.add((r.ou, r.primary.kind, r.primary.value))
                keys.update((r.ou, a.kind, a.value) for a in r.aliases)
        index: dict[Key, UUID] = owners(curs, sorted(keys))
    primary_owners = {
        index[(r.ou, r.primary.kind, r.primary.value)]
        for r in todo
        if isinstance(r, RowImported) and (r.ou, r.primary.kind, r.primary.value) in index
    }
    loaded: dict[UUID, Lead] = c.store.load_many(sorted(primary_owners))
    plan = Plan()
    plan.ou_of_job = {r.job_id: r.ou for r in todo}
    for r in todo:
        counts = plan.counters[r.job_id]
        if isinstance(r, RowFailed):
            plan.outcomes.append((r.job_id, r.row, "failed", None, r.error, r.value))
            counts[2] += 1
            continue
        seq = 0
        for w in r.warnings:
            plan.warnings.append((r.job_id, r.row, seq, w.warning, w.value))
            seq += 1
        primary_key = (r.ou, r.primary.kind, r.primary.value)
        owner = index.get(primary_key)
        lead = loaded.get(owner) if owner is not None else None

        def owner_of(i: Identifier, ou: str = r.ou) -> UUID | None:
            return index.get((ou, i.kind, i.value))

        decision = decide(_state(lead) if lead else None, r.fields, r.aliases, owner_of)
        for warning, value in decision.warnings:
            plan.warnings.append((r.job_id, r.row, seq, warning, value))
            seq += 1
        if lead is None:
            lead = Lead.create(
                ou=r.ou,
                primary={"kind": r.primary.kind, "value": r.primary.value},
                fields=decision.fields,
                aliases=[{"kind": a.kind, "value": a.value} for a in decision.aliases],
                job_id=r.job_id,
                row=r.row,
            )
            loaded[lead.id] = lead
            for key in [primary_key, *((r.ou, a.kind, a.value) for a in decision.aliases)]:
                index[key] = lead.id
                plan.claims.append((*key, lead.id))
            plan.outcomes.append((r.job_id, r.row, "created", lead.id, None, None))
            counts[0] += 1
        else:
            if decision.fields:
                lead.update_profile(changed=decision.fields, job_id=r.job_id, row=r.row)
            for a in decision.aliases:
                lead.add_alias(alias={"kind": a.kind, "value": a.value}, job_id=r.job_id, row=r.row)
                index[(r.ou, a.kind, a.value)] = lead.id
                plan.claims.append((r.ou, a.kind, a.value, lead.id))
            plan.outcomes.append((r.job_id, r.row, "updated", lead.id, None, None))
            counts[1] += 1
        plan.leads[lead.id] = lead
    return plan


def apply_rows(c: Container, rows: list[RowImported | RowFailed]) -> list[str]:
    """Apply a batch exactly once; return the ids of the jobs it touched."""
    unique = list({(r.job_id, r.row): r for r in rows}.values())
    for attempt in range(1, CONFLICT_RETRIES + 1):
        plan = plan_batch(c, unique)
        if not plan.outcomes:
            return []
        try:
            c.store.put(
                [*plan.leads.values(), *plan.ledger(plan.ou_of_job)], effects=plan.effects()
            )
            return list(plan.counters)
        except (IntegrityError, psycopg.errors.UniqueViolation, JobClosed) as e:
            # A concurrent writer claimed an identifier, updated a lead or applied a row first.
            log.info("batch conflict (attempt %d): %s", attempt, e)
            continue
        except (DataError, psycopg.DataError) as e:
            # A value the database refuses (e.g. a character it cannot store): no retry will
            # help; find the row row by row and fail just that one.
            log.warning("batch refused by the database: %s", e)
            break
    if len(unique) > 1:
        # Keep going row by row so one bad row cannot block the others.
        touched: set[str] = set()
        for r in unique:
            touched.update(apply_rows(c, [r]))
        return sorted(touched)
    r = unique[0]
    log.error("row %s:%d could not be stored: recorded as a database error", r.job_id, r.row)
    failed = RowFailed(
        event_id=r.event_id, ou=r.ou, job_id=r.job_id, row=r.row, error=DATABASE_ERROR, value=""
    )
    plan = plan_batch(c, [failed])
    if plan.outcomes:
        c.store.put(plan.ledger(plan.ou_of_job), effects=plan.effects())
    return [r.job_id]
