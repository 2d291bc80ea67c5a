"""Benchmark: the whole `leadimport up` stack, driven over HTTP.

    python -m bench.run [--rows 10000,100000] [--seed 7] [--with-million [--stored 1000000]]

Generates reproducible CSVs from a seed (realistic columns, ~20 % rows updating leads that
already exist, ~2 % invalid identifiers, some rows with several aliases), starts the stack with
its embedded defaults in a fresh data folder, and prints one line per figure, ending with
``import_100k_rows_per_s=<n> ratio_to_copy=<x> preview_10mb_s=<t>``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIRST = ["Jane", "John", "Maria", "Wei", "Aisha", "Lars", "Sofia", "Kenji", "Olu", "Priya"]
LAST = ["Doe", "Smith", "García", "Chen", "Khan", "Berg", "Rossi", "Tanaka", "Adeyemi", "Patel"]
COMPANIES = ["Acme Corp", "Example Inc", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne"]
TITLES = ["CTO", "VP Sales", "Engineer", "Marketing Lead", "Founder", "Buyer", "Analyst"]


def make_csv(rows: int, seed: int, tag: str = "") -> bytes:
    """``rows`` data rows; ``tag`` goes into every e-mail, so files of different tags never
    share a lead (the warm-up file would otherwise turn rows of the measured one into updates)."""
    rnd = random.Random(seed)
    out = ["Email,First Name,Last Name,Company,Job Title,Phone,Mobile,LinkedIn,Badge ID,City,Notes"]
    for i in range(rows):
        # about 20 % of rows update a lead created earlier in the file
        n = rnd.randrange(i) if i > 100 and rnd.random() < 0.20 else i
        email = f"{FIRST[n % 10].lower()}.{LAST[n % 10].lower()}{tag}{n}@example{n % 13}.com"
        if rnd.random() < 0.02:
            email = f"broken-address-{i}"
        phone = f"+1 415 {200 + n // 10000:03d} {n % 10000:04d}"  # one per person
        mobile = f"+44 7700 {n % 1000000:06d}" if rnd.random() < 0.3 else ""
        linkedin = f"@{FIRST[n % 10].lower()}{n}" if rnd.random() < 0.3 else ""
        badge = f"B-{n}" if rnd.random() < 0.2 else ""
        notes = "Met at booth; wants a demo" if rnd.random() < 0.2 else ""
        out.append(
            ",".join(
                [
                    email,
                    FIRST[n % 10],
                    LAST[n % 10],
                    COMPANIES[n % 8],
                    TITLES[n % 7],
                    phone,
                    mobile,
                    linkedin,
                    badge,
                    f"City {n % 50}",
                    notes,
                ]
            )
        )
    return ("\n".join(out) + "\n").encode()


def http(
    method: str, url: str, token: str, body: bytes | None = None, ctype: str | None = None
) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - local URL
    req.add_header("Authorization", f"Bearer {token}")
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command line with spaces, fields of /proc/<pid>/stat after the name) of every
    process that is still there while it is read."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(p), cmd, fields


def process_peaks() -> dict[str, tuple[float, float]]:
    """Peak RSS (MB) and CPU seconds of each process of the stack, by name (every PostgreSQL
    process of the machine counts: other servers add their own, idle, share)."""
    out: dict[str, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid, cmd, fields in processes():
        if "runtime.cli" not in cmd and "tansu" not in cmd and "postgres" not in cmd:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        hwm = next(
            (
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmHWM:")
            ),
            0.0,
        )
        name = cmd.split("runtime.cli", 1)[-1].strip() if "runtime.cli" in cmd else cmd.split()[0]
        name = name.rsplit("/", 1)[-1][:40]
        cpu = (int(fields[11]) + int(fields[12])) / tick
        prev = out.get(name, (0.0, 0.0))
        out[name] = (max(prev[0], hwm), prev[1] + cpu)
    return out


def run_import(
    api: str, token: str, database_url: str, data: bytes, name: str
) -> tuple[float, float, dict[str, Any]]:
    body, ctype = multipart(name, data)
    t0 = time.perf_counter()
    status, preview = http("POST", f"{api}/leads/import/preview", token, body, ctype)
    preview_s = time.perf_counter() - t0
    assert status == 200, preview
    start_body = json.dumps(
        {
            "file_id": preview["file_id"],
            "primary_identifier": {"column": "Email", "kind": "email"},
            "field_mappings": {
                "First Name": "first_name",
                "Last Name": "last_name",
                "Company": "company",
                "Job Title": "title",
                "City": "city",
                "Notes": "notes",
            },
            "alias_mappings": {
                "Phone": "_alias_phone",
                "Mobile": "_alias_phone",
                "LinkedIn": "_alias_social",
                "Badge ID": "_alias_external_id",
            },
        }
    ).encode()
    t1 = time.perf_counter()
    status, job = http("POST", f"{api}/leads/import/start", token, start_body, "application/json")
    assert status == 202, job
    marks: dict[str, float] = {}  # when the first row, half and 90 % of rows were done
    while True:
        _, detail = http("GET", f"{api}/leads/import/jobs/{job['job_id']}", token)
        done = detail["created_count"] + detail["updated_count"] + detail["failed_count"]
        total = detail["total_rows"] or 1
        for name, share in (("first", 1e-9), ("half", 0.5), ("p90", 0.9)):
            if done / total >= share:
                marks.setdefault(name, time.perf_counter() - t1)
        if detail["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.2)  # a progress bar polls about this often
    elapsed = time.perf_counter() - t1
    detail["marks"] = " ".join(f"{k}={v:.1f}s" for k, v in marks.items())
    done = detail["created_count"] + detail["updated_count"] + detail["failed_count"]
    assert detail["status"] == "completed" and done == detail["total_rows"], detail
    detail["relay_drained_s"] = relay_drained(database_url) - t1
    return preview_s, elapsed, detail


def relay_drained(database_url: str) -> float:
    """When the relay had published every event stored so far (perf_counter time)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        top = conn.execute("SELECT max(notification_id) FROM leadimport_events").fetchone()
        last = top[0] if top else 0
        while True:
            row = conn.execute(
                "SELECT notification_id FROM relay_position WHERE name = 'leads.events'"
            ).fetchone()
            if row is not None and row[0] >= last:
                return time.perf_counter()
            time.sleep(0.05)


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


def relay_pids(up_pid: int) -> list[int]:
    return [
        pid
        for pid, cmd, fields in processes()
        if cmd.endswith("worker relay") and int(fields[1]) == up_pid
    ]


@contextlib.contextmanager
def relay_paused(database_url: str, up_pid: int) -> Iterator[None]:
    """No relay publishes inside: the bench holds the relay's advisory lock (stopping the relay
    that had it; ``up`` starts a new one, which waits for the lock). On exit the lock is
    released and the new relay resumes from the recorded position."""
    import psycopg

    from adapters.locks import RELAY as RELAY_LOCK

    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,)).fetchone()
            if row and row[0]:
                break
            for pid in relay_pids(up_pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            time.sleep(0.3)  # a stopping relay finishes its batch, then releases the lock
        yield


def new_token(database_url: str, ou: str) -> str:
    from adapters import postgres as db
    from adapters.tokens import create_token

    pool = db.make_pool(database_url, max_size=1)
    try:
        return create_token(pool, ou)
    finally:
        pool.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--with-million",
        action="store_true",
        help="also import the largest file into an OU that already holds --stored leads",
    )
    parser.add_argument("--stored", type=int, default=1_000_000)
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="leadimport-bench-", dir="/tmp"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    port = 18000 + random.randrange(1000)
    env.update(LEADIMPORT_DATA_DIR=str(data_dir), PORT=str(port))
    up = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "up"], env=env, stdout=subprocess.PIPE, text=True
    )
    info: dict[str, str] = {}
    try:
        assert up.stdout is not None
        while len(info) < 4:
            line = up.stdout.readline()
            if not line:
                raise SystemExit("leadimport up exited before it was ready")
            key, _, value = line.strip().partition("=")
            info[key] = value
        api, token, database_url = info["API_URL"], info["TOKEN"], info["DATABASE_URL"]
        results: dict[str, float] = {}
        # Every file but the largest warms the stack up; none shares a lead with another.
        files = {
            n: make_csv(n, args.seed + n, tag="" if n == max(sizes) else f"w{n}-") for n in sizes
        }
        print(f"cpu_check_s={cpu_check(files[max(sizes)]):.3f} (before)", flush=True)
        for n in sizes:
            data = files[n]
            preview_s, elapsed, detail = run_import(
                api, token, database_url, data, f"bench-{n}.csv"
            )
            rate = n / elapsed
            results[f"rows_per_s_{n}"] = rate
            results[f"preview_s_{n}"] = preview_s
            print(
                f"import rows={n} bytes={len(data)} preview_s={preview_s:.3f} "
                f"start_to_completed_s={elapsed:.2f} rows_per_s={rate:.0f} "
                f"created={detail['created_count']} updated={detail['updated_count']} "
                f"failed={detail['failed_count']} "
                f"relay_drained_s={detail['relay_drained_s']:.2f} rows_done_at: {detail['marks']}",
                flush=True,
            )
        biggest = max(sizes)
        copy_s = copy_floor(database_url, files[biggest])
        copy_rate = biggest / copy_s
        ratio = results[f"rows_per_s_{biggest}"] / copy_rate
        print(
            f"copy_floor rows={biggest} seconds={copy_s:.3f} rows_per_s={copy_rate:.0f} "
            f"ratio_ours_to_copy={ratio:.4f}",
            flush=True,
        )
        if args.with_million:
            # The same file as the measured run, into an OU that already holds --stored leads.
            t0 = time.perf_counter()
            with relay_paused(database_url, up.pid):
                preload_leads(database_url, "bench-million", args.stored)
            print(f"preload leads={args.stored} seconds={time.perf_counter() - t0:.1f}", flush=True)
            _, elapsed, detail = run_import(
                api,
                new_token(database_url, "bench-million"),
                database_url,
                files[biggest],
                "bench-m.csv",
            )
            rate_m = biggest / elapsed
            ratio_m = rate_m / results[f"rows_per_s_{biggest}"]
            print(
                f"import_with_stored_leads stored={args.stored} rows={biggest}"
                f" start_to_completed_s={elapsed:.2f}"
                f" rows_per_s={rate_m:.0f} ratio_to_empty={ratio_m:.2f}"
                f" created={detail['created_count']} updated={detail['updated_count']}"
                f" failed={detail['failed_count']}"
                f" relay_drained_s={detail['relay_drained_s']:.2f}",
                flush=True,
            )
        print(f"cpu_check_s={cpu_check(files[max(sizes)]):.3f} (after)", flush=True)
        for name, (mb, cpu) in sorted(process_peaks().items()):
            print(f"process={name!r} peak_rss_mb={mb:.0f} cpu_s={cpu:.1f}")
        print(
            f"import_{biggest // 1000}k_rows_per_s={results[f'rows_per_s_{biggest}']:.0f} "
            f"ratio_to_copy={ratio:.4f} preview_{len(files[biggest]) / 1e6:.0f}mb_s="
            f"{results[f'preview_s_{biggest}']:.3f}"
        )
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
