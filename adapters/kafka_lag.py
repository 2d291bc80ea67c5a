"""Consumer lag per group and partition: the records of a partition its group has not committed
yet (end offset minus committed offset), for ``GET /metrics``.

Committed offsets come from the admin client (OffsetFetch), end offsets from ListOffsets. The
embedded Tansu broker answers ListOffsets with the start of the partition's last record batch
plus one, which is short of the end by the rest of that batch, so the high watermark of a fetch
past the end corrects it (Tansu answers such a fetch with no records and the true high
watermark; Apache Kafka answers it with "offset out of range", and its ListOffsets is right).
A partition the group never committed counts from the log's start (the consumers read from the
earliest offset).

``LagReader`` keeps the last reading for ``ttl_s`` seconds so scrapes do not hammer the broker,
and reads in a background thread that a scrape waits for at most ``wait_s`` seconds: a broker
that is down or slow makes the reading fail (``ok`` false), never the scrape hang.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import OffsetOutOfRangeError

log = logging.getLogger(__name__)

TIMEOUT_MS = 2000  # of each broker request
BEYOND_THE_END = 2**62  # a fetch offset past any log's end


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed on this partition
    end: int
    log_start: int  # where a group that never committed begins (the earliest offset)

    @property
    def lag(self) -> int:
        start = self.log_start if self.committed is None else self.committed
        return max(0, self.end - start)


@dataclass(frozen=True)
class LagReading:
    ok: bool
    partitions: list[PartitionLag] = field(default_factory=list)
    at: float = 0.0  # time.monotonic() of the reading


def read_lag(
    bootstrap: str, groups: Mapping[str, Sequence[str]], client_config: Mapping[str, Any]
) -> list[PartitionLag]:
    """The lag of each partition of each group's topics (``{group: [topic, ...]}``);
    ``client_config``: how clients connect (``ClientOptions.config()``: TLS, SASL)."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        **client_config,
        client_id="leadimport-metrics",
        request_timeout_ms=TIMEOUT_MS,
        bootstrap_timeout_ms=TIMEOUT_MS,
    )
    try:
        topics = sorted({t for ts in groups.values() for t in ts})
        partitions = {
            t["name"]: sorted(p["partition_index"] for p in t["partitions"] or [])
            for t in admin.describe_topics(topics)
            if t["error_code"] == 0
        }
        tps = [TopicPartition(t, p) for t in topics for p in partitions.get(t, [])]
        if not tps:
            return []
        latest = admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.LATEST))
        earliest = admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.EARLIEST))
        committed = {g: admin.list_group_offsets({g: None})[g] for g in groups}
    finally:
        admin.close()
    highwater = _fetch_highwaters(bootstrap, tps, client_config)
    out = []
    for group, group_topics in groups.items():
        for tp in tps:
            if tp.topic not in group_topics:
                continue
            end = max(latest[tp].offset, highwater.get(tp, 0))
            mine = committed[group].get(tp)
            offset = mine.offset if mine is not None and mine.offset >= 0 else None
            out.append(
                PartitionLag(group, tp.topic, tp.partition, offset, end, earliest[tp].offset)
            )
    return out


def _fetch_highwaters(
    bootstrap: str, tps: list[TopicPartition], client_config: Mapping[str, Any]
) -> dict[TopicPartition, int]:
    """The high watermark of a fetch past the end of each partition, where the broker tells it
    (Tansu); {} from Apache Kafka (offset out of range)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_config,
        client_id="leadimport-metrics",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=10,
        request_timeout_ms=TIMEOUT_MS + 1000,
        bootstrap_timeout_ms=TIMEOUT_MS,
    )
    try:
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, BEYOND_THE_END)
        pending = set(tps)
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while pending and time.monotonic() < deadline:
            try:
                consumer.poll(timeout_ms=50)
            except OffsetOutOfRangeError as e:  # Apache Kafka: ListOffsets is right there
                out_of_range = set(e.args[0]) if e.args and isinstance(e.args[0], dict) else set()
                consumer.pause(*out_of_range)
                pending -= out_of_range
            pending = {tp for tp in pending if consumer.highwater(tp) is None}
        return {tp: hw for tp in tps if (hw := consumer.highwater(tp)) is not None}
    finally:
        consumer.close(autocommit=False)


class LagReader:
    """The consumer lag of ``groups``, read at most every ``ttl_s`` seconds (see the module)."""

    def __init__(
        self,
        bootstrap: str,
        groups: Mapping[str, Sequence[str]],
        client_config: Mapping[str, Any] | None = None,
        ttl_s: float = 5.0,
        wait_s: float = 3.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.client_config = dict(client_config or {})
        self.groups = {g: list(ts) for g, ts in groups.items()}
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._last = LagReading(ok=False, at=-float("inf"))
        self._reading: threading.Thread | None = None

    def read(self) -> LagReading:
        """The latest reading: a fresh one when the last is older than ``ttl_s`` and the broker
        answers within ``wait_s``; else ``ok`` false (a failed or late reading)."""
        if not self.groups:
            return LagReading(ok=True, at=time.monotonic())
        with self._lock:
            if time.monotonic() - self._last.at < self.ttl_s:
                return self._last
            if self._reading is None:
                self._reading = threading.Thread(
                    target=self._read, name="leadimport-metrics-lag", daemon=True
                )
                self._reading.start()
            reading = self._reading
        reading.join(self.wait_s)
        with self._lock:
            if reading.is_alive():  # still waiting for the broker: report it as down
                return LagReading(ok=False, at=time.monotonic())
            return self._last

    def _read(self) -> None:
        try:
            result = LagReading(
                ok=True, partitions=read_lag(self.bootstrap, self.groups, self.client_config)
            )
        except Exception as e:  # the broker is down or answered an error: no reading
            log.warning("consumer lag not read: %s", e)
            result = LagReading(ok=False)
        with self._lock:
            self._last = LagReading(result.ok, result.partitions, time.monotonic())
            self._reading = None
