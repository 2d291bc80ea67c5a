"""``leadimport replay``: rebuild every projection from the events alone, then swap it in.

The projections are ``import_jobs`` (lifecycle from ImportJob events, counters from
``RowBatch.RowsApplied``), ``row_outcomes`` and ``job_warnings`` (from ``RowsApplied``),
``leads_view`` and ``lead_identifiers`` (from Lead events). ``replay`` reads the event store's
notification log in order, in pages, and writes them into fresh tables; then it swaps them in.

Fresh tables. They live in the schema ``leadimport_replay``, created ``LIKE <live table> INCLUDING
ALL`` and with the same names as the live ones. The replay connection puts that schema first on
its ``search_path``, so it writes the rebuild with the very statements the live path runs
(``projections.jobs.job_event_effects``, ``projections.leads.*_effect``): the same SQL, only
pointed elsewhere. The API and the workers go on with the live tables meanwhile.

The swap is one transaction, under ``lock_timeout`` (5 s; on a timeout or a deadlock it is
rolled back, the replay catches up again and retries):

1. the migration's advisory lock (no ``migrate()`` in between), then ``LOCK TABLE`` in ACCESS
   EXCLUSIVE mode on ``import_jobs``, ``lead_identifiers``, ``row_outcomes``, ``job_warnings``,
   ``leads_view``, in that order: the order in which the lead worker's transaction touches them
   (it starts by locking its jobs' rows in ``import_jobs``), so it cannot deadlock with a writer.
   Transactions already writing them finish first; new ones wait;
2. ``LOCK TABLE leadimport_events IN SHARE MODE``. Every event insert takes that table in
   EXCLUSIVE mode until it commits (the library's recorder and ``LeadImportRecorder``; the latter
   after running its effects, which is why the projection tables are locked first). Once the
   SHARE lock is granted no insert is in flight and none can start: the log is frozen, and since
   inserts commit in notification-id order, everything committed is visible after the position
   the rebuild reached;
3. the rebuild applies the notifications committed since (usually less than a page);
4. ``redrive_count`` is carried over from the live ``import_jobs`` (see below);
5. each live table is dropped and its rebuild moved into the live schema; indexes whose
   generated names differ (``LIKE`` names secondary indexes after their columns) are renamed to
   the live names; then columns, indexes and constraints are compared with the dropped table's
   and any difference aborts the whole swap (so the next ``migrate()`` is a no-op).

Correctness: at commit the new tables hold the projection of exactly the events committed up
to then, which is what the live tables held too: every write to them is an effect committed in
the same transaction as its events, and no such transaction can commit between step 2 and the
commit. Transactions that waited on a lock then resolve the table names again (PostgreSQL does
so after a lock wait, and re-plans prepared statements when their tables change) and carry on
against the new tables. So ``lead_identifiers`` and ``row_outcomes`` keep doing their work as
the lead worker's uniqueness and idempotency guards across the swap: the workers need not be
paused. Two replays never share the rebuild schema: a replay holds an advisory lock throughout.

Operational columns: ``import_jobs.last_progress_at`` is the stall sweep's clock (the live path
sets it to ``now()`` when rows are applied, and the sweep bumps it when it re-drives a job); the
rebuild derives it from the events: the latest timestamp among the job's ImportJob events and
its ``RowsApplied`` events, whatever the paging. ``import_jobs.redrive_count`` (how often the
sweep re-drove the job) is in no event: it is copied from the live table during the swap (0 when
the job has no live row). Neither is part of any API response; comparisons of a rebuild with
the live tables leave both out (``OPERATIONAL_COLUMNS``).

Events: every event type is handled explicitly (``LEAD_EVENTS``, ``JOB_EVENTS``, ``RowsApplied``);
any other stops the replay with ``UnknownEvent``, before the swap, so a new event type cannot be
silently left out of the rebuild. A lead event is applied to the ``Lead`` aggregate itself
(``event.mutate``): the rebuilt row is the aggregate's read shape, the way the lead worker and
the undo write it; a deleted lead has no ``leads_view`` row and holds no identifiers. Aggregates
are cached (up to ``CACHE_MAX``); one not in the cache is loaded from the events up to the
rebuild's position.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.utils import TopicError
from psycopg import Connection, Cursor
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from domain.errors import NotFound
from domain.history import HistoryEntry, lead_history
from domain.identifiers import IdentifierKind, normalize
from domain.import_job import ImportJob
from domain.lead import Lead
from domain.row_ledger import RowBatch
from projections.jobs import job_event_effects
from projections.leads import (
    delete_leads_effect,
    insert_identifiers_effect,
    owners,
    release_identifiers_effect,
    upsert_leads_effect,
)

log = logging.getLogger(__name__)

# The projection tables, in the order the swap locks them (see the module docstring).
TABLES = ("import_jobs", "lead_identifiers", "row_outcomes", "job_warnings", "leads_view")
# Columns that are not derived from events; left out when a rebuild is compared with live data.
OPERATIONAL_COLUMNS = {"import_jobs": ("last_progress_at", "redrive_count")}
SHADOW_SCHEMA = "leadimport_replay"
REPLAY_LOCK = 7_431_003  # advisory lock key: one replay at a time
MIGRATION_LOCK = 7_431_001  # runtime.db.MIGRATION_LOCK (projections do not import runtime)
PAGE_SIZE = 2000  # notifications per read; a page is written and committed at once
FLUSH_ROWS = 50_000  # write pending rows before a page ends once this many row outcomes wait
CACHE_MAX = 200_000  # aggregates kept between pages; beyond it the cache starts over
SWAP_LOCK_TIMEOUT = "5s"  # how long the swap waits for a lock before it lets the API go on
SWAP_ATTEMPTS = 5

LEAD_EVENTS: frozenset[type] = frozenset(
    {
        Lead.LeadCreated,
        Lead.LeadProfileUpdated,
        Lead.LeadAliasAdded,
        Lead.LeadProfileReverted,
        Lead.LeadAliasRemoved,
        Lead.LeadDeleted,
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
_COUNTER = {"created": 0, "updated": 1, "failed": 2}  # index in [created, updated, failed]
Key = tuple[str, str, str]  # (ou, kind, value) of an identifier


class UnknownEvent(RuntimeError):
    """The log holds an event type the replay does not project: teach this module about it."""


class ReplayFailed(RuntimeError):
    """The rebuild could not be swapped in; the live tables are unchanged."""


@dataclass
class ReplayReport:
    events: int  # notifications applied
    position: int  # the last notification id in the rebuild
    applied_during_swap: int  # of ``events``, those applied while holding the locks
    seconds: float  # the whole replay
    swap_seconds: float  # the swap transaction (the API waits at most this long)
    swap_attempts: int


def replay(
    app: Application[UUID], database_url: str, *, page_size: int = PAGE_SIZE
) -> ReplayReport:
    """Rebuild every projection from ``app``'s notification log and swap it in (see above).

    The projection tables must exist (``migrate()`` creates them); their current shape is the
    shape of the rebuild. Raises ``UnknownEvent`` or ``ReplayFailed`` with the live tables
    unchanged.
    """
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (REPLAY_LOCK,))  # waits for another replay
        try:
            report = _rebuild_and_swap(app, conn, page_size)
        finally:
            _clean_up(conn)
    report.seconds = time.monotonic() - started
    log.info(
        "replay: %d events up to notification %d in %.1f s (swap %.2f s, %d attempt(s))",
        report.events,
        report.position,
        report.seconds,
        report.swap_seconds,
        report.swap_attempts,
    )
    return report


def _rebuild_and_swap(
    app: Application[UUID], conn: Connection[Any], page_size: int
) -> ReplayReport:
    live = _live_schema(conn)
    _create_shadow(conn, live)
    conn.execute(
        SQL("SET search_path TO {}, {}").format(Identifier(SHADOW_SCHEMA), Identifier(live))
    )
    rebuild = Rebuild(app, conn, page_size)
    swap = Swap(conn, rebuild, live, _events_table(app))
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        rebuild.catch_up()
        if attempt == 1:
            for table in TABLES:  # fresh tables have no statistics yet
                conn.execute(SQL("ANALYZE {}.{}").format(*_ids(SHADOW_SCHEMA, table)))
        try:
            report = swap.run()
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as e:
            log.warning("replay: swap attempt %d gave way (%s); catching up again", attempt, e)
            rebuild.forget_uncommitted()
            continue
        report.swap_attempts = attempt
        return report
    raise ReplayFailed(
        f"the swap could not take its locks in {SWAP_ATTEMPTS} attempts: long transactions "
        "hold the projection tables. Nothing was changed; run the replay again later."
    )


def _clean_up(conn: Connection[Any]) -> None:
    """Drop what is left of the rebuild (after a failure) and let the next replay in."""
    try:
        conn.execute("RESET search_path")
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(SHADOW_SCHEMA)))
        conn.execute("SELECT pg_advisory_unlock(%s)", (REPLAY_LOCK,))
    except psycopg.Error as e:  # the connection is gone: so is its lock; the next replay cleans up
        log.warning("replay: could not clean up the rebuild schema: %s", e)


class Rebuild:
    """The projection of the notification log up to ``position``, in the shadow tables.

    ``apply_page`` decodes a page of notifications, applies each event to the pending writes
    and writes them; the caller decides when they commit.
    """

    def __init__(self, app: Application[UUID], conn: Connection[Any], page_size: int) -> None:
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
        decoded = [(n, self._decode(n)) for n in page]
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

    def _decode(self, notification: Notification) -> Any:
        try:
            return self.app.mapper.to_domain_event(notification)
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
        recorder: Any = self.app.recorder
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT originator_id, originator_version, topic, state FROM {}"
                    " WHERE originator_id = ANY(%s) AND notification_id <= %s"
                    " ORDER BY originator_id, originator_version"
                ).format(Identifier(recorder.events_table_name)),
                (sorted(wanted), self.position),
            )
            rows = curs.fetchall()
        by_id: dict[UUID, list[Any]] = defaultdict(list)
        for r in rows:
            stored = StoredEvent(
                r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
            )
            by_id[r["originator_id"]].append(self.app.mapper.to_domain_event(stored))
        for aggregate_id, history in by_id.items():
            aggregate = project_aggregate(None, history)
            assert aggregate is not None  # history is never empty here
            self.aggregates[aggregate_id] = aggregate

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
    # job id -> [created, updated, failed] of the rows applied
    counters: defaultdict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
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
    zero = [0, 0, 0]
    curs.execute(
        "UPDATE import_jobs j SET created_count = j.created_count + d.c,"
        " updated_count = j.updated_count + d.u, failed_count = j.failed_count + d.f,"
        " last_progress_at = d.t"
        " FROM unnest(%b::text[], %b::int[], %b::int[], %b::int[], %b::timestamptz[])"
        " AS d(job_id, c, u, f, t) WHERE j.job_id = d.job_id",
        (
            jobs,
            [counters.get(j, zero)[0] for j in jobs],
            [counters.get(j, zero)[1] for j in jobs],
            [counters.get(j, zero)[2] for j in jobs],
            [last_progress[j] for j in jobs],
        ),
    )


class Swap:
    """The swap transaction (module docstring, steps 1-5)."""

    def __init__(
        self, conn: Connection[Any], rebuild: Rebuild, live: str, events_table: tuple[str, str]
    ) -> None:
        self.conn = conn
        self.rebuild = rebuild
        self.live = live
        self.events_table = events_table

    def run(self) -> ReplayReport:
        conn, live = self.conn, self.live
        started = time.monotonic()
        with conn.transaction():
            conn.execute(SQL("SET LOCAL lock_timeout = {}").format(SWAP_LOCK_TIMEOUT))
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            for table in TABLES:
                conn.execute(
                    SQL("LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE").format(*_ids(live, table))
                )
            conn.execute(SQL("LOCK TABLE {}.{} IN SHARE MODE").format(*_ids(*self.events_table)))
            during = self.rebuild.catch_up_in_transaction()
            conn.execute(
                SQL(
                    "UPDATE {}.import_jobs n SET redrive_count = o.redrive_count"
                    " FROM {}.import_jobs o WHERE o.job_id = n.job_id"
                ).format(Identifier(SHADOW_SCHEMA), Identifier(live))
            )
            expected = {table: describe_table(conn, live, table) for table in TABLES}
            for table in TABLES:
                conn.execute(SQL("DROP TABLE {}.{}").format(*_ids(live, table)))
                conn.execute(
                    SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                        *_ids(SHADOW_SCHEMA, table), Identifier(live)
                    )
                )
                _rename_indexes(conn, live, table, expected[table]["indexes"])
                if (got := describe_table(conn, live, table)) != expected[table]:
                    raise ReplayFailed(
                        f"the rebuilt {table} does not match the live one: "
                        f"{got!r} != {expected[table]!r}. Nothing was changed."
                    )
            conn.execute(SQL("DROP SCHEMA {}").format(Identifier(SHADOW_SCHEMA)))
        swap_seconds = time.monotonic() - started
        self.rebuild.committed_position = self.rebuild.position
        self.rebuild.committed_events = self.rebuild.events
        return ReplayReport(
            events=self.rebuild.events,
            position=self.rebuild.position,
            applied_during_swap=during,
            seconds=0.0,
            swap_seconds=swap_seconds,
            swap_attempts=0,
        )


# --- catalog helpers ---------------------------------------------------------------------------

_INDEX_NAME = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON \S+ ")


def _ids(schema: str, table: str) -> tuple[Identifier, Identifier]:
    return Identifier(schema), Identifier(table)


def _live_schema(conn: Connection[Any]) -> str:
    """The schema of the live projection tables (the first of the search path that has them)."""
    schemas: set[str] = set()
    for table in TABLES:
        row = conn.execute(
            "SELECT relnamespace::regnamespace::text AS schema FROM pg_class"
            " WHERE oid = to_regclass(%s)",
            (table,),
        ).fetchone()
        if row is None:
            raise ReplayFailed(
                f"the table {table} does not exist: create the schema first "
                "(leadimport replay does, through migrate())."
            )
        schemas.add(row["schema"])
    if len(schemas) != 1:
        raise ReplayFailed(f"the projection tables are spread over schemas {sorted(schemas)}")
    return schemas.pop()


def _events_table(app: Application[UUID]) -> tuple[str, str]:
    recorder: Any = app.recorder
    return (recorder.datastore.schema or "public", recorder.events_table_name)


def _create_shadow(conn: Connection[Any], live: str) -> None:
    conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(SHADOW_SCHEMA)))
    conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(SHADOW_SCHEMA)))
    for table in TABLES:
        conn.execute(
            SQL("CREATE TABLE {}.{} (LIKE {}.{} INCLUDING ALL)").format(
                *_ids(SHADOW_SCHEMA, table), *_ids(live, table)
            )
        )


def describe_table(conn: Connection[Any], schema: str, table: str) -> dict[str, Any]:
    """Columns, indexes and constraints of a table, as comparable values."""
    relation = SQL("{}.{}").format(*_ids(schema, table)).as_string(conn)
    columns = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid) AS default FROM pg_attribute a"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attnum",
        (relation,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass ORDER BY 1",
        (relation,),
    ).fetchall()
    constraints = conn.execute(
        "SELECT conname, contype::text, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1",
        (relation,),
    ).fetchall()
    return {
        "columns": [tuple(r.values()) for r in columns],
        "indexes": {r["name"]: _INDEX_NAME.sub(r"\1 ON ", r["definition"]) for r in indexes},
        "constraints": [tuple(r.values()) for r in constraints],
    }


def _rename_indexes(conn: Connection[Any], schema: str, table: str, want: dict[str, str]) -> None:
    """Give the moved table's indexes the names the live ones had (matched by definition)."""
    name_of = {definition: name for name, definition in want.items()}
    for name, definition in describe_table(conn, schema, table)["indexes"].items():
        target = name_of.get(definition)
        if target is not None and target != name:
            conn.execute(
                SQL("ALTER INDEX {}.{} RENAME TO {}").format(
                    *_ids(schema, name), Identifier(target)
                )
            )


# --- audit: one lead's events --------------------------------------------------------------------


def lead_events(app: Application[UUID], ou: str, lead_id: UUID) -> list[Any] | None:
    """The events of lead ``lead_id`` of ``ou`` in order; None if it is no lead of ``ou``."""
    events = list(app.events.get(lead_id))
    if not events or type(events[0]) is not Lead.LeadCreated or events[0].ou != ou:
        return None
    return events


def lead_history_of(app: Application[UUID], ou: str, lead_id: UUID) -> list[HistoryEntry] | None:
    """``GET /leads/{lead_id}/history``: the lead's history, or None for a foreign/unknown id."""
    events = lead_events(app, ou, lead_id)
    return None if events is None else lead_history(events)


def audit(
    app: Application[UUID],
    conn: Connection[Any],
    ou: str,
    kind: IdentifierKind,
    raw_value: str,
    default_country: str = "US",
) -> dict[str, Any]:
    """``leadimport audit``: the history of the lead of ``ou`` holding an identifier.

    Raises ``NotFound`` when no lead holds it (identifiers of a deleted lead are released).
    """
    value = normalize(kind, raw_value, default_country)
    with conn.cursor() as curs:
        owner = owners(curs, [(ou, kind, value)]).get((ou, kind, value))
    history = lead_history_of(app, ou, owner) if owner is not None else None
    if owner is None or history is None:
        raise NotFound(f"No lead of OU {ou!r} has the {kind} {value!r}.")
    return {"lead_id": str(owner), "events": history}


def _copy_rows(curs: Cursor[Any], table_and_columns: str, rows: list[Any]) -> None:
    """COPY ``rows`` into ``table (columns)`` (a fixed name from this module, never input)."""
    if rows:
        with curs.copy(f"COPY {table_and_columns} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
