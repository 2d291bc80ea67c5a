"""What ``GET /metrics`` reports from PostgreSQL: jobs by status, rows by outcome, dead letters,
and the relay's lag behind the event store (docs/operations.md, "Metrics").

Three cheap statements, read at scrape time, never per OU (tenants' names never become labels):
an aggregate over ``import_jobs`` (one row per job, its counters kept by the lead workers), one
over ``dead_letters``, and two index lookups (the relay's position, the event store's last
notification id). Each runs under a short ``statement_timeout``, so a scrape never waits long for
a lock (a replay's swap) or a database that went away.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.eventstore import EVENTS_TABLE
from application.container import Container
from application.relaying import RELAY_NAME
from domain.import_job import JobStatus

STATEMENT_TIMEOUT_MS = 2000
POOL_TIMEOUT_S = 2.0
OUTCOMES = ("created", "updated", "failed", "skipped")
WORKERS = ("importer", "leads", "relay")


@dataclass(frozen=True)
class StoreMetrics:
    jobs: dict[str, int]  # status -> jobs (every status, 0 included)
    rows: dict[str, int]  # outcome -> rows applied, over all jobs
    dead_letters_waiting: dict[str, int]  # worker -> not retried yet
    dead_letters_parked: dict[str, int]  # worker -> ever parked
    last_notification_id: int  # of the event store (0: empty)
    relay_position: int  # last notification id the relay published (0: none yet)

    @property
    def relay_lag(self) -> int:
        """Notification ids stored after the relay's position: an upper bound of the events not
        yet published (ids of rolled-back inserts are holes, and most job events are not
        published)."""
        return max(0, self.last_notification_id - self.relay_position)


def read_store_metrics(c: Container) -> StoreMetrics:
    with c.pool.connection(timeout=POOL_TIMEOUT_S) as conn, conn.transaction():
        conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        jobs = dict.fromkeys((s.value for s in JobStatus), 0)
        rows = dict.fromkeys(OUTCOMES, 0)
        for r in conn.execute(
            "SELECT status, count(*) AS jobs, sum(created_count) AS created,"
            " sum(updated_count) AS updated, sum(failed_count) AS failed,"
            " sum(skipped_count) AS skipped FROM import_jobs GROUP BY status"
        ):
            jobs[r["status"]] = int(r["jobs"])
            for outcome in OUTCOMES:
                rows[outcome] += int(r[outcome] or 0)
        waiting = dict.fromkeys(WORKERS, 0)
        parked = dict.fromkeys(WORKERS, 0)
        for r in conn.execute(
            "SELECT worker, count(*) FILTER (WHERE retried_at IS NULL) AS waiting,"
            " count(*) AS parked FROM dead_letters GROUP BY worker"
        ):
            waiting[r["worker"]] = int(r["waiting"])
            parked[r["worker"]] = int(r["parked"])
        position = conn.execute(
            f"SELECT (SELECT max(notification_id) FROM {EVENTS_TABLE}) AS last,"
            " (SELECT notification_id FROM relay_position WHERE name = %s) AS position",
            (RELAY_NAME,),
        ).fetchone()
    assert position is not None
    return StoreMetrics(
        jobs=jobs,
        rows=rows,
        dead_letters_waiting=waiting,
        dead_letters_parked=parked,
        last_notification_id=int(position["last"] or 0),
        relay_position=int(position["position"] or 0),
    )
