"""The swap half of ``leadimport replay``: the rebuilt tables replace the live ones in one
transaction (see ``projections.replay`` for the procedure and why it is correct), and the catalog
helpers that create the shadow tables and check that a rebuilt table matches the live one.
"""

from __future__ import annotations

import re
import time
from typing import Any

from psycopg import Connection
from psycopg.sql import SQL, Identifier

from adapters import locks
from adapters.eventstore import LeadImportStore
from projections.rebuild import Rebuild

# The projection tables, in the order the swap locks them (see projections.replay).
TABLES = ("import_jobs", "lead_identifiers", "row_outcomes", "job_warnings", "leads_view")
# Columns that are not derived from events; left out when a rebuild is compared with live data.
OPERATIONAL_COLUMNS = {"import_jobs": ("last_progress_at", "redrive_count")}
SHADOW_SCHEMA = "leadimport_replay"
SWAP_LOCK_TIMEOUT = "5s"  # how long the swap waits for a lock before it lets the API go on


class ReplayFailed(RuntimeError):
    """The rebuild could not be swapped in; the live tables are unchanged."""


class Swap:
    """The swap transaction (module docstring, steps 1-5)."""

    def __init__(
        self, conn: Connection[Any], rebuild: Rebuild, live: str, events_table: tuple[str, str]
    ) -> None:
        self.conn = conn
        self.rebuild = rebuild
        self.live = live
        self.events_table = events_table

    def run(self) -> tuple[int, float]:
        """Swap the rebuild in; return the events applied under the locks and the seconds the
        transaction took (the API waits at most this long)."""
        conn, live = self.conn, self.live
        started = time.monotonic()
        with conn.transaction():
            conn.execute(SQL("SET LOCAL lock_timeout = {}").format(SWAP_LOCK_TIMEOUT))
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (locks.MIGRATION,))
            for table in TABLES:
                conn.execute(
                    SQL("LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE").format(*ids(live, table))
                )
            conn.execute(SQL("LOCK TABLE {}.{} IN SHARE MODE").format(*ids(*self.events_table)))
            during = self.rebuild.catch_up_in_transaction()
            conn.execute(
                SQL(
                    "UPDATE {}.import_jobs n SET redrive_count = o.redrive_count"
                    " FROM {}.import_jobs o WHERE o.job_id = n.job_id"
                ).format(Identifier(SHADOW_SCHEMA), Identifier(live))
            )
            expected = {table: describe_table(conn, live, table) for table in TABLES}
            for table in TABLES:
                conn.execute(SQL("DROP TABLE {}.{}").format(*ids(live, table)))
                conn.execute(
                    SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                        *ids(SHADOW_SCHEMA, table), Identifier(live)
                    )
                )
                _rename_indexes(conn, live, table, expected[table]["indexes"])
                if (got := describe_table(conn, live, table)) != expected[table]:
                    raise ReplayFailed(
                        f"the rebuilt {table} does not match the live one: "
                        f"{got!r} != {expected[table]!r}. Nothing was changed."
                    )
            conn.execute(SQL("DROP SCHEMA {}").format(Identifier(SHADOW_SCHEMA)))
        swap_seconds = time.monotonic() - started
        self.rebuild.committed_position = self.rebuild.position
        self.rebuild.committed_events = self.rebuild.events
        return during, swap_seconds


# --- catalog helpers ---------------------------------------------------------------------------

_INDEX_NAME = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON \S+ ")


def ids(schema: str, table: str) -> tuple[Identifier, Identifier]:
    return Identifier(schema), Identifier(table)


def live_schema(conn: Connection[Any]) -> str:
    """The schema of the live projection tables (the first of the search path that has them)."""
    schemas: set[str] = set()
    for table in TABLES:
        row = conn.execute(
            "SELECT relnamespace::regnamespace::text AS schema FROM pg_class"
            " WHERE oid = to_regclass(%s)",
            (table,),
        ).fetchone()
        if row is None:
            raise ReplayFailed(
                f"the table {table} does not exist: create the schema first "
                "(leadimport replay does, through migrate())."
            )
        schemas.add(row["schema"])
    if len(schemas) != 1:
        raise ReplayFailed(f"the projection tables are spread over schemas {sorted(schemas)}")
    return schemas.pop()


def events_table(app: LeadImportStore) -> tuple[str, str]:
    recorder: Any = app.recorder
    return (recorder.datastore.schema or "public", recorder.events_table_name)


def create_shadow(conn: Connection[Any], live: str) -> None:
    conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(SHADOW_SCHEMA)))
    conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(SHADOW_SCHEMA)))
    for table in TABLES:
        conn.execute(
            SQL("CREATE TABLE {}.{} (LIKE {}.{} INCLUDING ALL)").format(
                *ids(SHADOW_SCHEMA, table), *ids(live, table)
            )
        )


def describe_table(conn: Connection[Any], schema: str, table: str) -> dict[str, Any]:
    """Columns, indexes and constraints of a table, as comparable values."""
    relation = SQL("{}.{}").format(*ids(schema, table)).as_string(conn)
    columns = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid) AS default FROM pg_attribute a"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attnum",
        (relation,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass ORDER BY 1",
        (relation,),
    ).fetchall()
    constraints = conn.execute(
        "SELECT conname, contype::text, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1",
        (relation,),
    ).fetchall()
    return {
        "columns": [tuple(r.values()) for r in columns],
        "indexes": {r["name"]: _INDEX_NAME.sub(r"\1 ON ", r["definition"]) for r in indexes},
        "constraints": [tuple(r.values()) for r in constraints],
    }


def _rename_indexes(conn: Connection[Any], schema: str, table: str, want: dict[str, str]) -> None:
    """Give the moved table's indexes the names the live ones had (matched by definition)."""
    name_of = {definition: name for name, definition in want.items()}
    for name, definition in describe_table(conn, schema, table)["indexes"].items():
        target = name_of.get(definition)
        if target is not None and target != name:
            conn.execute(
                SQL("ALTER INDEX {}.{} RENAME TO {}").format(*ids(schema, name), Identifier(target))
            )
