"""The event store: one eventsourcing application on PostgreSQL for Lead and ImportJob aggregates.

``LeadImportRecorder`` runs caller-supplied statements ("effects") inside the transaction that
inserts the events, so identifier-index rows, row outcomes and projection updates commit or roll
back together with the events they belong to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

Effect = Callable[[Cursor[Any]], None]

APP_NAME = "LeadImport"
EVENTS_TABLE = "leadimport_events"


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
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            for effect in effects:
                effect(curs)
            if not stored_events:
                return []
            self._lock_table(curs)
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

    def put(self, aggregates: Iterable[Aggregate], effects: Sequence[Effect] = ()) -> None:
        """Store the pending events of ``aggregates`` and run ``effects`` in one transaction.

        Raises ``eventsourcing.persistence.IntegrityError`` when another writer got there first
        (a version or identifier conflict): the caller re-reads and retries.
        """
        pending = [e for a in aggregates for e in a.collect_events()]
        if pending:
            self.events.put(pending, effects=effects)
        elif effects:
            self.recorder.insert_events([], effects=effects)

    def load_events(
        self,
        ids: Sequence[UUID],
        *,
        first_only: bool = False,
        up_to_notification: int | None = None,
    ) -> dict[UUID, list[Any]]:
        """The domain events of many aggregates with one query, each list in version order.

        ``first_only``: only each aggregate's first event (version 1). ``up_to_notification``:
        only events up to that notification id (a rebuild's position)."""
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
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query + " ORDER BY originator_id, originator_version", params)
            rows = curs.fetchall()
        to_domain = self.mapper.to_domain_event
        by_id: dict[UUID, list[Any]] = {}
        for r in rows:
            stored = StoredEvent(
                r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
            )
            by_id.setdefault(r["originator_id"], []).append(to_domain(stored))
        return by_id

    def load_many(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
        """Rebuild many aggregates with one query (the repository reads one at a time)."""
        return {i: project(events) for i, events in self.load_events(ids).items()}


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
