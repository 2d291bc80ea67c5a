"""PostgreSQL restarts (same port, same data) in the middle of a job; the workers keep running.

Every worker's connections break at once: the lead worker retries its batch until the database
answers again, the importer's sweep and job handling retry the same way, the relay starts a new
session from its recorded position. None of them may exit, and the job completes exactly.
"""

from __future__ import annotations

import random

import pytest

from tests.faults.support import (
    SEED,
    FaultStack,
    assert_exact,
    assert_lead_events_complete,
    assert_no_rewind,
    assert_workers_alive,
    lead_file,
)

pytestmark = pytest.mark.faults

ROWS = 20_000


def test_postgres_restart_mid_job(stack: FaultStack) -> None:
    s = stack
    rnd = random.Random(SEED + 2)
    f = lead_file(ROWS, SEED + 2)
    point = int(ROWS * rnd.uniform(0.1, 0.6))
    print(f"seed {SEED}: PostgreSQL restart after {point} rows")
    s.workers.start("importer", "importer")
    s.workers.start("leads-1", "leads")
    s.workers.start("leads-2", "leads")
    s.workers.start("relay", "relay")
    job_id = s.start_job(f)
    done = s.wait_done_rows(job_id, point)
    s.pg.restart()
    print(f"PostgreSQL restarted at {done} rows done")

    assert s.wait_job_closed(job_id) == "completed"
    assert_exact(s, job_id, f)
    assert_lead_events_complete(s)
    assert_workers_alive(s)
    assert_no_rewind(s)
