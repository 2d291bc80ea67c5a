"""``import_jobs.warning_count`` on a database from before it existed: the schema adds it once,
filled from ``job_warnings``, and running the schema again changes nothing. Run in a schema of
its own, so the session's tables (and the workers using them) are not touched."""

from __future__ import annotations

import importlib.resources
import uuid

from psycopg.sql import SQL, Identifier

from adapters import postgres as db

SCHEMA_SQL = importlib.resources.files("adapters").joinpath("schema.sql").read_text()


def _job(job_id: str) -> tuple[str, ...]:
    return (job_id, "ou-migration", "completed", "f", "x.csv", "{}", "{}", "{}", "US")


def test_warning_count_is_added_once_and_filled_from_the_warnings(database_url: str) -> None:
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    with db.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        try:
            conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
            conn.execute(SCHEMA_SQL)
            # A database from before: no warning_count, jobs with and without warnings.
            conn.execute("ALTER TABLE import_jobs DROP COLUMN warning_count")
            for job_id in ("job_a", "job_b", "job_c"):
                conn.execute(
                    "INSERT INTO import_jobs (job_id, ou, status, file_id, file_name, created_at,"
                    " total_rows, primary_identifier, field_mappings, alias_mappings,"
                    " default_country, last_progress_at)"
                    " VALUES (%s, %s, %s, %s, %s, now(), 9, %s, %s, %s, %s, now())",
                    _job(job_id),
                )
            warnings = [("job_a", row, seq) for row in range(2, 7) for seq in range(2)]
            warnings += [("job_c", 3, 0)]
            for job_id, row, seq in warnings:
                conn.execute(
                    "INSERT INTO job_warnings VALUES (%s, %s, %s, 'w', 'v')", (job_id, row, seq)
                )

            conn.execute(SCHEMA_SQL)
            counts = "SELECT job_id, warning_count FROM import_jobs ORDER BY job_id"
            expected = [
                {"job_id": "job_a", "warning_count": 10},
                {"job_id": "job_b", "warning_count": 0},
                {"job_id": "job_c", "warning_count": 1},
            ]
            assert conn.execute(counts).fetchall() == expected

            # Afterwards the counter is the workers' to keep: the schema leaves it alone.
            conn.execute("UPDATE import_jobs SET warning_count = 42 WHERE job_id = 'job_b'")
            conn.execute(SCHEMA_SQL)
            expected[1]["warning_count"] = 42
            assert conn.execute(counts).fetchall() == expected
            column = conn.execute(
                "SELECT is_nullable, column_default FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'import_jobs'"
                " AND column_name = 'warning_count'",
                (schema,),
            ).fetchall()
            assert column == [{"is_nullable": "NO", "column_default": "0"}]
        finally:
            conn.execute("RESET search_path")
            conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))
