"""The broker restarts in the middle of a job while every worker keeps running.

The embedded broker keeps everything in memory: after the restart its topics, records, groups
and committed offsets are gone, and the workers' clients reconnect to an empty broker whose
topics their own requests re-create. The rows it lost are re-driven from the cached file by the
stall sweep; the jobs complete exactly. (tests/e2e/test_crash_recovery.py restarts the broker
with the workers stopped; here they run through it.)
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters import kafka
from adapters.embedded import EmbeddedKafka
from consumers import loop
from tests.faults.support import (
    JOB_TIMEOUT_S,
    REWIND_LOG,
    SEED,
    FaultStack,
    assert_job_exact,
    assert_leads_exact,
    assert_workers_alive,
    lead_file,
    relayed_lead_events,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.faults

ROWS = 20_000
LATE_ROWS = 2_000
LEAD_WORKER_APP = "fault-test-lead-worker"


def test_broker_restart_mid_job_with_workers_running(stack: FaultStack) -> None:
    s = stack
    rnd = random.Random(SEED + 3)
    first = lead_file(ROWS, SEED + 3)
    late = lead_file(LATE_ROWS, SEED + 33, name="late")
    point = int(ROWS * rnd.uniform(0.1, 0.5))
    print(f"seed {SEED}: broker restart after {point} rows")
    s.workers.start("importer", "importer")
    s.workers.start("relay", "relay")
    # The lead workers' database sessions carry a name, to see when they wait for a lock.
    s.workers.env["PGAPPNAME"] = LEAD_WORKER_APP
    s.workers.start("leads-1", "leads")
    s.workers.start("leads-2", "leads")
    job_id = s.start_job(first)
    wait_for(lambda: s.rows_published(job_id), JOB_TIMEOUT_S, "the rows to be published")
    done = s.wait_done_rows(job_id, point)

    def redrives() -> dict[str, int]:
        rows = s.query("SELECT job_id, redrive_count FROM import_jobs")
        assert rows is not None
        return {r["job_id"]: r["redrive_count"] for r in rows}

    # Rows a worker already fetched survive the broker; to be sure that some exist only in the
    # broker when it restarts, hold the lead workers in the database (a slow database: their
    # next batch waits for this lock, and they fetch nothing meanwhile) while a second job's
    # rows are published.
    with psycopg.connect(s.container.database_url) as hold:
        hold.execute("LOCK TABLE lead_identifiers IN ACCESS EXCLUSIVE MODE")

        def lead_workers_held() -> bool:
            rows = s.query(
                "SELECT count(*) AS n FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                (LEAD_WORKER_APP,),
            )
            return bool(rows and rows[0]["n"] == 2)

        wait_for(lead_workers_held, 60, "both lead workers to wait for the lock")
        late_id = s.start_job(late)
        wait_for(lambda: s.rows_published(late_id), 60, "the second job's rows to be published")
        s.broker.restart()  # nobody re-creates the topics: the clients' requests do
        at_restart = redrives()
    print(f"broker restarted at {done} rows done of the first job")

    def late_redriven() -> int | None:
        if redrives()[late_id] <= at_restart[late_id]:
            return None
        rows = s.query("SELECT max(notification_id) AS last FROM leadimport_events")
        return int(rows[0]["last"]) if rows else None

    # Its rows were only in the lost broker: the second job cannot complete without a re-drive,
    # which comes at least STALL_TIMEOUT_S after the restart.
    stored_at_redrive = wait_for(late_redriven, JOB_TIMEOUT_S, "the second job to be re-driven")
    assert s.wait_job_closed(job_id) == "completed"
    assert s.wait_job_closed(late_id) == "completed"
    assert_job_exact(s, job_id, first)
    assert_job_exact(s, late_id, late)
    assert_leads_exact(s, first.leads + late.leads)
    assert_workers_alive(s)

    # What the relay had published before the restart went with the broker's memory (the relay
    # keeps its position in PostgreSQL and cannot know). Every lead event stored after the
    # re-drive must be on the new topic, and nothing the store does not have.
    r = relayed_lead_events(s)
    assert set(r.seen) <= set(r.stored)
    after = {i for i, n in r.stored.items() if n > stored_at_redrive}
    assert after, "no lead event was stored after the re-drive"
    missing = after - set(r.seen)
    assert not missing, f"{len(missing)} of {len(after)} events stored after the re-drive are lost"
    rewound = sum(s.log_of(n).count(REWIND_LOG) for n in s.workers.procs)
    print(
        f"re-drives {redrives()}; {len(r.stored) - len(r.seen)} of {len(r.stored)} lead events"
        f" lost with the broker's memory; {rewound} partitions read again from their beginning"
    )


def test_a_running_consumer_reads_the_recreated_topic_from_its_beginning(tmp_path: Path) -> None:
    """The consumer loop itself, against a real broker: after the restart the topic comes back
    empty and its offsets start at 0 again, far below the positions the consumer had reached.
    Every record of the new log must still reach the handler (the broker answers a fetch beyond
    the log end with nothing, so a consumer that kept its position would wait there)."""
    broker = EmbeddedKafka()
    bootstrap_servers = broker.start()
    handled: list[bytes] = []
    stop = threading.Event()
    worker: threading.Thread | None = None
    try:
        kafka.create_topics(bootstrap_servers, ["loop-probe"], partitions=6)
        producer = kafka.make_producer(bootstrap_servers)
        for i in range(600):
            producer.send("loop-probe", key=f"k{i}".encode(), value=f"old-{i}".encode())
        producer.flush()
        consumer = kafka.make_consumer(bootstrap_servers, "loop-probe-group", ["loop-probe"])

        def handle(records: list[Any]) -> None:
            handled.extend(r.value for r in records)

        worker = threading.Thread(target=loop.run, args=(consumer, handle, stop), daemon=True)
        worker.start()
        wait_for(lambda: len(handled) >= 600, 60, "the first 600 records")
        producer.close()
        broker.restart()  # the clients' metadata requests re-create the topic, empty
        # A new producer: the old one's metadata still lists the old topic's partitions.
        producer = kafka.make_producer(bootstrap_servers)
        for i in range(60):  # about 15 a partition: every one below the old positions
            producer.send("loop-probe", key=f"k{i}".encode(), value=f"new-{i}".encode())
        producer.flush()
        producer.close()
        new = {f"new-{i}".encode() for i in range(60)}
        wait_for(lambda: new <= set(handled), 60, "the records of the re-created topic")
    finally:
        stop.set()
        if worker is not None:
            worker.join(30)
        broker.stop()
