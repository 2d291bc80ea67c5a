"""A job's progress as the job detail and the job list show it: rows processed, percent, the
recent rate, the time left, and why a queued job waits (docs/api.md, "Progress of a job").

Pure calculations; the samples come from ``job_progress`` (``projections.progress``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.import_job import COMPLETED, UNDOING, UNDONE

# The rate is measured over about this many seconds of the most recent progress.
RATE_WINDOW_S = 10
# Samples older than this (of the same job) are deleted when a batch writes a new one. Longer
# than the window, so a sample just before the window start is there when batches are seconds
# apart; a few dozen rows per running job at the default batch size.
SAMPLE_KEEP_S = 60
# Statuses whose job applied every row it had: a job of 0 rows is 100 % done in them.
_COMPLETE = frozenset({COMPLETED, UNDOING, UNDONE})


@dataclass(frozen=True)
class Sample:
    """A job's rows processed at a moment (one per applied lead-worker batch)."""

    at: datetime
    processed: int


def processed_rows(created: int, updated: int, failed: int, skipped: int) -> int:
    """Rows that have an outcome."""
    return created + updated + failed + skipped


def percent(processed: int, total: int, status: str) -> float:
    """0 to 100 with one decimal, rounded down: 100 only when every row has an outcome (a job of
    0 rows: once it completed)."""
    if total <= 0:
        return 100.0 if status in _COMPLETE else 0.0
    if processed >= total:
        return 100.0
    return (1000 * max(0, processed) // total) / 10


def recent_rate(
    now: datetime, processed: int, before_window: Sample | None, first: Sample | None
) -> float | None:
    """Rows per second over the last ``RATE_WINDOW_S`` seconds up to ``now``.

    ``before_window``: the newest sample at least ``RATE_WINDOW_S`` old; ``first``: the oldest
    sample kept. The rate is measured from ``before_window`` (or, for a job that began less
    than a window ago, from its first sample) to ``now`` and the rows processed now. None while
    unknown: no sample, or only one with nothing processed since. A job that processed nothing
    for a whole window has a rate of 0.
    """
    base = before_window if before_window is not None else first
    if base is None:
        return None
    if before_window is None and processed <= base.processed:
        return None
    seconds = (now - base.at).total_seconds()
    if seconds <= 0:
        return None
    return max(0, processed - base.processed) / seconds


def eta_seconds(processed: int, total: int, rate: float | None) -> int | None:
    """Whole seconds until every row has an outcome at ``rate``; None without a positive rate."""
    if rate is None or rate <= 0:
        return None
    return math.ceil(max(0, total - processed) / rate)


def queue_state(position: int, running: int, limit: int) -> dict[str, Any]:
    """Why a queued job waits. ``position``: 1 for the OU's oldest queued job (jobs start
    oldest first); ``running``: the OU's jobs in progress; ``limit``: how many may run."""
    free = max(0, limit - running)
    base = {"position": position, "running": running, "limit": limit}
    if position <= free:
        return {
            "state": "starting",
            "reason": f"The OU runs {running} of at most {limit} {_jobs(limit)}: a slot is free "
            "and the importer starts this job within seconds.",
            **base,
        }
    ahead = position - 1
    ends = position + running - limit  # jobs that must end before this one gets a slot
    if running >= limit:
        reason = f"The OU already runs {running} {_jobs(running)}, the limit per OU is {limit}"
    else:
        reason = f"The OU runs {running} {_jobs(running)} of at most {limit}"
    if ahead:
        reason += f", and {ahead} queued {_jobs(ahead)} {'is' if ahead == 1 else 'are'} ahead"
    when = "a running job ends" if ends == 1 else f"{ends} running jobs have ended"
    reason += f": this job starts when {when}."
    return {"state": "waiting_for_slot", "reason": reason, **base}


def _jobs(n: int) -> str:
    return "job" if n == 1 else "jobs"
