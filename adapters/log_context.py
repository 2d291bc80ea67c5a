"""What a process is working on, for its log lines: the request id of the HTTP request being
answered, the import job whose rows are being handled.

Context variables, set by the entrypoints (the API's request middleware, the workers' batch
handlers) and read by the log formatter of ``runtime.logs``. Each asyncio task and each thread
has its own value, so concurrent requests never see each other's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
JOB_ID: ContextVar[str | None] = ContextVar("job_id", default=None)


@contextmanager
def job(job_id: str | None) -> Iterator[None]:
    """Log lines inside the block name ``job_id`` (None: no job)."""
    token = JOB_ID.set(job_id)
    try:
        yield
    finally:
        JOB_ID.reset(token)


def only_job(job_ids: Iterable[str | None]) -> str | None:
    """The job id when all of ``job_ids`` are one job, else None: a batch of several jobs names
    none of them."""
    # Not "the first non-None id": None (a record of no job) is a value like any other.
    seen: set[str | None] = set()
    for j in job_ids:
        seen.add(j)
        if len(seen) > 1:
            return None
    return next(iter(seen), None)
