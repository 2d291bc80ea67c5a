"""Per-OU caps of a shared service (``Container.limits``): stored previews and queued jobs.

Each cap is counted and taken in one transaction under a per-OU advisory lock
(``adapters.locks``), so two requests at once cannot both take the last slot: the second waits
for the first to commit, then counts its row. A request over a cap is `TooManyRequests` (429)
with the seconds after which a slot is likely free (``Retry-After``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from adapters import locks
from domain.errors import TooManyRequests
from domain.import_job import IN_PROGRESS, QUEUED

# Retry-After of a full queue: a queued job starts when one of the OU's running jobs finishes,
# estimated from the fewest rows such a job still has at this many rows per second (a job's
# share of what the bench measured on 2 cores, 6,000-7,000 rows/s, with three running), at
# least QUEUE_RETRY_MIN and at most QUEUE_RETRY_MAX seconds; QUEUE_RETRY_IDLE when none runs
# (the importer's sweep starts waiting jobs within seconds).
ROWS_PER_SECOND_PER_JOB = 1000
QUEUE_RETRY_MIN = 5
QUEUE_RETRY_MAX = 600
QUEUE_RETRY_IDLE = 30


def lock_previews(cursor: Any, ou: str) -> None:
    """Hold the OU's preview lock until the transaction ends."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (locks.OU_PREVIEWS, ou))


def check_previews(cursor: Any, ou: str, limit: int, now: datetime) -> None:
    """`TooManyRequests` when the OU already stores ``limit`` unexpired previews; Retry-After:
    until the oldest of them expires."""
    row = cursor.execute(
        "SELECT count(*) AS n, min(expires_at) AS oldest FROM preview_files"
        " WHERE ou = %s AND expires_at > %s",
        (ou, now),
    ).fetchone()
    if row["n"] < limit:
        return
    wait = math.ceil((row["oldest"] - now).total_seconds())
    raise TooManyRequests(
        f"Your organisation already has {row['n']} uploaded files waiting to be imported, the "
        f"limit of {limit}. Each is kept for 1 hour after its upload; the oldest expires in "
        f"{_duration(wait)}. Import or let expire the files you uploaded (a start with another "
        "encoding or delimiter also stores a copy), then upload again.",
        retry_after=wait,
        code="too_many_previews",
    )


def queue_effect(ou: str, job_id: str, limit: int) -> Any:
    """An effect for ``events.put``: lock the OU's queue and refuse a job over ``limit``."""

    def effect(cursor: Any) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (locks.OU_QUEUE, ou))
        check_queue(cursor, ou, limit, exclude=job_id)

    return effect


def check_queue(cursor: Any, ou: str, limit: int, exclude: str = "") -> None:
    """`TooManyRequests` when the OU already has ``limit`` jobs waiting as ``queued``."""
    cursor.execute(
        "SELECT count(*) AS n FROM import_jobs WHERE ou = %s AND status = %s AND job_id <> %s",
        (ou, QUEUED.value, exclude),
    )
    queued = cursor.fetchone()["n"]
    if queued < limit:
        return
    cursor.execute(
        "SELECT min(greatest(total_rows - created_count - updated_count - failed_count"
        " - skipped_count, 0)) AS remaining FROM import_jobs WHERE ou = %s AND status = %s",
        (ou, IN_PROGRESS.value),
    )
    remaining = cursor.fetchone()["remaining"]
    if remaining is None:
        wait = QUEUE_RETRY_IDLE
    else:
        wait = math.ceil(remaining / ROWS_PER_SECOND_PER_JOB)
        wait = min(QUEUE_RETRY_MAX, max(QUEUE_RETRY_MIN, wait))
    raise TooManyRequests(
        f"Your organisation already has {queued} import jobs waiting to start, the limit of "
        f"{limit}. They start as your running imports finish; try again in about "
        f"{_duration(wait)} (GET /leads/import/jobs shows them), or cancel queued jobs you no "
        "longer need.",
        retry_after=wait,
        code="too_many_queued_jobs",
    )


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{max(1, seconds)} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
