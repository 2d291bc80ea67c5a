"""The same row events delivered twice change nothing.

Twice while the job runs: a partition of ``lead-import.rows`` is copied onto its own end before
the lead worker starts, so every row of it arrives a second time (in the same batch or a later
one). Twice after the job completed: the lead workers' group offset of that partition goes back
to 0 (what ``kafka-consumer-groups --reset-offsets`` does) and a fresh lead worker reads the
partition again from its start. Job counters, row outcomes, warnings, leads, identifiers and
the event store are identical before and after.
"""

from __future__ import annotations

import random
import signal
from typing import Any

import pytest
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from adapters.kafka import TOPIC_ROWS, make_producer
from consumers.leads import GROUP
from tests.faults.support import (
    JOB_TIMEOUT_S,
    SEED,
    FaultStack,
    assert_exact,
    assert_lead_events_complete,
    assert_no_rewind,
    lead_file,
    one,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.faults

ROWS = 20_000


def read_partition(bootstrap: str, tp: TopicPartition) -> list[tuple[bytes, bytes]]:
    """(key, value) of every record of the partition, from its beginning to its end."""
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    reader.assign([tp])
    reader.seek_to_beginning(tp)
    records: list[tuple[bytes, bytes]] = []

    def read_to_end() -> bool:
        for batch in reader.poll(timeout_ms=200, max_records=10_000).values():
            records.extend((r.key, r.value) for r in batch)
        end = reader.highwater(tp)
        return end is not None and reader.position(tp) >= end

    try:
        wait_for(read_to_end, 60, f"{tp} to be read")
    finally:
        reader.close()
    return records


def copy_partition_onto_itself(bootstrap: str, tp: TopicPartition) -> int:
    """Append every record of the partition to it again (same key and value); return how many
    records were copied."""
    records = read_partition(bootstrap, tp)
    producer = make_producer(bootstrap)
    try:
        for key, value in records:
            producer.send(tp.topic, key=key, value=value, partition=tp.partition)
        producer.flush(timeout=60)
    finally:
        producer.close()
    return len(records)


def group_consumer(bootstrap: str) -> KafkaConsumer:
    """A client of the lead workers' group that never joins it: it reads and sets offsets."""
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)


def snapshot(s: FaultStack, job_id: str) -> dict[str, Any]:
    """Everything a row event can change, summarized."""
    queries = {
        "job": "SELECT status, total_rows, created_count, updated_count, failed_count,"
        " completed_at FROM import_jobs WHERE job_id = %(job)s",
        "outcomes": "SELECT count(*) AS n, md5(string_agg(row || outcome || coalesce("
        "lead_id::text, '') || coalesce(error, '') || coalesce(value, ''), ',' ORDER BY row))"
        " AS digest FROM row_outcomes WHERE job_id = %(job)s",
        "warnings": "SELECT count(*) AS n, md5(string_agg(row || ':' || seq || warning || value,"
        " ',' ORDER BY row, seq)) AS digest FROM job_warnings WHERE job_id = %(job)s",
        "leads": "SELECT count(*) AS n, md5(string_agg(lead_id::text || identifiers::text ||"
        " fields::text || updated_at::text, ',' ORDER BY lead_id)) AS digest FROM leads_view"
        " WHERE ou = %(ou)s",
        "identifiers": "SELECT count(*) AS n, md5(string_agg(kind || value || lead_id::text, ','"
        " ORDER BY kind, value)) AS digest FROM lead_identifiers WHERE ou = %(ou)s",
        "events": "SELECT count(*) AS n, max(notification_id) AS last FROM leadimport_events",
    }
    params = {"job": job_id, "ou": s.ou}
    result: dict[str, Any] = {}
    for name, sql in queries.items():
        rows = s.query(sql, params)
        assert rows is not None
        result[name] = rows[0]
    return result


def test_row_events_delivered_twice_change_nothing(stack: FaultStack) -> None:
    s = stack
    rnd = random.Random(SEED + 4)
    f = lead_file(ROWS, SEED + 4)
    tp = TopicPartition(TOPIC_ROWS, rnd.randrange(6))
    print(f"seed {SEED}: {tp} delivered twice")
    s.workers.start("importer", "importer")
    s.workers.start("relay", "relay")
    job_id = s.start_job(f)
    # No lead worker yet: every row waits in the topic, then one partition is doubled.
    wait_for(lambda: s.rows_published(job_id), JOB_TIMEOUT_S, "the importer to publish the rows")
    copied = copy_partition_onto_itself(s.bootstrap, tp)
    s.workers.start("leads-1", "leads")
    assert s.wait_job_closed(job_id) == "completed"
    assert_exact(s, job_id, f)
    # The partition's end now that nothing adds to it any more (a re-drive may have, before the
    # lead worker made progress); this broker's partitions begin at offset 0.
    end = len(read_partition(s.bootstrap, tp))

    group = group_consumer(s.bootstrap)
    try:

        def committed() -> int | None:
            offset: int | None = group.committed(tp)
            return offset

        wait_for(lambda: committed() == end, 60, f"the lead worker to commit {tp} up to {end}")
        before = snapshot(s, job_id)
        # Replay the partition from offset 0 into a fresh lead worker. The group must be empty
        # to have its offsets set from outside: the worker leaves it on SIGTERM.
        worker = s.workers.procs.pop("leads-1")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
        group.commit({tp: OffsetAndMetadata(0, "", -1)})
        assert committed() == 0
        s.workers.start("leads-2", "leads")
        wait_for(lambda: committed() == end, 120, f"the fresh lead worker to replay {tp}")
    finally:
        group.close()
    assert snapshot(s, job_id) == before
    assert_exact(s, job_id, f)
    r = assert_lead_events_complete(s)
    assert_no_rewind(s)
    created = one(s, "SELECT count(*) AS n FROM leads_view WHERE ou = %s", (s.ou,))
    print(
        f"{copied} rows delivered twice, then {end} replayed;"
        f" {len(r.stored)} lead events, {created['n']} leads"
    )
