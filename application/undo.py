"""Undo: compensates every lead an import touched, then marks the job ``undone``.

An undo request (``{"job_id", "ou", "action": "undo"}`` on ``lead-import.jobs``) is handled by
the importer. The leads come from the job's row outcomes, in batches; per batch it reads the
leads' events (one query), decides each lead with ``domain.undo.decide_undo`` and appends the
compensating events with their read-model effects (``leads_view`` upsert or delete, identifiers
released) in one transaction. The job is ``undoing`` throughout, so lead workers never apply a
late row of it (they only apply rows of queued or in-progress jobs).

A lead erased before the undo reached it is left alone and counted (``leads_erased``).

Exactly once on an at-least-once request: a lead that already carries a compensation of the job
is not compensated again (the decision sees it), and a concurrent writer (a lead worker applying
another import, a second undo run) makes the batch fail on the lead's version: it is re-read and
decided again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError
from psycopg import Cursor

from adapters.eventstore import project
from adapters.keys import LeadKeyMissing
from application import jobs
from application.container import Container
from domain.errors import Conflict
from domain.import_job import UNDOING, ImportJob, job_uuid
from domain.lead import Lead
from domain.undo import LeadUndo, UndoReport, decide_undo, identifier_kinds, job_ids
from projections.leads import delete_leads_effect, release_identifiers_effect, upsert_leads_effect

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # leads per transaction
CONFLICT_RETRIES = 8


class UndoStuck(RuntimeError):
    """A batch kept conflicting with concurrent writers; the request is delivered again."""


def handle_undo_request(c: Container, job_id: str) -> None:
    """Undo ``job_id`` if it is ``undoing`` (anything else: a duplicate or stale request).

    A lead erased while the undo ran is left out of it: its report entries would hold data of
    the person, so the report is made again (the erased lead then counts as ``leads_erased``)."""
    for _ in range(CONFLICT_RETRIES):
        job = jobs.get_job_aggregate(c, job_id)
        if job is None or job.status != UNDOING:
            return
        report = UndoReport()
        kinds: dict[str, frozenset[str]] = {}
        lead_ids = touched_leads(c, job_id)
        for start in range(0, len(lead_ids), BATCH_SIZE):
            for undo in undo_leads(c, job_id, lead_ids[start : start + BATCH_SIZE], kinds):
                report.add(undo)
        try:
            job.finish_undo(report.as_dict())
            jobs.save_job(c, job)
            break
        except LeadKeyMissing:
            log.info("job %s: a lead of the undo was erased meanwhile; deciding again", job_id)
            continue
        except (Conflict, IntegrityError):
            log.info("job %s: another run finished the undo first", job_id)
            return
    else:
        raise UndoStuck(f"job {job_id}: leads kept being erased while the undo finished")
    log.info(
        "job %s undone: %d leads deleted, %d reverted, %d changes not undone, %d erased",
        job_id,
        report.leads_deleted,
        report.leads_reverted,
        report.not_undone_total,
        report.leads_erased,
    )


def touched_leads(c: Container, job_id: str) -> list[UUID]:
    """Every lead a row of the job created or updated (in a stable order: batches repeat). A
    skipped row (``create_only``: it names the lead that existed) touched none."""
    with c.pool.connection() as conn:
        rows = conn.execute(
            "SELECT DISTINCT lead_id FROM row_outcomes WHERE job_id = %s AND lead_id IS NOT NULL"
            " AND outcome <> 'skipped' ORDER BY lead_id",
            (job_id,),
        ).fetchall()
    return [r["lead_id"] for r in rows]


def undo_leads(
    c: Container, job_id: str, lead_ids: Sequence[UUID], kinds: dict[str, frozenset[str]]
) -> list[LeadUndo]:
    """Compensate one batch of leads (idempotent); return the decision for each of them.

    ``kinds`` caches the identifier kinds of the jobs met so far (see ``domain.undo``)."""
    for attempt in range(1, CONFLICT_RETRIES + 1):
        events = c.store.load_events(lead_ids)
        _learn_kinds(c, [e for evs in events.values() for e in evs], kinds)
        undos = [decide_undo(evs, job_id, kinds) for evs in events.values()]
        leads, effects = _compensations(events, undos, job_id)
        try:
            c.store.put(leads, effects=effects)
            return undos
        except (IntegrityError, psycopg.errors.UniqueViolation) as e:
            # A lead worker (or another undo run) appended to one of the leads first.
            log.info("undo batch conflict (attempt %d): %s", attempt, e)
    raise UndoStuck(f"job {job_id}: a batch of {len(lead_ids)} leads kept conflicting")


def _learn_kinds(c: Container, events: list[Any], kinds: dict[str, frozenset[str]]) -> None:
    unknown = sorted(j for j in job_ids(events) if j not in kinds)
    loaded = c.store.load_many([job_uuid(j) for j in unknown])
    for job in loaded.values():
        if isinstance(job, ImportJob):
            kinds[job.job_id] = identifier_kinds(job)


def _compensations(
    events: dict[UUID, list[Any]], undos: list[LeadUndo], job_id: str
) -> tuple[list[Lead], list[Any]]:
    """The leads with their compensating events pending, and the read-model effects."""
    changed: list[Lead] = []
    deleted: list[UUID] = []
    released: list[tuple[str, str, str, UUID]] = []
    for undo in undos:
        if undo.already_applied or not undo.compensates:
            continue
        lead = project(events[undo.lead_id])
        assert lead is not None  # decide_undo had its events
        if undo.delete:
            lead.delete(job_id)
            deleted.append(lead.id)
        else:
            if undo.revert:
                lead.revert_profile(undo.revert, job_id)
            for alias in undo.remove_aliases:
                lead.remove_alias(alias, job_id)
                released.append((lead.ou, alias["kind"], alias["value"], lead.id))
        changed.append(lead)
    effects: list[Any] = [_progress(job_id)]
    if deleted:
        effects.append(delete_leads_effect(deleted))
    if released:
        effects.append(release_identifiers_effect(released))
    kept = [lead for lead in changed if not lead.deleted]
    if kept:
        effects.append(upsert_leads_effect(kept))
    return changed, effects


def _progress(job_id: str) -> Any:
    """Every batch moves the job's progress clock, so the sweep does not take a long undo for a
    stalled one."""

    def effect(curs: Cursor[Any]) -> None:
        curs.execute("UPDATE import_jobs SET last_progress_at = now() WHERE job_id = %s", (job_id,))

    return effect


def redrive_stalled_undos(c: Container, stall_timeout_s: float) -> None:
    """Ask again for undos that made no progress for ``stall_timeout_s`` (their request was lost
    with the broker, or the importer running them died). Part of the importer's sweep."""
    with c.pool.connection() as conn:
        stalled = conn.execute(
            "UPDATE import_jobs SET last_progress_at = now()"
            " WHERE job_id IN (SELECT job_id FROM import_jobs WHERE status = %s"
            "  AND last_progress_at < now() - make_interval(secs => %s) FOR UPDATE SKIP LOCKED)"
            " RETURNING job_id, ou",
            (UNDOING.value, stall_timeout_s),
        ).fetchall()
    for r in stalled:
        log.warning("undo of job %s made no progress: asking for it again", r["job_id"])
        jobs.request_undo(c, r["job_id"], r["ou"])
