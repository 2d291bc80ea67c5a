"""The event store: one eventsourcing application on PostgreSQL for Lead and ImportJob aggregates.

``LeadImportRecorder`` runs caller-supplied statements ("effects") inside the transaction that
inserts the events, so identifier-index rows, row outcomes and projection updates commit or roll
back together with the events they belong to.

Personal data is stored sealed with per-person keys (``adapters.sealing``, ``adapters.keys``):
the keys a transaction's events bring (a new lead's, a ledger value's) are inserted in it, and
the keys it relies on (leads a batch read but did not change, leads of an undo report) are
checked after the events table is locked: an erasure that committed first makes it fail with
``LeadKeyMissing`` (an ``IntegrityError``: the caller re-reads and decides again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from adapters import keys
from adapters.keys import KeyCache, ValueKeyId
from adapters.sealing import LEAD_ERASED, SealedStoredEvent, SealingMapper

Effect = Callable[[Cursor[Any]], None]

APP_NAME = "LeadImport"
EVENTS_TABLE = "leadimport_events"
SNAPSHOTS_TABLE = "leadimport_snapshots"  # the library's snapshot store (``purpose="snapshots"``)


class LeadImportRecorder(PostgresApplicationRecorder):
    """Application recorder that also runs the ``effects=[...]`` passed to ``events.put``.

    It replaces the library's pipelined insert with a plain transaction: in pipeline mode a
    failing statement (an identifier already claimed) makes the server skip the statements
    after it while psycopg still marks them prepared, and the next batch then fails with
    "prepared statement does not exist". Statement for statement it does what the library
    does (effects, table lock, notify, insert), and it inserts the events as four binary arrays
    rather than one array of composite values (several times cheaper per event).
    """

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        effects: Sequence[Effect] = kwargs.get("effects", ())
        required: set[UUID] = set(kwargs.get("require_keys", ()))
        new_leads: dict[UUID, bytes] = {}
        new_values: list[tuple[ValueKeyId, bytes]] = []
        for e in stored_events:
            if isinstance(e, SealedStoredEvent):
                new_leads.update(e.new_lead_keys)
                new_values.extend(e.new_value_keys)
                required.update(e.requires_keys)
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            for effect in effects:
                effect(curs)
            if not stored_events:
                return []
            keys.insert_lead_keys(curs, new_leads)
            keys.insert_value_keys(curs, new_values)
            self._lock_table(curs)
            # Under the lock every earlier insert has committed, an erasure's included.
            keys.require_lead_keys(curs, sorted(required))
            self._notify_channel(curs)
            curs.execute(
                self._insert_arrays_statement,
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ),
            )
            return [row["notification_id"] for row in curs.fetchall()]

    @property
    def _insert_arrays_statement(self) -> Any:
        return SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[])"
            " RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )


def event_store_env(url: str, *, create_table: bool = False, pool_size: int = 4) -> dict[str, str]:
    info = conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "TRANSCODER_TOPIC": "adapters.transcoder:OrjsonTranscoder",
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:LeadImportRecorder",
        "POSTGRES_DBNAME": str(info.get("dbname", "postgres")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "postgres")),
        # eventsourcing needs the variable even when the server trusts local connections
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_CONN_MAX_AGE": "",
        "CREATE_TABLE": "y" if create_table else "n",
    }


class LeadImportStore(Application[UUID]):
    """Lead and ImportJob aggregates (and the row ledger), one notification log.

    Named apart from the library's ``eventsourcing.persistence.EventStore``, which it holds as
    ``self.events``."""

    name = APP_NAME

    def __init__(self, env: Any = None) -> None:
        self.key_cache = KeyCache()
        super().__init__(env)
        # Snapshots are written and read only by the methods below (``snapshot_effect``,
        # ``load_events_after``, ``load_history``): the repository does not consult them (the
        # library's snapshotting flag stays off), so reading an ImportJob costs no extra query.
        # Built here all the same, so that ``create_event_store_tables`` creates their table.
        self.lead_snapshots = self.construct_snapshot_store()

    def construct_mapper(self) -> SealingMapper:
        mapper = SealingMapper(transcoder=self.construct_transcoder())
        mapper.source = self
        self.sealing = mapper
        return mapper

    # --- keys (adapters.sealing.KeySource) -----------------------------------------------------

    def lead_keys(self, ids: set[UUID], *, cached: bool) -> dict[UUID, bytes]:
        """The keys of the leads that have one: from the process's cache first when ``cached``,
        the others read at once (and then kept in the cache, for sealing their next events)."""
        found = self.key_cache.get_many(ids) if cached else {}
        missing = ids - found.keys() if found else ids
        if missing:
            with self._datastore.get_connection() as conn, conn.cursor() as curs:
                fetched = keys.lead_keys(curs, missing)
            if cached:  # a fresh read (an audit, the relay) leaves the cache as it was
                self.key_cache.keep(fetched)
            found.update(fetched)
        return found

    def value_keys(self, ids: set[ValueKeyId]) -> dict[ValueKeyId, bytes]:
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            return keys.value_keys(curs, ids)

    @property
    def _datastore(self) -> Any:
        return self.recorder.datastore  # type: ignore[attr-defined]

    def decoder(self, stored: Sequence[StoredEvent]) -> Callable[[StoredEvent], Any]:
        """Reads each of ``stored`` (a page of notifications) into its domain event, with the
        keys of all of them read at once (``SealingMapper.decoder``)."""
        return self.sealing.decoder(stored)

    def put(
        self,
        aggregates: Iterable[Aggregate],
        effects: Sequence[Effect] = (),
        require_keys: Sequence[UUID] = (),
        snapshots: Sequence[Aggregate] = (),
    ) -> None:
        """Store the pending events of ``aggregates`` and run ``effects`` in one transaction.

        ``require_keys``: leads the transaction relies on without changing them; it fails if
        one of them was erased meanwhile. ``snapshots``: aggregates (of ``aggregates``) to store
        a snapshot of, at their version after the events (see ``snapshot_effect``). Raises
        ``eventsourcing.persistence.IntegrityError`` when another writer got there first (a
        version or identifier conflict, or ``LeadKeyMissing``): the caller re-reads and retries.
        """
        taken = [Snapshot.take(a) for a in snapshots]
        pending = [e for a in aggregates for e in a.collect_events()]
        if pending:
            ring: dict[UUID, bytes] = {}
            try:
                stored = self.sealing.seal_events(pending, ring=ring)
                if taken:  # sealed with the keys the events brought (a new lead's)
                    sealed = self.sealing.seal_events(taken, ring=ring)
                    effects = [*effects, _insert_snapshots(sealed)]
                self.recorder.insert_events(stored, effects=effects, require_keys=require_keys)
            except IntegrityError:
                # A lead erased meanwhile (its key gone, or its version taken by LeadErased):
                # the keys this process holds for the leads involved are read again next time.
                self.key_cache.forget({e.originator_id for e in pending} | set(require_keys))
                raise
            self.key_cache.keep(
                {
                    lead_id: key
                    for s in stored
                    if isinstance(s, SealedStoredEvent)
                    for lead_id, key in s.new_lead_keys
                }
            )
        elif effects:
            self.recorder.insert_events([], effects=effects)

    def load_events(
        self,
        ids: Sequence[UUID],
        *,
        first_only: bool = False,
        up_to_notification: int | None = None,
        up_to_version: int | None = None,
    ) -> dict[UUID, list[Any]]:
        """The domain events of many aggregates with one query, each list in version order.

        ``first_only``: only each aggregate's first event (version 1). ``up_to_notification``:
        only events up to that notification id (a rebuild's position). ``up_to_version``: only
        each aggregate's events up to that version."""
        if not ids:
            return {}
        query = (
            f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
            " WHERE originator_id = ANY(%s)"
        )
        params: list[Any] = [list(ids)]
        if first_only:
            query += " AND originator_version = 1"
        if up_to_notification is not None:
            query += " AND notification_id <= %s"
            params.append(up_to_notification)
        if up_to_version is not None:
            query += " AND originator_version <= %s"
            params.append(up_to_version)
        return self._domain_events(query + " ORDER BY originator_id, originator_version", params)

    def load_events_after(
        self, after: Mapping[UUID, int], *, cached: bool = False
    ) -> dict[UUID, list[Any]]:
        """What brings many aggregates up to date from the version given for each (0: from
        nothing), with one query: each aggregate's latest snapshot beyond that version, if it
        has one, then its events after both, in version order. Folding a list onto the
        aggregate at the given version (``mutate``; a snapshot ignores what it is given) gives
        the aggregate as stored."""
        if not after:
            return {}
        query = (
            "WITH k AS MATERIALIZED (SELECT * FROM unnest(%s::uuid[], %s::int8[]) AS k(id, after)),"
            " s AS MATERIALIZED (SELECT k.id, x.* FROM k CROSS JOIN LATERAL"
            "  (SELECT originator_version, topic, state"
            f"  FROM {SNAPSHOTS_TABLE} x WHERE x.originator_id = k.id"
            "   AND x.originator_version > k.after ORDER BY x.originator_version DESC LIMIT 1) x)"
            " SELECT id AS originator_id, originator_version, topic, state FROM s"
            " UNION ALL"
            " SELECT e.originator_id, e.originator_version, e.topic, e.state"
            " FROM k LEFT JOIN s ON s.id = k.id CROSS JOIN LATERAL"
            f" (SELECT * FROM {EVENTS_TABLE} x WHERE x.originator_id = k.id"
            "  AND x.originator_version > greatest(k.after, s.originator_version)) e"
            " ORDER BY 1, 2"
        )
        return self._domain_events(query, [list(after), list(after.values())], cached=cached)

    def load_history(self, aggregate_id: UUID, after: int, through: int) -> list[Any]:
        """For a page of one aggregate's history, with one query: its latest snapshot at a
        version up to ``after`` (if it has one), then its events after that snapshot (or from
        its first) through version ``through``, in version order."""
        query = (
            "WITH s AS MATERIALIZED (SELECT originator_id, originator_version, topic, state"
            f" FROM {SNAPSHOTS_TABLE} WHERE originator_id = %(id)s"
            "  AND originator_version <= %(after)s ORDER BY originator_version DESC LIMIT 1)"
            " SELECT * FROM s UNION ALL"
            f" SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
            " WHERE originator_id = %(id)s AND originator_version <= %(through)s"
            "  AND originator_version > coalesce((SELECT originator_version FROM s), 0)"
            " ORDER BY 2"
        )
        params = {"id": aggregate_id, "after": after, "through": through}
        return self._domain_events(query, params).get(aggregate_id, [])

    def snapshot_effect(self, aggregates: Sequence[Aggregate]) -> Effect:
        """Store a snapshot of each aggregate at its current version, as an effect of the
        transaction that stores its pending events (a snapshot commits with them or not at
        all)."""
        return _insert_snapshots(self.sealing.seal_events([Snapshot.take(a) for a in aggregates]))

    def _domain_events(
        self, query: str, params: Any, *, cached: bool = False
    ) -> dict[UUID, list[Any]]:
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params)
            rows = curs.fetchall()
        stored = [
            StoredEvent(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
            for r in rows
        ]
        decode = self.sealing.decoder(stored, cached=cached)
        by_id: dict[UUID, list[Any]] = {}
        erased: list[UUID] = []
        for s in stored:
            event = decode(s)
            if s.topic == LEAD_ERASED:
                erased.append(s.originator_id)  # type: ignore[arg-type]
            by_id.setdefault(s.originator_id, []).append(event)  # type: ignore[arg-type]
        if erased:
            self.key_cache.forget(erased)
        return by_id

    def load_many(
        self, ids: Sequence[UUID], cache: AggregateCache | None = None
    ) -> dict[UUID, Any]:
        """Rebuild many aggregates with one query (the repository reads one at a time).

        With a ``cache``, the aggregates it holds are taken out of it (see ``AggregateCache``)
        and brought up to date with only the events stored after their version; the others are
        built from their latest snapshot and the events after it: the cost of an aggregate does
        not grow with its history."""
        if cache is None:
            return {i: project(events) for i, events in self.load_events(ids).items()}
        cached = cache.take(ids)
        newer = self.load_events_after(
            {i: cached[i].version if i in cached else 0 for i in ids}, cached=True
        )
        loaded: dict[UUID, Any] = {}
        for i in ids:
            aggregate = cached.get(i)
            for event in newer.get(i, ()):
                # A snapshot builds the aggregate anew; an event must follow the aggregate's
                # version (the library checks it).
                aggregate = event.mutate(aggregate)
            if aggregate is not None:
                loaded[i] = aggregate
        return loaded


def _insert_snapshots(stored: Sequence[StoredEvent]) -> Effect:
    def effect(curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {SNAPSHOTS_TABLE} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[])"
            " ON CONFLICT DO NOTHING",
            (
                [e.originator_id for e in stored],
                [e.originator_version for e in stored],
                [e.topic for e in stored],
                [e.state for e in stored],
            ),
        )

    return effect


class AggregateCache:
    """Aggregates as they were last committed, by id, the least recently kept dropped first
    beyond ``max_size``. For one thread (a lead worker's loop).

    An aggregate is handed out by ``take``, which forgets it: the taker may change it, and the
    changes may never commit. Only ``keep``, called once the transaction that stored an
    aggregate's events has committed, puts it back. So the cache never holds a state that was
    not committed; a state it holds may be behind the database (another process appended
    since), which ``LeadImportStore.load_many`` makes up by reading the events after it."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._items: OrderedDict[UUID, Aggregate] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, aggregate_id: object) -> bool:
        return aggregate_id in self._items

    def take(self, ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The cached aggregates of ``ids`` (those it holds), no longer in the cache."""
        pop = self._items.pop
        taken = {}
        for i in ids:
            aggregate = pop(i, None)
            if aggregate is not None:
                taken[i] = aggregate
        return taken

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        """Cache ``aggregates`` whose events have all committed. An aggregate with pending
        events is not kept (nor one that was cached before: it is dropped)."""
        items = self._items
        for aggregate in aggregates:
            if aggregate.pending_events:
                items.pop(aggregate.id, None)
                continue
            items[aggregate.id] = aggregate
            items.move_to_end(aggregate.id)
        while len(items) > self.max_size:
            items.popitem(last=False)

    def discard(self, ids: Iterable[UUID]) -> None:
        for i in ids:
            self._items.pop(i, None)


def project(events: list[Any]) -> Any:
    """The aggregate the events build, like the library's ``project_aggregate`` without its
    runtime Protocol check per call (which costs more than the folding itself)."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def open_event_store(
    url: str, *, create_table: bool = False, pool_size: int = 4
) -> LeadImportStore:
    return LeadImportStore(env=event_store_env(url, create_table=create_table, pool_size=pool_size))


def create_event_store_tables(url: str) -> None:
    app = open_event_store(url, create_table=True, pool_size=1)
    app.close()
