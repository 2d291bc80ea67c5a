"""The rebuild half of ``leadimport replay``: the projections of the notification log, written
into the shadow tables (see ``projections.replay`` for the whole procedure).

Every event type is handled explicitly (``LEAD_EVENTS``, ``JOB_EVENTS``, ``RowsApplied``); any
other stops the replay with ``UnknownEvent``, before the swap, so a new event type cannot be
silently left out of the rebuild. A lead event is applied to the ``Lead`` aggregate itself
(``event.mutate``): the rebuilt row is the aggregate's read shape, the way the lead worker and
the undo write it; a deleted (or erased) lead has no ``leads_view`` row and holds no identifiers.
Aggregates are cached (up to ``CACHE_MAX``); one not in the cache is loaded from the events up to
the rebuild's position.

Leads come from Lead events only. A dry-run job stores none (its simulation lives in the
``dry_run_*`` tables, which the replay leaves alone): its ``RowsApplied`` rebuild its outcomes,
warnings and counters (``skipped`` too), never a lead or an identifier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import TopicError
from psycopg import Connection, Cursor

from adapters.eventstore import LeadImportStore, project
from domain.import_job import ImportJob
from domain.lead import Lead
from domain.row_ledger import RowBatch
from projections.jobs import job_event_effects
from projections.leads import (
    delete_leads_effect,
    insert_identifiers_effect,
    release_identifiers_effect,
    upsert_leads_effect,
)

PAGE_SIZE = 2000  # notifications per read; a page is written and committed at once
FLUSH_ROWS = 50_000  # write pending rows before a page ends once this many row outcomes wait
CACHE_MAX = 200_000  # aggregates kept between pages; beyond it the cache starts over

LEAD_EVENTS: frozenset[type] = frozenset(
    {
        Lead.LeadCreated,
        Lead.LeadProfileUpdated,
        Lead.LeadAliasAdded,
        Lead.LeadProfileReverted,
        Lead.LeadAliasRemoved,
        Lead.LeadDeleted,
        Lead.LeadErased,  # like LeadDeleted; its earlier events read back without values
    }
)
# Each of them is projected by projections.jobs.job_event_effects.
JOB_EVENTS: frozenset[type] = frozenset(
    {
        ImportJob.JobQueued,
        ImportJob.JobStarted,
        ImportJob.JobRowsPublished,
        ImportJob.JobCompleted,
        ImportJob.JobFailed,
        ImportJob.JobCancelled,
        ImportJob.JobUndoRequested,
        ImportJob.JobUndone,
    }
)

Effect = Callable[[Cursor[Any]], None]
# Indexes in a job's pending counts [created, updated, failed, skipped, warnings].
_COUNTER = {"created": 0, "updated": 1, "failed": 2, "skipped": 3}
_WARNINGS = 4  # the job's warning_count
Key = tuple[str, str, str]  # (ou, kind, value) of an identifier


class UnknownEvent(RuntimeError):
    """The log holds an event type the replay does not project: teach this module about it."""


class Rebuild:
    """The projection of the notification log up to ``position``, in the shadow tables.

    ``apply_page`` decodes a page of notifications, applies each event to the pending writes
    and writes them; the caller decides when they commit.
    """

    def __init__(self, app: LeadImportStore, conn: Connection[Any], page_size: int) -> None:
        self.app = app
        self.conn = conn
        self.page_size = page_size
        self.position = 0  # last notification applied (committed or not)
        self.committed_position = 0
        self.events = 0
        self.committed_events = 0
        self.aggregates: dict[UUID, Aggregate] = {}  # Lead and ImportJob, as of ``position``
        self.last_progress: dict[str, datetime] = {}  # job id -> latest event timestamp
        self.pending = Pending()

    def catch_up(self) -> int:
        """Apply and commit pages until a page comes back short; return the events applied."""
        applied = 0
        while True:
            page = self.read_page()
            if page:
                with self.conn.transaction():
                    applied += self.apply_page(page)
                self.committed_position, self.committed_events = self.position, self.events
            if len(page) < self.page_size:
                return applied

    def catch_up_in_transaction(self) -> int:
        """Apply everything after ``position``, inside the caller's transaction."""
        applied = 0
        while page := self.read_page():
            applied += self.apply_page(page)
        return applied

    def forget_uncommitted(self) -> None:
        """After a rolled-back swap: back to the committed position, caches dropped (they may
        hold state of events whose writes were rolled back). ``last_progress`` is a maximum over
        events that are applied again, so it stays right."""
        self.position, self.events = self.committed_position, self.committed_events
        self.aggregates.clear()
        self.pending = Pending()

    def read_page(self) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(
            self.position, self.page_size, inclusive_of_start=False
        )

    def apply_page(self, page: Sequence[Notification]) -> int:
        # The keys the page's events are sealed with, read at once (adapters/sealing.py).
        decode = self.app.decoder(page)
        decoded = [(n, self._decode(n, decode)) for n in page]
        self._load_missing([e for _, e in decoded])
        with self.conn.cursor() as curs:
            for notification, event in decoded:
                self._apply(notification, event)
                if len(self.pending.outcomes) >= FLUSH_ROWS:
                    self._flush(curs)
            self._flush(curs)
        self.position = page[-1].id
        self.events += len(page)
        if len(self.aggregates) > CACHE_MAX:
            self.aggregates.clear()
        return len(page)

    def _decode(self, notification: Notification, decode: Callable[[Notification], Any]) -> Any:
        try:
            return decode(notification)
        except TopicError as e:
            raise UnknownEvent(_unknown(notification, "whose class no longer exists")) from e

    def _apply(self, notification: Notification, event: Any) -> None:
        kind = type(event)
        if kind is RowBatch.RowsApplied:
            self._rows_applied(event)
        elif kind in JOB_EVENTS:
            job = event.mutate(self.aggregates.get(event.originator_id))
            self.aggregates[job.id] = job
            self.pending.job_effects.extend(job_event_effects(job, [event]))
            self._progress(job.job_id, event.timestamp)
        elif kind in LEAD_EVENTS:
            lead_id = event.originator_id
            lead = self.aggregates.get(lead_id)
            if lead_id not in self.pending.leads:
                self.pending.identifiers_before[lead_id] = _identifier_keys(lead)
            lead = event.mutate(lead)
            self.aggregates[lead_id] = lead
            self.pending.leads[lead_id] = lead
        else:
            raise UnknownEvent(_unknown(notification, "which replay does not know how to project"))

    def _rows_applied(self, event: Any) -> None:
        job_id: str = event.job_id
        counts = self.pending.counters[job_id]
        for row, outcome, lead_hex, error, value in event.outcomes:
            lead_id = UUID(hex=lead_hex) if lead_hex else None
            self.pending.outcomes.append((job_id, row, outcome, lead_id, error, value))
            counts[_COUNTER[outcome]] += 1
        for row, seq, warning, value in event.warnings:
            self.pending.warnings.append((job_id, row, seq, warning, value))
        counts[_WARNINGS] += len(event.warnings)
        self._progress(job_id, event.timestamp)

    def _progress(self, job_id: str, at: datetime) -> None:
        if job_id not in self.last_progress or at > self.last_progress[job_id]:
            self.last_progress[job_id] = at
        self.pending.jobs.add(job_id)

    def _load_missing(self, events: list[Any]) -> None:
        """Load, as of ``position``, the aggregates the page continues but the cache lacks."""
        created = {e.originator_id for e in events if e.originator_version == 1}
        wanted = {
            e.originator_id
            for e in events
            if (type(e) in LEAD_EVENTS or type(e) in JOB_EVENTS)
            and e.originator_id not in created
            and e.originator_id not in self.aggregates
        }
        if not wanted:
            return
        history = self.app.load_events(sorted(wanted), up_to_notification=self.position)
        for aggregate_id, events in history.items():
            self.aggregates[aggregate_id] = project(events)

    def _flush(self, curs: Cursor[Any]) -> None:
        """Write what is pending into the shadow tables (the search path points there)."""
        p = self.pending
        for effect in p.job_effects:
            effect(curs)
        _copy_rows(curs, "row_outcomes (job_id, row, outcome, lead_id, error, value)", p.outcomes)
        _copy_rows(curs, "job_warnings (job_id, row, seq, warning, value)", p.warnings)
        if p.jobs:
            _update_jobs(curs, sorted(p.jobs), p.counters, self.last_progress)
        self._flush_leads(curs)
        self.pending = Pending()

    def _flush_leads(self, curs: Cursor[Any]) -> None:
        p = self.pending
        released: list[tuple[str, str, str, UUID]] = []
        claimed: list[tuple[str, str, str, UUID]] = []
        for lead_id, lead in p.leads.items():
            before, after = p.identifiers_before[lead_id], _identifier_keys(lead)
            released.extend((*key, lead_id) for key in before - after)
            claimed.extend((*key, lead_id) for key in after - before)
        deleted = [i for i, lead in p.leads.items() if _is_deleted(lead)]
        live = [lead for lead in p.leads.values() if not _is_deleted(lead)]
        # Released before claimed: an identifier may change hands within one flush.
        if released:
            release_identifiers_effect(sorted(released))(curs)
        if deleted:
            delete_leads_effect(deleted)(curs)
        if claimed:
            insert_identifiers_effect(sorted(claimed))(curs)
        if live:
            upsert_leads_effect(live)(curs)


@dataclass
class Pending:
    """Writes waiting for the next flush."""

    job_effects: list[Effect] = field(default_factory=list)
    outcomes: list[tuple[str, int, str, UUID | None, str | None, str | None]] = field(
        default_factory=list
    )
    warnings: list[tuple[str, int, int, str, str]] = field(default_factory=list)
    # job id -> [created, updated, failed, skipped, warnings] of the rows applied
    counters: defaultdict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0, 0])
    )
    jobs: set[str] = field(default_factory=set)  # every job an event touched
    leads: dict[UUID, Any] = field(default_factory=dict)  # touched leads, as they are now
    identifiers_before: dict[UUID, set[Key]] = field(default_factory=dict)


def _unknown(notification: Notification, why: str) -> str:
    return (
        f"notification {notification.id} is a {notification.topic!r} event, {why}. Teach "
        "projections/replay.py about it (LEAD_EVENTS, JOB_EVENTS or a handler of its own; an "
        "upcaster for a changed class) before replaying. Nothing was changed."
    )


def _identifier_keys(lead: Any) -> set[Key]:
    if lead is None or _is_deleted(lead):
        return set()
    return {(lead.ou, kind, value) for kind, values in lead.identifiers.items() for value in values}


def _is_deleted(lead: Any) -> bool:
    return bool(getattr(lead, "deleted", False))


def _update_jobs(
    curs: Cursor[Any],
    jobs: list[str],
    counters: dict[str, list[int]],
    last_progress: dict[str, datetime],
) -> None:
    """Add the rows' counts to the jobs' counters; set ``last_progress_at`` (module docstring)."""
    zero = [0, 0, 0, 0, 0]
    curs.execute(
        "UPDATE import_jobs j SET created_count = j.created_count + d.c,"
        " updated_count = j.updated_count + d.u, failed_count = j.failed_count + d.f,"
        " skipped_count = j.skipped_count + d.s,"
        " warning_count = j.warning_count + d.w, last_progress_at = d.t"
        " FROM unnest(%b::text[], %b::int[], %b::int[], %b::int[], %b::int[], %b::int[],"
        " %b::timestamptz[]) AS d(job_id, c, u, f, s, w, t) WHERE j.job_id = d.job_id",
        (
            jobs,
            [counters.get(j, zero)[0] for j in jobs],
            [counters.get(j, zero)[1] for j in jobs],
            [counters.get(j, zero)[2] for j in jobs],
            [counters.get(j, zero)[3] for j in jobs],
            [counters.get(j, zero)[_WARNINGS] for j in jobs],
            [last_progress[j] for j in jobs],
        ),
    )


def _copy_rows(curs: Cursor[Any], table_and_columns: str, rows: list[Any]) -> None:
    """COPY ``rows`` into ``table (columns)`` (a fixed name from this module, never input)."""
    if rows:
        with curs.copy(f"COPY {table_and_columns} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
