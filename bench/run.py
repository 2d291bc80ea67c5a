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

from bench.database import copy_floor, cpu_check, preload_leads
from bench.files import make_csv, make_hot_csv, make_noisy_csv
from bench.procs import STACK, api_cpu_s, process_peaks, relay_pids

__all__ = ["main", "make_noisy_csv"]


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


def run_import(
    api: str,
    token: str,
    database_url: str,
    data: bytes,
    name: str,
    *,
    poll_api: bool = True,
    download_results: bool = False,
) -> tuple[float, float, dict[str, Any]]:
    """Preview, start and wait for the job. ``poll_api``: watch it as a progress bar does, its
    detail every 0.2 s (counting the polls that showed a rate and a time left); else read its
    counters from ``import_jobs`` (no API call until the end). ``download_results``: then
    download its results.csv, as the wizard's user does (``detail["results_csv"]``: seconds,
    bytes, lines, API CPU seconds), once the relay has drained (the import is over)."""
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
    api_cpu = api_cpu_s()
    status, job = http("POST", f"{api}/leads/import/start", token, start_body, "application/json")
    assert status == 202, job
    marks: dict[str, float] = {}  # when the first row, half and 90 % of rows were done
    polls = with_rate = backwards = 0
    last_percent = 0.0
    while True:
        if poll_api:
            _, detail = http("GET", f"{api}/leads/import/jobs/{job['job_id']}", token)
            polls += 1
            rate, eta = detail.get("rows_per_second"), detail.get("eta_seconds")
            with_rate += isinstance(rate, int | float) and rate > 0 and isinstance(eta, int)
            backwards += detail.get("percent", 0) < last_percent
            last_percent = detail.get("percent", 0)
        else:
            detail = job_counters(database_url, job["job_id"])
        done = detail["created_count"] + detail["updated_count"] + detail["failed_count"]
        total = detail["total_rows"] or 1
        for name, share in (("first", 1e-9), ("half", 0.5), ("p90", 0.9)):
            if done / total >= share:
                marks.setdefault(name, time.perf_counter() - t1)
        if detail["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.2)  # a progress bar polls about this often
    elapsed = time.perf_counter() - t1
    api_cpu = api_cpu_s() - api_cpu  # the API's CPU seconds from the start to the completion
    if not poll_api:
        _, detail = http("GET", f"{api}/leads/import/jobs/{job['job_id']}", token)
    detail["marks"] = " ".join(f"{k}={v:.1f}s" for k, v in marks.items())
    done = detail["created_count"] + detail["updated_count"] + detail["failed_count"]
    assert detail["status"] == "completed" and done == detail["total_rows"], detail
    detail["relay_drained_s"] = relay_drained(database_url) - t1
    detail["polls"] = (polls, with_rate, backwards)
    detail["api_cpu_s"] = api_cpu
    if download_results:
        cpu = api_cpu_s()
        results = download(f"{api}/leads/import/jobs/{job['job_id']}/results.csv", token)
        detail["results_csv"] = (*results, api_cpu_s() - cpu)
    return preview_s, elapsed, detail


def download(url: str, token: str) -> tuple[float, int, int]:
    """GET a CSV download to the end: (seconds, bytes, lines)."""
    req = urllib.request.Request(url)  # noqa: S310 - local URL
    req.add_header("Authorization", f"Bearer {token}")
    size = lines = 0
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:  # noqa: S310
        assert r.status == 200, r.status
        while chunk := r.read(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - t0, size, lines


_COUNTERS: dict[str, Any] = {}  # database URL -> the connection job_counters reads with


def job_counters(database_url: str, job_id: str) -> dict[str, Any]:
    """A job's status and counters straight from ``import_jobs`` (one primary-key read on a
    connection kept open: watching a job without loading the API)."""
    import psycopg
    from psycopg.rows import dict_row

    conn = _COUNTERS.get(database_url)
    if conn is None:
        conn = _COUNTERS[database_url] = psycopg.connect(
            database_url, autocommit=True, row_factory=dict_row
        )
    row: dict[str, Any] | None = conn.execute(
        "SELECT status, total_rows, created_count, updated_count, failed_count"
        " FROM import_jobs WHERE job_id = %s",
        (job_id,),
    ).fetchone()
    assert row is not None, job_id
    return row


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
    parser.add_argument(
        "--no-polling",
        action="store_true",
        help="skip the polling measurement (a noisy file of the largest size, imported 4 times)",
    )
    parser.add_argument(
        "--hot-leads",
        type=int,
        default=1,
        help="the largest file's size again, every row hitting one of these few leads (0: skip)",
    )
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
    STACK["up"] = up.pid
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
        if args.hot_leads:
            # As many rows as the measured file, all on a few leads whose history grows with
            # every row, into a fresh OU: per-row cost must not grow with a lead's history.
            _, elapsed, detail = run_import(
                api,
                new_token(database_url, "bench-hot"),
                database_url,
                make_hot_csv(biggest, args.hot_leads),
                "bench-hot.csv",
            )
            rate_h = biggest / elapsed
            print(
                f"import_hot_leads leads={args.hot_leads} rows={biggest}"
                f" start_to_completed_s={elapsed:.2f} rows_per_s={rate_h:.0f}"
                f" ratio_to_distinct={rate_h / results[f'rows_per_s_{biggest}']:.2f}"
                f" created={detail['created_count']} updated={detail['updated_count']}"
                f" failed={detail['failed_count']}"
                f" relay_drained_s={detail['relay_drained_s']:.2f} rows_done_at: {detail['marks']}",
                flush=True,
            )
        if not args.no_polling:
            # What watching a job costs: a file with tens of thousands of warnings and thousands
            # of errors, each run into a fresh OU, watched in the database only or by a client
            # polling the job detail every 0.2 s (a progress bar: counters, percent, the recent
            # rate and time left) and downloading results.csv once the job completed; in the
            # order unpolled, polled, polled, unpolled (A B B A, one after the other), so that
            # a host drifting during the runs evens out. The downloads come after the job
            # completed and the relay drained: they are timed on their own, not in the rate.
            noisy = make_noisy_csv(biggest, args.seed)
            rate_p: dict[bool, list[float]] = {False: [], True: []}
            downloads: list[tuple[float, int, int, float]] = []
            api_cpu: dict[bool, list[float]] = {False: [], True: []}
            polls: list[tuple[int, int, int]] = []
            last: tuple[str, str] = ("", "")  # (token, job id) of the last polled run
            for i, polled in enumerate((False, True, True, False)):
                token_i = new_token(database_url, f"bench-poll-{i}")
                _, elapsed, detail = run_import(
                    api,
                    token_i,
                    database_url,
                    noisy,
                    "bench-noisy.csv",
                    poll_api=polled,
                    download_results=polled,
                )
                rate_p[polled].append(biggest / elapsed)
                api_cpu[polled].append(detail["api_cpu_s"])
                if polled:
                    downloads.append(detail["results_csv"])
                    polls.append(detail["polls"])
                    last = (token_i, detail["job_id"])
            unpolled, polled_rate = (sum(rate_p[k]) / 2 for k in (False, True))
            # errors.csv once (it reads the upload too), of the last polled job.
            cpu = api_cpu_s()
            errors_csv = download(f"{api}/leads/import/jobs/{last[1]}/errors.csv", last[0])
            errors_cpu = api_cpu_s() - cpu
            print(
                f"import_polled rows={biggest} warnings={detail['warnings_total']}"
                f" errors={detail['errors_total']} rows_per_s_unpolled={unpolled:.0f}"
                f" rows_per_s_polled_0.2s={polled_rate:.0f}"
                f" ratio_polled_to_unpolled={polled_rate / unpolled:.3f}"
                f" runs: unpolled {' '.join(f'{r:.0f}' for r in rate_p[False])},"
                f" polled {' '.join(f'{r:.0f}' for r in rate_p[True])}"
                f" (order: unpolled polled polled unpolled)"
                f" api_cpu_s: unpolled {' '.join(f'{s:.2f}' for s in api_cpu[False])},"
                f" polled {' '.join(f'{s:.2f}' for s in api_cpu[True])}"
                f" polls={'/'.join(str(p[0]) for p in polls)}"
                f" polls_with_rate_and_eta={'/'.join(str(p[1]) for p in polls)}"
                f" percent_went_back={sum(p[2] for p in polls)}"
                f" results_csv_s={'/'.join(f'{d[0]:.2f}' for d in downloads)}"
                f" results_csv_mb={downloads[-1][1] / 1e6:.1f}"
                f" results_csv_lines={downloads[-1][2]}"
                f" results_csv_api_cpu_s={'/'.join(f'{d[3]:.2f}' for d in downloads)}"
                f" errors_csv_s={errors_csv[0]:.2f} errors_csv_mb={errors_csv[1] / 1e6:.1f}"
                f" errors_csv_lines={errors_csv[2]} errors_csv_api_cpu_s={errors_cpu:.2f}",
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
