"""Kafka: the topics, and clients (kafka-python) configured for this project and for the Tansu
broker's quirks. How clients connect (TLS, SASL) is one `ClientOptions` handed to every producer,
consumer and admin client; what the topics are created with is one `TopicSettings`."""

from __future__ import annotations

import json
import logging
import os
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    KafkaError,
    PolicyViolationError,
    TopicAlreadyExistsError,
)
from kafka.partitioner.abc import Partitioner

log = logging.getLogger(__name__)

TOPIC_JOBS = "lead-import.jobs"  # job requests (start, re-drive, undo)
TOPIC_ROWS = "lead-import.rows"  # one RowImported / RowFailed per data row
TOPIC_LEAD_EVENTS = "leads.events"  # lead events for downstream subscribers (the relay)
TOPIC_JOB_EVENTS = "lead-import.job-events"  # the end of each job (the relay)
ALL_TOPICS = (TOPIC_JOBS, TOPIC_ROWS, TOPIC_LEAD_EVENTS, TOPIC_JOB_EVENTS)

# The broker holds a group join round for about session_timeout / 2: keep it short.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 2000
# How long the broker may hold a fetch that has nothing to return. Tansu holds it the whole
# time even when records arrive meanwhile, so this is the latency of a quiet topic (a job
# request waited up to the default 500 ms before the importer saw it).
FETCH_MAX_WAIT_MS = 100


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class ClientOptions:
    """How every client of the project connects to the brokers: the security protocol, SASL
    credentials and the CA that signed the brokers' certificates (``runtime.settings`` reads and
    checks them). The default is plain TCP, as the embedded broker and compose's Kafka speak."""

    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    def config(self) -> dict[str, Any]:
        """The keyword arguments of kafka-python's KafkaProducer, KafkaConsumer and
        KafkaAdminClient for these options (SCRAM takes its credentials in the same keys as
        PLAIN)."""
        out: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL") and self.ssl_cafile:
            out["ssl_cafile"] = self.ssl_cafile
        if self.security_protocol.startswith("SASL_"):
            out["sasl_mechanism"] = self.sasl_mechanism
            out["sasl_plain_username"] = self.sasl_username
            out["sasl_plain_password"] = self.sasl_password
        return out


PLAINTEXT = ClientOptions()

HOUR_MS = 3_600_000
SEGMENT_MS_MAX = 24 * HOUR_MS


@dataclass(frozen=True)
class TopicSettings:
    """What the topics are created with, besides their partitions. Kafka keeps a record until its
    topic's ``retention.ms`` has passed, whether it was read or not, then deletes it (a whole
    segment at a time, so a record may stay a little longer)."""

    replication_factor: int = 1
    min_insync_replicas: int | None = None  # None: the broker's default
    # lead-import.rows: a row's values (personal data) in transit, read within seconds
    rows_retention_ms: int = 24 * HOUR_MS
    # leads.events and lead-import.job-events: how far back a subscriber can replay from Kafka
    events_retention_ms: int = 168 * HOUR_MS

    def configs(self, topic: str) -> dict[str, str]:
        """The configs ``topic`` is created with (lead-import.jobs: the broker's retention).

        Kafka deletes a whole segment once its newest record is older than the retention, and
        the segment being written is never deleted: ``segment.ms`` (the broker's default is
        7 days) is therefore set to at most a day, and at most the retention, so a record is gone
        at the latest that much after its retention ran out."""
        out: dict[str, str] = {}
        if self.min_insync_replicas is not None:
            out["min.insync.replicas"] = str(self.min_insync_replicas)
        retention = {
            TOPIC_ROWS: self.rows_retention_ms,
            TOPIC_LEAD_EVENTS: self.events_retention_ms,
            TOPIC_JOB_EVENTS: self.events_retention_ms,
        }.get(topic)
        if retention is not None:
            out["retention.ms"] = str(retention)
            out["segment.ms"] = str(min(retention, SEGMENT_MS_MAX))
        return out


class TopicSetupError(RuntimeError):
    """The broker refused to create a topic as configured."""


def admin_client(
    bootstrap: str, options: ClientOptions = PLAINTEXT, **overrides: Any
) -> KafkaAdminClient:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        **options.config(),
        "client_id": "leadimport-admin",
    }
    config.update(overrides)
    return KafkaAdminClient(**config)


def create_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    *,
    options: ClientOptions = PLAINTEXT,
    settings: TopicSettings | None = None,
) -> None:
    """Create the topics that are missing, explicitly (auto-creation would make 4 partitions and
    none of the configs). A topic that exists is left as it is: changing its retention later is
    the operator's ``kafka-configs.sh --alter`` (docs/operations.md)."""
    spec = settings or TopicSettings()
    admin = admin_client(bootstrap, options)
    try:
        existing = set(admin.list_topics())
        for topic in [t for t in topics if t not in existing]:
            configs = spec.configs(topic)
            new = {
                "num_partitions": partitions,
                "replication_factor": spec.replication_factor,
                "configs": configs,
            }
            try:
                admin.create_topics({topic: new})
            except TopicAlreadyExistsError:
                pass  # another process created it between the listing and here
            except (
                InvalidConfigurationError,
                InvalidPartitionsError,
                InvalidReplicationFactorError,
                PolicyViolationError,
            ) as e:
                raise TopicSetupError(
                    f"the broker refused to create the topic {topic} with {partitions} partitions,"
                    f" replication factor {spec.replication_factor} and configs {configs}: {e}"
                ) from e
    finally:
        admin.close()


class Crc32Partitioner(Partitioner):  # type: ignore[misc]
    """Same key, same partition, like the default murmur2 partitioner, but hashed in C:
    murmur2 in pure Python cost the importer ~50 µs per row. Keyless records go to a random
    available partition. The partition lists are cached per topic (they are sorted sets
    rebuilt on every call otherwise)."""

    def __init__(self) -> None:
        self._partitions: dict[str, tuple[int, ...]] = {}

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: bytes | None,
        cluster: Any,
    ) -> int:
        all_partitions = cluster.partitions_for_topic(topic)
        if all_partitions is None:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        cached = self._partitions.get(topic)
        if cached is None or len(cached) != len(all_partitions):
            cached = self._partitions[topic] = tuple(sorted(all_partitions))
        if serialized_key is None:
            available = list(cluster.available_partitions_for_topic(topic)) or list(cached)
            return int(random.choice(available))
        return cached[zlib.crc32(serialized_key) % len(cached)]


def make_producer(
    bootstrap: str, options: ClientOptions = PLAINTEXT, **overrides: Any
) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        **options.config(),
        "acks": "all",
        # The idempotent producer dies for good when a memory broker restarts; row effects are
        # idempotent on (job_id, row) instead, so duplicates are harmless.
        "enable_idempotence": False,
        "linger_ms": 5,
        "partitioner": Crc32Partitioner(),
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "retries": 10,
        # Without idempotence, a retried request could overtake a later one and reorder the
        # rows of one lead; one request in flight per connection keeps file order.
        "max_in_flight_requests_per_connection": 1,
        "client_id": "leadimport",
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(
    bootstrap: str,
    group: str,
    topics: list[str],
    options: ClientOptions = PLAINTEXT,
    **overrides: Any,
) -> KafkaConsumer:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        **options.config(),
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": HEARTBEAT_INTERVAL_MS,
        "max_poll_records": 2000,
        "max_poll_interval_ms": 300_000,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        "client_id": f"leadimport-{group}",
    }
    config.update(overrides)
    consumer = KafkaConsumer(**config)
    report_dir = os.environ.get(ASSIGNMENT_DIR_ENV)
    if report_dir:
        consumer.subscribe(topics, listener=AssignmentReport(Path(report_dir), group))
    else:
        consumer.subscribe(topics)
    return consumer


# ``leadimport up`` sets this for its workers, and reports ready only once every consumer group
# holds all its partitions: the broker takes seconds to settle a group (several join rounds
# while the workers start one after the other), and a job started before that waited for it.
ASSIGNMENT_DIR_ENV = "LEADIMPORT_ASSIGNMENT_DIR"


class AssignmentReport(ConsumerRebalanceListener):  # type: ignore[misc]
    """Keeps ``<dir>/<group>.<pid>`` holding this consumer's partitions (JSON list of
    ``"topic:partition"``): emptied when a rebalance takes them, filled when it hands them out."""

    def __init__(self, directory: Path, group: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{group}.{os.getpid()}"
        self._write([])

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._write([])

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._write(sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))

    def _write(self, partitions: list[str]) -> None:
        # Per process: the lead workers share a group, and so would "<group>.tmp".
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(partitions))
        tmp.replace(self.path)  # a reader never sees half a file


def assignments(directory: Path, group: str) -> list[set[str]]:
    """What each live consumer of ``group`` reported (see ``AssignmentReport``)."""
    out = []
    for path in directory.glob(f"{group}.*"):
        if path.suffix == ".tmp":
            continue
        try:
            os.kill(int(path.suffix[1:]), 0)  # a worker that died no longer counts
            out.append(set(json.loads(path.read_text())))
        except (OSError, ValueError):
            continue
    return out


def partition_counts(
    bootstrap: str, topics: list[str], options: ClientOptions = PLAINTEXT
) -> dict[str, int]:
    admin = admin_client(bootstrap, options)
    try:
        return {t["name"]: len(t["partitions"] or []) for t in admin.describe_topics(topics)}
    finally:
        admin.close()


def ping(bootstrap: str, timeout_s: float = 2.0, options: ClientOptions = PLAINTEXT) -> bool:
    try:
        admin = admin_client(
            bootstrap,
            options,
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
            client_id="leadimport-ping",
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()
