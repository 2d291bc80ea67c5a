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
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from adapters import locks
from adapters.eventstore import LeadImportStore
from projections.rebuild import PAGE_SIZE, Rebuild, UnknownEvent
from projections.swap import (
    OPERATIONAL_COLUMNS,
    SHADOW_SCHEMA,
    TABLES,
    ReplayFailed,
    Swap,
    create_shadow,
    describe_table,
    events_table,
    ids,
    live_schema,
)

__all__ = [
    "OPERATIONAL_COLUMNS",
    "SHADOW_SCHEMA",
    "TABLES",
    "Rebuild",
    "ReplayFailed",
    "ReplayReport",
    "UnknownEvent",
    "describe_table",
    "replay",
]

log = logging.getLogger(__name__)

SWAP_ATTEMPTS = 5


@dataclass
class ReplayReport:
    events: int  # notifications applied
    position: int  # the last notification id in the rebuild
    applied_during_swap: int  # of ``events``, those applied while holding the locks
    seconds: float  # the whole replay
    swap_seconds: float  # the swap transaction (the API waits at most this long)
    swap_attempts: int


def replay(app: LeadImportStore, database_url: str, *, page_size: int = PAGE_SIZE) -> ReplayReport:
    """Rebuild every projection from ``app``'s notification log and swap it in (see above).

    The projection tables must exist (``migrate()`` creates them); their current shape is the
    shape of the rebuild. Raises ``UnknownEvent`` or ``ReplayFailed`` with the live tables
    unchanged.
    """
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (locks.REPLAY,))  # waits for another replay
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


def _rebuild_and_swap(app: LeadImportStore, conn: Connection[Any], page_size: int) -> ReplayReport:
    live = live_schema(conn)
    create_shadow(conn, live)
    conn.execute(
        SQL("SET search_path TO {}, {}").format(Identifier(SHADOW_SCHEMA), Identifier(live))
    )
    rebuild = Rebuild(app, conn, page_size)
    swap = Swap(conn, rebuild, live, events_table(app))
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        rebuild.catch_up()
        if attempt == 1:
            for table in TABLES:  # fresh tables have no statistics yet
                conn.execute(SQL("ANALYZE {}.{}").format(*ids(SHADOW_SCHEMA, table)))
        try:
            during, swap_seconds = swap.run()
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as e:
            log.warning("replay: swap attempt %d gave way (%s); catching up again", attempt, e)
            rebuild.forget_uncommitted()
            continue
        return ReplayReport(
            events=rebuild.events,
            position=rebuild.position,
            applied_during_swap=during,
            seconds=0.0,
            swap_seconds=swap_seconds,
            swap_attempts=attempt,
        )
    raise ReplayFailed(
        f"the swap could not take its locks in {SWAP_ATTEMPTS} attempts: long transactions "
        "hold the projection tables. Nothing was changed; run the replay again later."
    )


def _clean_up(conn: Connection[Any]) -> None:
    """Drop what is left of the rebuild (after a failure) and let the next replay in."""
    try:
        conn.execute("RESET search_path")
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(SHADOW_SCHEMA)))
        conn.execute("SELECT pg_advisory_unlock(%s)", (locks.REPLAY,))
    except psycopg.Error as e:  # the connection is gone: so is its lock; the next replay cleans up
        log.warning("replay: could not clean up the rebuild schema: %s", e)
