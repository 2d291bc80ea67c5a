"""Import modes on a database from before them: the schema adds ``import_jobs.mode``,
``dry_run`` and ``skipped_count`` once (older jobs: an upsert, no dry run, nothing skipped), lets
``row_outcomes`` hold ``skipped``, and running it again changes nothing. Run in a schema of its
own, so the session's tables (and the workers using them) are not touched."""

from __future__ import annotations

import importlib.resources
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from adapters import postgres as db

SCHEMA_SQL = importlib.resources.files("adapters").joinpath("schema.sql").read_text()
OLD_CHECK = "CHECK (outcome IN ('created', 'updated', 'failed'))"
OUTCOME = "INSERT INTO row_outcomes (job_id, row, outcome) VALUES ('job_old', %s, %s)"


def _check(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    row = conn.execute(
        "SELECT oid, pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE conrelid = 'row_outcomes'::regclass AND contype = 'c'"
    ).fetchall()
    assert len(row) == 1, row
    return dict(row[0])


def test_modes_are_added_once_to_a_database_from_before(database_url: str) -> None:
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    with db.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        try:
            conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
            conn.execute(SCHEMA_SQL)
            # A database from before: no mode, dry_run, skipped_count; outcomes of three kinds.
            for column in ("skipped_count", "mode", "dry_run"):
                conn.execute(
                    SQL("ALTER TABLE import_jobs DROP COLUMN {}").format(Identifier(column))
                )
            conn.execute("ALTER TABLE row_outcomes DROP CONSTRAINT row_outcomes_outcome_check")
            conn.execute(
                f"ALTER TABLE row_outcomes ADD CONSTRAINT row_outcomes_outcome_check {OLD_CHECK}"
            )
            conn.execute(
                "INSERT INTO import_jobs (job_id, ou, status, file_id, file_name, created_at,"
                " total_rows, created_count, primary_identifier, field_mappings, alias_mappings,"
                " default_country, last_progress_at) VALUES ('job_old', 'ou', 'completed', 'f',"
                " 'x.csv', now(), 1, 1, '{}', '{}', '{}', 'US', now())"
            )
            conn.execute(OUTCOME, (2, "created"))
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(OUTCOME, (3, "skipped"))

            conn.execute(SCHEMA_SQL)
            job = conn.execute(
                "SELECT mode, dry_run, skipped_count FROM import_jobs WHERE job_id = 'job_old'"
            ).fetchone()
            assert job == {"mode": "upsert", "dry_run": False, "skipped_count": 0}
            conn.execute(OUTCOME, (3, "skipped"))
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(OUTCOME, (4, "gone"))
            migrated = _check(conn)
            assert "'skipped'" in migrated["def"]

            # Again: the same constraint (not dropped and made anew), the same columns.
            conn.execute(SCHEMA_SQL)
            assert _check(conn) == migrated
            columns = conn.execute(
                "SELECT column_name, data_type, is_nullable, column_default"
                " FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name = 'import_jobs' AND column_name IN ('mode', 'dry_run',"
                " 'skipped_count') ORDER BY column_name",
                (schema,),
            ).fetchall()
            assert columns == [
                {
                    "column_name": "dry_run",
                    "data_type": "boolean",
                    "is_nullable": "NO",
                    "column_default": "false",
                },
                {
                    "column_name": "mode",
                    "data_type": "text",
                    "is_nullable": "NO",
                    "column_default": "'upsert'::text",
                },
                {
                    "column_name": "skipped_count",
                    "data_type": "integer",
                    "is_nullable": "NO",
                    "column_default": "0",
                },
            ]
        finally:
            conn.execute("RESET search_path")
            conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))


def test_a_fresh_database_gets_the_same_check(database_url: str) -> None:
    """The CHECK of a new database and the one the migration puts on an old one read the same
    (a replay's swap compares constraints)."""
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    with db.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        try:
            conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
            conn.execute(SCHEMA_SQL)
            fresh = _check(conn)["def"]
            conn.execute("ALTER TABLE row_outcomes DROP CONSTRAINT row_outcomes_outcome_check")
            conn.execute(
                f"ALTER TABLE row_outcomes ADD CONSTRAINT row_outcomes_outcome_check {OLD_CHECK}"
            )
            conn.execute(SCHEMA_SQL)
            assert _check(conn)["def"] == fresh
        finally:
            conn.execute("RESET search_path")
            conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))
