"""Relaying: the outbox relay publishes the event store's lead and job lifecycle events to Kafka.

It tails the event store's notification log (``leadimport_events`` in ``notification_id``
order), turns each Lead event into one JSON envelope on ``leads.events`` (key: lead id; a
``LeadErased`` is followed by a tombstone, ``tombstone``: the same key, no value) and each
ImportJob lifecycle event (completed, failed, cancelled, undone) into one on
``lead-import.job-events`` (key: job id). The position (the last published notification id) is
stored in PostgreSQL, in ``relay_position``, only after the broker acknowledged the whole batch:
delivery is at least once, and a relay that crashed republishes from its last recorded position.
Every envelope's ``id`` is derived from (aggregate id, version), so a republished event has the
same id and subscribers drop it.

Why no gap handling: every event insert takes ``LOCK TABLE leadimport_events IN EXCLUSIVE MODE``
(the library's recorder and ``LeadImportRecorder`` both do) and holds it until commit, so
notification ids are handed out and committed one transaction after another: once an id is
visible, every lower id that will ever exist is visible too. Ids lost to a rolled-back insert are
permanent holes, which reading ``notification_id > position`` passes over harmlessly.

Only one relay publishes at a time: it holds a session-level advisory lock on a dedicated
connection for as long as it runs (``consumers.relay``), and records its position through that
same connection, so a relay whose session died (and with it the lock) can no longer move the
position. A second relay waits for the lock and takes over where the first one stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata
from psycopg.sql import SQL, Identifier

from adapters import kafka, postgres
from adapters.kafka import TOPIC_JOB_EVENTS, TOPIC_LEAD_EVENTS
from application import dead_letters
from application.container import Container
from application.envelopes import (
    JOB_LIFECYCLE,
    Outgoing,
    Tombstone,
    envelope,
    tombstone,
)
from domain.import_job import ImportJob
from domain.lead import Lead

log = logging.getLogger(__name__)

RELAY_NAME = "leads.events"  # the row of relay_position this relay owns
BATCH_SIZE = 2000  # notifications per read / publish / position update
IDLE_WAIT_S = 0.15  # longest sleep when the log is drained (a NOTIFY wakes the relay sooner)
FLUSH_TIMEOUT_S = 60.0
TOPIC_CHECK_S = 5.0  # how often an idle relay checks that its topics are still there
OU_CACHE_MAX = 500_000  # lead/job id -> OU entries kept before the cache starts over
TOPICS = (TOPIC_LEAD_EVENTS, TOPIC_JOB_EVENTS)
# The stored events' topics that are published: the others (``RowsApplied``, the job's inner
# progress) are never decoded (nor their keys read).
PUBLISHED_TOPICS = frozenset(
    get_topic(cls)
    for owner, names in ((Lead, None), (ImportJob, JOB_LIFECYCLE))
    for name, cls in vars(owner).items()
    if isinstance(cls, type) and issubclass(cls, owner.Event) and (names is None or name in names)
)
ATTEMPTS = 3  # an event that cannot be read this often is parked as a dead letter
# Not the event's fault: the session ends (and starts over) rather than park anything.
NOT_THE_EVENTS_FAULT = (KafkaError, *postgres.UNAVAILABLE)


class PublishFailed(RuntimeError):
    """The broker did not acknowledge a record of the batch; the batch is sent again."""


class EventUnreadable(RuntimeError):
    """An event could not be read or shaped into its record; the session starts over and
    tries again, and after ``ATTEMPTS`` failures the event is parked as a dead letter."""


class TopicLost(PublishFailed):
    """A topic is gone or was re-created since the session began (a broker that lost its data,
    like the embedded one on a restart): the acknowledgements of the batch prove nothing."""


class Relay:
    """One relay session: holds the lock, reads the log from its position, publishes."""

    def __init__(
        self,
        c: Container,
        stop: threading.Event,
        conn: psycopg.Connection[Any],
        partitions: int,
        failures: dict[int, tuple[int, datetime]],
    ) -> None:
        self.c = c
        self.stop = stop
        self.conn = conn  # holds the advisory lock, LISTENs, and records the position
        kafka.create_topics(  # gone after a broker loss
            c.kafka_bootstrap,
            TOPICS,
            partitions,
            options=c.kafka_options,
            settings=c.kafka_topics,
        )
        self.admin = kafka.admin_client(
            c.kafka_bootstrap, c.kafka_options, client_id="leadimport-relay-admin"
        )
        try:
            self.topic_ids = _topic_ids(self.admin)
            self.producer = _make_relay_producer(c.kafka_bootstrap, c.kafka_options)
        except BaseException:
            self.admin.close()
            raise
        self.ous: dict[UUID, str | None] = {}
        # notification id -> (failures so far, first seen), kept across sessions by the caller
        self.failures = failures
        self.position = 0
        self.published = 0
        self._last_report = time.monotonic()
        self._reported = 0  # events published at the last progress line
        self._last_topic_check = time.monotonic()

    def run(self) -> None:
        self.position = self._load_position()
        log.info("relay publishing from notification %d", self.position)
        self.conn.execute(SQL("LISTEN {}").format(Identifier(_channel(self.c))))
        try:
            while not self.stop.is_set():
                if self.relay_batch() < BATCH_SIZE:
                    self._wait_for_events()
                    self._check_topics()
                self._report()
        finally:
            self.producer.close(timeout=5)
            self.admin.close()

    def relay_batch(self) -> int:
        """Publish the next batch of notifications; return how many were read."""
        t0 = time.time()
        notifications: Sequence[Notification] = self.c.store.recorder.select_notifications(
            self.position, BATCH_SIZE, inclusive_of_start=False
        )
        if not notifications:
            return 0
        send = self.producer.send
        futures: list[FutureRecordMetadata] = []
        for out in self._outgoing(notifications):
            if out is not None:
                futures.append(
                    send(out.topic, key=out.key, value=out.value, headers=list(out.headers))
                )
        # flush() waits but does not raise: a failed record only shows on its future.
        self.producer.flush(timeout=FLUSH_TIMEOUT_S)
        for f in futures:
            if f.failed():
                raise PublishFailed(f"the broker did not take an event: {f.exception!r}")
        # The embedded broker acknowledges records sent to a topic it no longer has (after a
        # restart it has none): only a topic that is still the one this session started with
        # proves the batch is stored. One metadata round trip per batch.
        if futures and _topic_ids(self.admin) != self.topic_ids:
            raise TopicLost("a relay topic was lost or re-created by the broker")
        last = notifications[-1].id
        # Through the lock's connection: if that session died, the lock went with it and the
        # update fails instead of moving a position another relay may now own.
        self.conn.execute(
            "UPDATE relay_position SET notification_id = %s WHERE name = %s", (last, RELAY_NAME)
        )
        self.position = last
        self.published += len(futures)
        if log.isEnabledFor(logging.DEBUG):  # where the relay's lag comes from
            log.debug(
                "%d notifications up to %d: %.0f ms to publish",
                len(notifications),
                last,
                (time.time() - t0) * 1000,
            )
        return len(notifications)

    def _outgoing(self, notifications: Sequence[Notification]) -> list[Outgoing | Tombstone | None]:
        """The record of each notification (None: not published). One the relay cannot read or
        shape raises ``EventUnreadable`` (the session starts over) until it failed
        ``ATTEMPTS`` times; then it is parked as a dead letter and left out."""
        published = [n for n in notifications if n.topic in PUBLISHED_TOPICS]
        to_domain = self.c.store.decoder(published)  # the batch's keys, read at once
        decoded: list[tuple[Notification, Any]] = []
        for n in published:
            try:
                decoded.append((n, to_domain(n)))
            except NOT_THE_EVENTS_FAULT:
                raise
            except Exception as e:
                self._unreadable(n, e)
        ous, unreadable_first = self._ous_of([event for _, event in decoded])
        out: list[Outgoing | Tombstone | None] = []
        for n, event in decoded:
            try:
                if event.originator_id in unreadable_first:
                    raise unreadable_first[event.originator_id]
                out.append(envelope(event, ous.get(event.originator_id)))
                if isinstance(event, Lead.LeadErased):
                    out.append(tombstone(event))
            except NOT_THE_EVENTS_FAULT:
                raise
            except Exception as e:
                self._unreadable(n, e)
        return out

    def _unreadable(self, n: Notification, error: Exception) -> None:
        seen = self.failures.get(n.id)
        attempts = (seen[0] if seen else 0) + 1
        first_seen = seen[1] if seen else self.c.clock()
        self.failures[n.id] = (attempts, first_seen)
        if attempts < ATTEMPTS:
            raise EventUnreadable(f"notification {n.id} ({n.topic}): {error}") from error
        origin = dead_letters.Origin(
            worker="relay", topic=n.topic, notification_id=n.id, payload=n.state
        )
        dead_letters.park(self.c, origin, error, attempts, first_seen)
        del self.failures[n.id]

    def _ous_of(self, events: list[Any]) -> tuple[dict[UUID, str | None], dict[UUID, Exception]]:
        """OU of every event's aggregate. Only the created events carry it: the others are
        looked up once, from the aggregate's first event, and cached. Second: the aggregates
        whose first event cannot be read (nor then their OU), with the error."""
        ous = self.ous
        if len(ous) > OU_CACHE_MAX:
            ous.clear()
        for e in events:
            ou = getattr(e, "ou", None)
            if e.originator_version == 1 and isinstance(ou, str):
                ous[e.originator_id] = ou
        missing = sorted(
            {e.originator_id for e in events if e.originator_id not in ous and _published(e)}
        )
        unreadable: dict[UUID, Exception] = {}
        try:
            firsts = self.c.store.load_events(missing, first_only=True)
        except NOT_THE_EVENTS_FAULT:
            raise
        except Exception:
            firsts = {}
            for aggregate_id in missing:  # one at a time, to tell which one
                try:
                    firsts.update(self.c.store.load_events([aggregate_id], first_only=True))
                except NOT_THE_EVENTS_FAULT:
                    raise
                except Exception as e:
                    unreadable[aggregate_id] = e
        for aggregate_id, [first] in firsts.items():
            ous[aggregate_id] = getattr(first, "ou", None)
        return ous, unreadable

    def _load_position(self) -> int:
        self.conn.execute(
            "INSERT INTO relay_position (name, notification_id) VALUES (%s, 0)"
            " ON CONFLICT (name) DO NOTHING",
            (RELAY_NAME,),
        )
        row = self.conn.execute(
            "SELECT notification_id FROM relay_position WHERE name = %s", (RELAY_NAME,)
        ).fetchone()
        assert row is not None
        return int(row["notification_id"])

    def _wait_for_events(self) -> None:
        """Sleep until an event insert NOTIFYs (or IDLE_WAIT_S passed: a NOTIFY can be missed,
        e.g. an insert by a writer that does not send one)."""
        for _ in self.conn.notifies(timeout=IDLE_WAIT_S, stop_after=1):
            pass
        # Drop the other queued notifications: the next read covers them all.
        for _ in self.conn.notifies(timeout=0):
            pass

    def _check_topics(self) -> None:
        """While idle, now and then: put back topics the broker lost (the embedded one loses
        everything on a restart), so subscribers find them before the next event comes."""
        now = time.monotonic()
        if now - self._last_topic_check >= TOPIC_CHECK_S:
            self._last_topic_check = now
            if _topic_ids(self.admin) != self.topic_ids:
                raise TopicLost("a relay topic was lost or re-created by the broker")

    def _report(self) -> None:
        now = time.monotonic()
        if now - self._last_report >= 10 and self.published != self._reported:
            self._last_report, self._reported = now, self.published
            log.info("relay at notification %d, %d events published", self.position, self.published)


def _topic_ids(admin: KafkaAdminClient) -> dict[str, Any]:
    """``{topic: topic id}`` of the relay's topics; TopicLost when one is missing."""
    ids: dict[str, Any] = {}
    for t in admin.describe_topics(list(TOPICS)):
        if t["error_code"] != 0 or not t["partitions"]:
            raise TopicLost(f"topic {t['name']} is missing on the broker")
        ids[t["name"]] = t["topic_id"]
    return ids


def _published(event: Any) -> bool:
    return isinstance(event, Lead.Event) or (
        isinstance(event, ImportJob.Event) and type(event).__name__ in JOB_LIFECYCLE
    )


def _channel(c: Container) -> str:
    channel: str = c.store.recorder.channel_name  # type: ignore[attr-defined]
    return channel


def _make_relay_producer(bootstrap: str, options: kafka.ClientOptions) -> KafkaProducer:
    # One request in flight: with retries and no idempotence, a second in-flight request could
    # land before a retried first one and put a lead's events out of order in its partition.
    # Records wait for the flush at the end of the batch (linger longer than a batch takes to
    # encode; flush() sends at once): at linger 5 ms every new producer batch woke the sender
    # thread with a system call, about 7,700 wake-ups per 100k events.
    return kafka.make_producer(
        bootstrap,
        options,
        linger_ms=100,
        batch_size=1024 * 1024,
        max_in_flight_requests_per_connection=1,
        client_id="leadimport-relay",
    )


def republish(c: Container, notification_id: int) -> bool:
    """Publish one stored event again, outside the relay's order (a dead letter's retry); False
    when the notification no longer exists. Raises what reading or publishing it raises."""
    [*found] = c.store.recorder.select_notifications(notification_id, 1, inclusive_of_start=True)
    if not found or found[0].id != notification_id:
        return False
    event: Any = c.store.mapper.to_domain_event(found[0])
    ou = getattr(event, "ou", None) if event.originator_version == 1 else None
    if ou is None:
        [first] = c.store.load_events([event.originator_id], first_only=True)[event.originator_id]
        ou = getattr(first, "ou", None)
    out = envelope(event, ou)
    if out is not None:
        c.producer.send(out.topic, key=out.key, value=out.value, headers=list(out.headers)).get(
            timeout=FLUSH_TIMEOUT_S
        )
    if isinstance(event, Lead.LeadErased):
        erased = tombstone(event)
        c.producer.send(erased.topic, key=erased.key, value=None).get(timeout=FLUSH_TIMEOUT_S)
    return True
