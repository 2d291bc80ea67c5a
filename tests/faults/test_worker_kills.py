"""SIGKILL the lead worker, then the importer, then the relay, each at a random (seeded) point of
one 20,000-row job, restarting each: the job completes exactly and every lead event reaches
``leads.events``.

tests/e2e/test_crash_recovery.py kills one worker per job at a fixed point; here the three are
killed in turn in the same job, with the relay running, at points drawn from the seed.
"""

from __future__ import annotations

import random

import pytest

from adapters.kafka import TOPIC_ROWS
from tests.faults.support import (
    JOB_TIMEOUT_S,
    SEED,
    FaultStack,
    TopicEnds,
    assert_exact,
    assert_lead_events_complete,
    assert_no_rewind,
    lead_file,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.faults

ROWS = 20_000


def test_lead_worker_importer_and_relay_killed_in_turn(stack: FaultStack) -> None:
    s = stack
    rnd = random.Random(SEED + 1)
    f = lead_file(ROWS, SEED + 1)
    lead_at = int(ROWS * rnd.uniform(0.05, 0.25))  # rows with an outcome
    importer_at = int(ROWS * rnd.uniform(0.2, 0.9))  # rows published, while it still publishes
    relay_at = int(ROWS * rnd.uniform(0.55, 0.9))  # rows with an outcome
    print(
        f"seed {SEED}: kill points lead worker {lead_at}, importer {importer_at}, relay {relay_at}"
    )
    s.workers.start("importer-1", "importer")
    s.workers.start("leads-1", "leads")
    s.workers.start("relay-1", "relay")
    ends = TopicEnds(s.bootstrap, TOPIC_ROWS)
    try:
        job_id = s.start_job(f)

        done = s.wait_done_rows(job_id, lead_at)
        s.workers.kill("leads-1")
        s.workers.start("leads-2", "leads")
        print(f"lead worker killed at {done} rows done")

        def importer_point() -> str | None:
            if s.rows_published(job_id):
                return "after it published every row (between two sweeps)"
            published = ends.total()
            return f"at {published} rows published" if published >= importer_at else None

        where = wait_for(importer_point, JOB_TIMEOUT_S, "the importer's kill point")
        s.workers.kill("importer-1")
        s.workers.start("importer-2", "importer")
        print(f"importer killed {where}")
    finally:
        ends.close()

    done = s.wait_done_rows(job_id, relay_at)
    s.workers.kill("relay-1")
    s.workers.start("relay-2", "relay")
    print(f"relay killed at {done} rows done")

    assert s.wait_job_closed(job_id) == "completed"
    assert_exact(s, job_id, f)
    r = assert_lead_events_complete(s)
    assert_no_rewind(s)
    print(f"{len(r.stored)} lead events, {sum(r.seen.values()) - len(r.seen)} republished twice")
