"""Figures and set-up of the bench outside the pipeline: the host's CPU check, the COPY floor,
preloaded leads."""

from __future__ import annotations

import time


def cpu_check(data: bytes) -> float:
    """Seconds of a fixed single-core workload (the importer's row mapping of the first 20,000
    rows of ``data``): how fast the host runs right now. Shared machines drift by more than the
    changes being measured; compare rows/s of runs whose check took about the same time."""
    from domain import csvfile
    from domain.rows import RowMapping, encode_row

    info = csvfile.inspect(data)
    headers = data.split(b"\n", 1)[0].decode().split(",")
    mapping = RowMapping.build(
        headers,
        "Email",
        "email",
        {"First Name": "first_name", "Company": "company", "City": "city"},
        {"Phone": "phone", "Mobile": "phone", "LinkedIn": "social"},
        "US",
    )
    t0 = time.process_time()
    for row, cells in csvfile.iter_rows(data, info.format):
        if row > 20_001:
            break
        encode_row("bench", "job_cpu_check", row, cells, mapping)
    return time.process_time() - t0


def copy_floor(database_url: str, data: bytes) -> float:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            "CREATE TABLE bench_copy (email text, first_name text, last_name text,"
            " company text, title text, phone text, mobile text, linkedin text,"
            " badge text, city text, notes text)"
        )
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            copy.write(data)
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE bench_copy")
    return elapsed


def preload_leads(database_url: str, ou: str, count: int) -> None:
    """``count`` leads of ``ou`` stored as the pipeline stores them: a ``LeadCreated`` event
    each in the event store, their identifiers in the index and their read-model rows, all
    already published by the relay (its position is moved past them; call it with the relay
    paused). Written with SQL, in one transaction: importing a million rows takes minutes."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        conn.execute(
            "CREATE TEMP TABLE pre ON COMMIT DROP AS SELECT gen_random_uuid() AS lead_id, n,"
            " 'pre' || n || '@example.com' AS email FROM generate_series(1, %s) n",
            (count,),
        )
        conn.execute("LOCK TABLE leadimport_events IN EXCLUSIVE MODE")
        conn.execute(
            "INSERT INTO leadimport_events (originator_id, originator_version, topic, state)"
            " SELECT lead_id, 1, 'domain.lead:Lead.LeadCreated', convert_to(json_build_object("
            "  'timestamp', json_build_object('_type_', 'datetime_iso', '_data_',"
            "   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')),"
            "  'originator_topic', 'domain.lead:Lead', 'ou', %s::text,"
            "  'primary', json_build_object('kind', 'email', 'value', email),"
            "  'fields', json_build_object('first_name', 'Pre', 'company', 'Preloaded Inc'),"
            "  'aliases', '[]'::json, 'job_id', 'job_preload', 'row', n + 1, 'source', 'csv',"
            "  'class_version', 2)::text, 'UTF8') FROM pre",
            (ou,),
        )
        # Their keys (adapters/keys.py), as the upgrade gives leads stored in plain before.
        conn.execute(
            "INSERT INTO lead_keys (lead_id, key)"
            " SELECT lead_id, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) FROM pre"
        )
        conn.execute(
            "INSERT INTO lead_identifiers (ou, kind, value, lead_id)"
            " SELECT %s, 'email', email, lead_id FROM pre",
            (ou,),
        )
        conn.execute(
            "INSERT INTO leads_view (lead_id, ou, identifiers, fields, created_at, updated_at)"
            " SELECT lead_id, %s, jsonb_build_object('email', jsonb_build_array(email)),"
            ' \'{"first_name": "Pre", "company": "Preloaded Inc"}\', now(), now()'
            " FROM pre",
            (ou,),
        )
        conn.execute(
            "UPDATE relay_position SET notification_id ="
            " (SELECT max(notification_id) FROM leadimport_events) WHERE name = 'leads.events'"
        )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        # Finish the checkpoint the preload's ~1.5 GB of WAL set off, as a server that has held
        # its leads for a while has: otherwise the measured import pays for writing them out.
        conn.execute("CHECKPOINT")
