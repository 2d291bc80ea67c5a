"""The consumer loop every worker shares.

Poll a batch, hand it to the worker, and only after the worker succeeded commit ``offset + 1``
of the last record of each partition. Effects are idempotent on the row's own identity, so a
redelivery changes nothing.

Error policy: a batch whose handling raises is split in halves, in order, each handled again,
until the record that fails on its own is found; it is tried ``attempts`` times in all, then
handed to ``park`` (a dead letter: the worker records it, and what it belongs to learns) and
the loop moves past it. So one bad record never blocks its partition, and the good records
around it are applied in their order. What is not the record's fault stops the worker instead
(it is restarted and reads the batch again): a Kafka error, a database that stays away until
the worker is told to stop, or a failure to park.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from kafka.structs import OffsetAndMetadata, TopicPartition

from adapters import postgres

log = logging.getLogger(__name__)

Handler = Callable[[list[Any]], None]
# park(record, error, attempts, first_seen): record a record that keeps failing
Parker = Callable[[Any, BaseException, int, datetime], None]
ATTEMPTS = 3  # tries of a record on its own before it is parked
# Not the record's fault: the worker stops (and is restarted) rather than park anything.
NOT_THE_RECORDS_FAULT = (KafkaError, *postgres.UNAVAILABLE)


def stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(
    consumer: KafkaConsumer,
    handle: Handler,
    stop: threading.Event,
    *,
    idle: Callable[[], None] | None = None,
    idle_every_s: float = 2.0,
    poll_ms: int = 200,
    batch_size: int = 1,
    linger_ms: int = 0,
    park: Parker | None = None,
) -> None:
    """Run until ``stop`` is set. ``idle`` runs between polls at most every ``idle_every_s``.

    A batch grows for up to ``linger_ms`` while records keep arriving, until ``batch_size``:
    the per-batch cost (a few round trips, one transaction, one commit) then spreads over many
    records instead of a handful. Without ``park`` a failing batch stops the worker.
    """
    last_idle = 0.0
    consumed: dict[TopicPartition, int] = {}  # offset after the last record handled, per partition
    try:
        while not stop.is_set():
            polled = consumer.poll(timeout_ms=poll_ms)
            if polled and linger_ms:
                polled = _linger(consumer, polled, batch_size, linger_ms)
            if polled:
                records = [r for batch in polled.values() for r in batch]
                if park is None:
                    handle(records)
                else:
                    handle_or_park(records, handle, park, stop)
                offsets: dict[TopicPartition, OffsetAndMetadata] = {}
                for tp, batch in polled.items():
                    offsets[tp] = OffsetAndMetadata(batch[-1].offset + 1, "", -1)
                    consumed[tp] = batch[-1].offset + 1
                try:
                    consumer.commit(offsets)
                except (CommitFailedError, RebalanceInProgressError) as e:
                    # The partitions moved; their new owner will see these records again, which
                    # is harmless (idempotent effects).
                    log.warning("offset commit skipped during a rebalance: %s", e)
            _rewind_lost_logs(consumer, consumed)
            now = time.monotonic()
            if idle is not None and now - last_idle >= idle_every_s:
                last_idle = now
                idle()
    except KafkaError:
        log.exception("Kafka error in the consumer loop")
        raise
    finally:
        consumer.close(autocommit=False)


def handle_or_park(
    records: list[Any],
    handle: Handler,
    park: Parker,
    stop: threading.Event,
    attempts: int = ATTEMPTS,
) -> None:
    """``handle(records)``; when it raises, split and retry, and park what fails alone (see the
    module docstring). Records are handled in their order, also across the halves."""
    try:
        handle(records)
        return
    except NOT_THE_RECORDS_FAULT:
        raise
    except Exception as e:
        if stop.is_set():
            raise
        first_seen = datetime.now(UTC)
        if len(records) > 1:
            log.warning("a batch of %d records failed (%s); splitting it", len(records), e)
        error: BaseException = e
    if len(records) > 1:
        middle = len(records) // 2
        handle_or_park(records[:middle], handle, park, stop, attempts)
        handle_or_park(records[middle:], handle, park, stop, attempts)
        return
    for attempt in range(2, attempts + 1):
        if stop.wait(0.05 * attempt):
            raise error
        try:
            handle(records)
            return
        except NOT_THE_RECORDS_FAULT:
            raise
        except Exception as e:
            log.warning("record failed again (attempt %d of %d): %s", attempt, attempts, e)
            error = e
    park(records[0], error, attempts, first_seen)


def _rewind_lost_logs(consumer: KafkaConsumer, consumed: dict[TopicPartition, int]) -> None:
    """Start a partition over when its log now ends below what this consumer already handled.

    A log never shrinks unless the broker lost it: truncated, or deleted and re-created (a
    memory-storage broker after a restart comes back empty and clients re-create the topics).
    Apache Kafka answers a fetch beyond the log end with OFFSET_OUT_OF_RANGE and the client
    resets the position (``auto_offset_reset``); Tansu answers with no records and the consumer
    would wait at its old position, silently skipping every record the new log gets below it.
    The high watermark of the fetch responses shows it: read the new log from its beginning
    (effects are idempotent, so records handled before are harmless).
    """
    assigned = consumer.assignment()
    for tp, offset in list(consumed.items()):
        if tp not in assigned:
            del consumed[tp]  # revoked: its next owner starts from the committed offset
            continue
        highwater = consumer.highwater(tp)
        if highwater is not None and highwater < offset:
            log.warning(
                "%s ends at offset %d, below the %d already handled: the broker lost its log;"
                " reading it again from the beginning",
                tp,
                highwater,
                offset,
            )
            consumer.seek_to_beginning(tp)
            del consumed[tp]


def _linger(
    consumer: KafkaConsumer,
    polled: dict[TopicPartition, list[Any]],
    batch_size: int,
    linger_ms: int,
) -> dict[TopicPartition, list[Any]]:
    count = sum(len(b) for b in polled.values())
    deadline = time.monotonic() + linger_ms / 1000
    while count < batch_size:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            break
        more = consumer.poll(timeout_ms=min(left_ms, 20), max_records=batch_size - count)
        if not more:
            continue
        for tp, batch in more.items():
            polled.setdefault(tp, []).extend(batch)
            count += len(batch)
    return polled
