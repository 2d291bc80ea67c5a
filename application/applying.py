"""Applying rows: dedup and alias merge of a batch of row events onto event-sourced Lead aggregates.

A batch is applied in one PostgreSQL transaction: the lead events, the claimed identifiers, the
row outcomes ``(job_id, row)``, the warnings, the job counters (and a sample of them for the
jobs' recent rate, ``projections.progress``), the lead read model and the row ledger. Rows that
already have an outcome are skipped, so a redelivered row changes nothing.
Conflicts with a concurrent writer (an identifier claimed, a lead version taken, a row applied,
a lead the batch names erased meanwhile) surface as IntegrityError: the whole batch is re-read
and re-decided.

A lead worker keeps the leads it committed in an ``AggregateCache`` (``LEAD_CACHE_SIZE``): a
batch takes the leads it needs out of it and reads only the events stored after their cached
version (another worker or an undo may have appended), so a row costs the same whatever the
length of its lead's history. The leads go back into the cache only once the batch committed; a
batch that rolls back drops them, and its retry reads them again (docs/architecture.md).

Modes and dry runs are read with the jobs' status (``import_jobs.mode``, ``dry_run``): a row of a
``create_only`` job whose lead exists, or of an ``update_only`` job whose lead does not, is
``skipped`` (``domain.merge.skips``). A row of a dry run is decided the same way against the real
leads and identifiers and the job's own simulation (``domain.dry_run``, ``projections.dry_run``):
what it would do goes into the simulation tables instead of lead events, identifiers and the
lead read model; its outcome, warnings, counters and ledger are written as for a real row.
Ordinary rows (``upsert``, not a dry run) take the path they always took.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import DataError, IntegrityError
from psycopg import Cursor

from adapters.eventstore import AggregateCache
from adapters.keys import LeadKeyMissing
from application.container import Container
from domain.dry_run import SimulatedLead
from domain.import_job import OPEN, UPSERT, ImportMode, status_values
from domain.lead import Lead
from domain.merge import LeadState, decide, skips
from domain.row_ledger import RowBatch
from domain.rows import Identifier, RowFailed, RowImported
from projections import dry_run, progress
from projections.dry_run import StaleSimulation
from projections.jobs import counters_effect, insert_outcomes_effect, insert_warnings_effect
from projections.leads import insert_identifiers_effect, owners, upsert_leads_effect

log = logging.getLogger(__name__)

CONFLICT_RETRIES = 8
# Leads a lead worker keeps between batches: about 1 KB each, five batches of distinct leads.
LEAD_CACHE_SIZE = 10_000
# A lead's snapshot is stored with the batch that takes its version past a multiple of this: a
# lead no worker holds, and a page of its history, are read from its latest snapshot on (fewer
# than this many events plus a batch's rows after it).
SNAPSHOT_EVERY = 500
DATABASE_ERROR = "Database error"

Key = tuple[str, str, str]  # (ou, kind, value)
SimKey = tuple[str, UUID]  # (job id, lead id) of a dry run's simulated lead


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
    # job id -> [created, updated, failed, skipped]
    counters: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0])
    )
    ou_of_job: dict[str, str] = field(default_factory=dict)
    # Dry runs: the identifiers their rows would claim (job, ou, kind, value, lead) and the
    # simulated leads the batch read or made (written when ``changed``).
    dry_claims: list[tuple[str, str, str, str, UUID]] = field(default_factory=list)
    simulated: dict[SimKey, SimulatedLead] = field(default_factory=dict)
    owners: set[UUID] = field(default_factory=set)  # leads found in the identifier index

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
        if self.dry_claims:
            out.append(dry_run.insert_claims_effect(self.dry_claims))
        simulated = [(key[0], lead) for key, lead in self.simulated.items() if lead.changed]
        if simulated:
            out.append(dry_run.save_leads_effect(simulated))
        out.append(insert_outcomes_effect(self.outcomes))
        if self.warnings:
            out.append(insert_warnings_effect(self.warnings))
        deltas = {j: (c[0], c[1], c[2], c[3]) for j, c in self.counters.items()}
        out.append(counters_effect(deltas, Counter(w[0] for w in self.warnings)))
        # After the counters: a sample of each job's rows processed, for its recent rate.
        out.append(progress.sample_effect(list(deltas)))
        # Only leads that get new events: their version is claimed in this transaction, so the
        # read model cannot go back to an older state. A lead a row left unchanged may be a
        # stale copy (another worker or an undo changed it meanwhile): it is not written.
        changed = [lead for lead in self.leads.values() if lead.pending_events]
        if changed:
            out.append(upsert_leads_effect(changed))
        return out


def _state(lead: Lead) -> LeadState:
    return LeadState(lead.id, lead.identifiers, lead.fields)


def plan_batch(
    c: Container, rows: list[RowImported | RowFailed], cache: AggregateCache | None = None
) -> Plan:
    """Read what the batch needs (one query each) and decide every row, in order.

    The leads of the batch are taken out of ``cache`` (and end up in ``Plan.leads``)."""
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
            "SELECT job_id, mode, dry_run FROM import_jobs WHERE job_id = ANY(%b::text[])"
            " AND status = ANY(%b::text[])",
            (sorted({r.job_id for r in rows}), status_values(OPEN)),
        )
        found = curs.fetchall()
        open_jobs = {r["job_id"] for r in found}
        # The jobs whose rows are no ordinary upsert: job id -> (mode, dry run).
        rules = {
            r["job_id"]: (ImportMode(r["mode"]), bool(r["dry_run"]))
            for r in found
            if r["dry_run"] or r["mode"] != UPSERT
        }
        # Rows of cancelled (or unknown) jobs are dropped; rows already applied are skipped.
        todo = [r for r in rows if r.job_id in open_jobs and (r.job_id, r.row) not in applied]
        keys: set[Key] = set()
        for r in todo:
            if isinstance(r, RowImported):
                keys.add((r.ou, r.primary.kind, r.primary.value))
                keys.update((r.ou, a.kind, a.value) for a in r.aliases)
        index: dict[Key, UUID] = owners(curs, sorted(keys))
        dry_jobs = {j for j, (_, dry) in rules.items() if dry}
        sim = _read_simulation(curs, todo, dry_jobs, index) if dry_jobs else None
    if sim is None:
        primary_owners = {
            index[(r.ou, r.primary.kind, r.primary.value)]
            for r in todo
            if isinstance(r, RowImported) and (r.ou, r.primary.kind, r.primary.value) in index
        }
    else:  # a lead a dry run already simulates is not read again
        primary_owners = {
            owner
            for r in todo
            if isinstance(r, RowImported)
            and (owner := index.get((r.ou, r.primary.kind, r.primary.value))) is not None
            and (r.job_id, owner) not in sim.leads
        }
    loaded: dict[UUID, Lead] = c.store.load_many(sorted(primary_owners), cache)
    plan = Plan(owners=set(index.values()))
    plan.ou_of_job = {r.job_id: r.ou for r in todo}
    for r in todo:
        counts = plan.counters[r.job_id]
        if isinstance(r, RowFailed):
            plan.outcomes.append((r.job_id, r.row, "failed", None, r.error, r.value))
            counts[2] += 1
            continue
        rule = rules.get(r.job_id) if rules else None
        if rule is not None and rule[1]:
            assert sim is not None
            _plan_simulated(plan, sim, r, rule[0], index, loaded, counts)
            continue
        primary_key = (r.ou, r.primary.kind, r.primary.value)
        owner = index.get(primary_key)
        lead = loaded.get(owner) if owner is not None else None
        if rule is not None and skips(rule[0], lead is not None):
            _skip(plan, r, lead.id if lead is not None else None, counts)
            if lead is not None:
                plan.leads[lead.id] = lead  # unchanged: back into the cache after the commit
            continue
        seq = 0
        for w in r.warnings:
            plan.warnings.append((r.job_id, r.row, seq, w.warning, w.value))
            seq += 1

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
    if sim is not None:
        plan.simulated = sim.leads
    return plan


def _skip(plan: Plan, r: RowImported, lead_id: UUID | None, counts: list[int]) -> None:
    """A row its job's mode skips: an outcome and a count, nothing else (no warning)."""
    plan.outcomes.append((r.job_id, r.row, "skipped", lead_id, None, None))
    counts[3] += 1


@dataclass
class Simulation:
    """The simulation of the batch's dry runs (``projections.dry_run``) as read for the batch,
    then with what the batch's rows add to it."""

    claims: dict[dry_run.ClaimKey, UUID]  # (job, ou, kind, value) -> lead
    leads: dict[SimKey, SimulatedLead]


def _read_simulation(
    curs: Cursor[Any],
    rows: list[RowImported | RowFailed],
    dry_jobs: set[str],
    index: dict[Key, UUID],
) -> Simulation:
    """What the dry runs' rows need of their simulation: the claims of their identifiers, and
    the simulated state of each lead their primary identifier names (two queries)."""
    dry = [r for r in rows if isinstance(r, RowImported) and r.job_id in dry_jobs]
    claims = dry_run.claims_of(
        curs,
        sorted({(r.job_id, r.ou, i.kind, i.value) for r in dry for i in (r.primary, *r.aliases)}),
    )
    wanted: set[SimKey] = set()
    for r in dry:
        key = (r.ou, r.primary.kind, r.primary.value)
        owner = index.get(key)
        if owner is None:
            owner = claims.get((r.job_id, *key))
        if owner is not None:
            wanted.add((r.job_id, owner))
    return Simulation(claims, dry_run.leads_of(curs, sorted(wanted)))


def _plan_simulated(
    plan: Plan,
    sim: Simulation,
    r: RowImported,
    mode: ImportMode,
    index: dict[Key, UUID],
    loaded: dict[UUID, Lead],
    counts: list[int],
) -> None:
    """A row of a dry run: decided as a real row of its mode is, against the real leads and
    identifiers overlaid with what the job's earlier rows would have done; what it would do
    goes into the simulation (no lead event, no identifier claimed, no read model change)."""
    job_id, ou = r.job_id, r.ou
    primary_key = (ou, r.primary.kind, r.primary.value)
    owner = index.get(primary_key)
    if owner is None:
        owner = sim.claims.get((job_id, *primary_key))
    lead = sim.leads.get((job_id, owner)) if owner is not None else None
    if lead is None and owner is not None and owner in loaded:
        real = loaded[owner]
        lead = sim.leads[(job_id, owner)] = SimulatedLead.of(real.id, real.identifiers, real.fields)
        plan.leads.setdefault(real.id, real)  # read only: back into the cache after the commit
    if skips(mode, lead is not None):
        _skip(plan, r, lead.public_id if lead is not None else None, counts)
        return
    seq = 0
    for w in r.warnings:
        plan.warnings.append((job_id, r.row, seq, w.warning, w.value))
        seq += 1

    def owner_of(i: Identifier) -> UUID | None:
        key = (ou, i.kind, i.value)
        real_owner = index.get(key)
        return real_owner if real_owner is not None else sim.claims.get((job_id, *key))

    decision = decide(lead.state() if lead is not None else None, r.fields, r.aliases, owner_of)
    for warning, value in decision.warnings:
        plan.warnings.append((job_id, r.row, seq, warning, value))
        seq += 1
    if lead is None:
        lead = SimulatedLead.created(job_id, r.row, r.primary, decision)
        sim.leads[(job_id, lead.lead_id)] = lead
        claimed, outcome, column = [r.primary, *decision.aliases], "created", 0
    else:
        lead.apply(decision)
        claimed, outcome, column = decision.aliases, "updated", 1
    for i in claimed:
        sim.claims[(job_id, ou, i.kind, i.value)] = lead.lead_id
        plan.dry_claims.append((job_id, ou, i.kind, i.value, lead.lead_id))
    plan.outcomes.append((job_id, r.row, outcome, lead.public_id, None, None))
    counts[column] += 1


def _snapshots(plan: Plan) -> list[Lead]:
    """The leads whose pending events take their version past a multiple of ``SNAPSHOT_EVERY``:
    a snapshot of each is stored with the batch."""
    return [
        lead
        for lead in plan.leads.values()
        if lead.version // SNAPSHOT_EVERY
        > (lead.version - len(lead.pending_events)) // SNAPSHOT_EVERY
    ]


def apply_rows(
    c: Container, rows: list[RowImported | RowFailed], cache: AggregateCache | None = None
) -> list[str]:
    """Apply a batch exactly once; return the ids of the jobs it touched.

    ``cache``: the worker's committed leads (see the module docstring)."""
    unique = list({(r.job_id, r.row): r for r in rows}.values())
    for attempt in range(1, CONFLICT_RETRIES + 1):
        plan = plan_batch(c, unique, cache)
        if not plan.outcomes:
            return []
        try:
            c.store.put(
                [*plan.leads.values(), *plan.ledger(plan.ou_of_job)],
                effects=plan.effects(),
                # Leads the batch relies on without claiming their versions (unchanged, or
                # found in the identifier index: a warning may quote their identifiers): an
                # erasure that committed first makes the batch plan again without them.
                require_keys=sorted(
                    plan.owners.union(i for i, ld in plan.leads.items() if not ld.pending_events)
                ),
                snapshots=_snapshots(plan),
            )
            if cache is not None:
                # Committed: every lead of the plan is now as stored at its version. (Leads of
                # a plan that failed are not: ``put`` collected their events before the
                # insert failed. They were taken out of the cache and are not put back.)
                cache.keep(plan.leads.values())
            return list(plan.counters)
        except (IntegrityError, psycopg.errors.UniqueViolation, JobClosed, StaleSimulation) as e:
            # A concurrent writer claimed an identifier, updated a lead (or a dry run's
            # simulated lead) or applied a row first.
            log.info("batch conflict (attempt %d): %s", attempt, e)
            if isinstance(e, LeadKeyMissing) and cache is not None:
                cache.discard(plan.owners)  # one of them was erased: none is kept as it was
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
            touched.update(apply_rows(c, [r], cache))
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
