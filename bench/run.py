"""Benchmark: the whole `leadimport up` stack, driven over HTTP, on the file shapes users bring.

    python -m bench.run [--rows 10000,100000] [--seed 7] [--hot-leads 300] [--no-polling]
                        [--with-million [--stored 1000000]]

Starts the stack with its embedded defaults in a fresh data folder and imports, each into an OU
of its own, files of the largest size (reproducible from the seed; bench/files.py and
bench/shapes.py):
- ``cold``: the mixed file, as the first import after ``up`` (no warm-up);
- ``mixed``: the mixed file (about 20 % of rows update a lead of the file, 2 % invalid, some
  rows with several aliases), after a warm-up import of each smaller size;
- ``b2b``: people of 2,000 companies, each row with the company's switchboard phone (an alias
  another lead owns: a warning) and domain, 9 mapped columns;
- ``updates``: a corrected re-export of the mixed file: every row updates a lead that exists;
- ``hot``: 90 % of rows on a few hundred leads;
- ``million`` (``--with-million``): the mixed file into an OU holding a million leads.
Each prints rows/s, how long it took to reach full speed and the CPU seconds of each process
role; the summary line ``shapes_rows_per_s ...`` gives them side by side with the slowest, and
the last line ``import_100k_rows_per_s=<n> ratio_to_copy=<x> preview_10mb_s=<t>`` the mixed
file's figure against PostgreSQL's COPY of the same file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.client import new_token, run_import
from bench.database import copy_floor, cpu_check, preload_leads
from bench.files import make_csv, make_noisy_csv
from bench.polling import measure_polling
from bench.procs import ROLES, STACK, cpu_by_role, postgres_root, process_peaks, relay_pids
from bench.shapes import (
    B2B_ALIASES,
    B2B_FIELDS,
    Shape,
    make_b2b_csv,
    make_hot_mix_csv,
    make_updates_csv,
)

__all__ = ["main", "make_noisy_csv"]
TARGET_ROWS_PER_S = 15_000  # the bar of this round, on 2 cores


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


def import_shape(
    api: str, token: str, database_url: str, shape: Shape
) -> tuple[float, dict[str, Any]]:
    """Import one shape and print its line: rows/s, outcome counts, time to full speed and the
    CPU seconds each process role spent from the start to the completion."""
    cpu0 = cpu_by_role()
    _, elapsed, detail = run_import(api, token, database_url, shape, poll_api=False)
    cpu = {role: used - cpu0[role] for role, used in cpu_by_role().items()}
    rate = shape.rows / elapsed
    total = sum(cpu.values())
    full = detail["full_speed_after_s"]
    print(
        f"shape={shape.name} rows={shape.rows} start_to_completed_s={elapsed:.2f}"
        f" rows_per_s={rate:.0f} created={detail['created_count']}"
        f" updated={detail['updated_count']} failed={detail['failed_count']}"
        f" warnings={detail['warnings_total']}"
        f" full_speed_after_s={'n/a' if full is None else f'{full:.1f}'}"
        f" relay_drained_s={detail['relay_drained_s']:.2f}"
        f" cpu_s: {' '.join(f'{r}={cpu[r]:.1f}' for r in ROLES)} total={total:.1f}"
        f" per_1k_rows={1000 * total / shape.rows:.3f}",
        flush=True,
    )
    return rate, detail


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
        default=300,
        help="the hot shape: 90 %% of its rows on this many leads (0: skip it)",
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    biggest = max(sizes)
    data_dir = Path(tempfile.mkdtemp(prefix="leadimport-bench-", dir="/tmp"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    port = 18000 + random.randrange(1000)
    env.update(LEADIMPORT_DATA_DIR=str(data_dir), PORT=str(port))
    t_up = time.perf_counter()
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
        ready_s = time.perf_counter() - t_up
        root = postgres_root(str(data_dir))
        if root is not None:
            STACK["postgres"] = root
        api, token, database_url = info["API_URL"], info["TOKEN"], info["DATABASE_URL"]
        print(f"up_ready_s={ready_s:.1f}", flush=True)
        rates: dict[str, float] = {}
        # Every file but the largest warms the stack up; none shares a lead with another.
        files = {n: make_csv(n, args.seed + n, tag="" if n == biggest else f"w{n}-") for n in sizes}
        # The first import after up, before anything warmed the stack up: the mixed file, into
        # an OU of its own (OUs share no lead), so it compares with the warm run below.
        cold = Shape("cold", files[biggest])
        rates["cold"], _ = import_shape(
            api, new_token(database_url, "bench-cold"), database_url, cold
        )
        print(f"cpu_check_s={cpu_check(files[biggest]):.3f} (before)", flush=True)
        results: dict[str, float] = {}
        for n in sizes:
            shape = Shape("mixed" if n == biggest else f"warm-up-{n}", files[n])
            if n == biggest:
                rate, detail = import_shape(api, token, database_url, shape)
                rates["mixed"] = rate
                results["preview_s"] = detail["preview_s"]
                continue
            preview_s, elapsed, detail = run_import(api, token, database_url, shape)
            print(
                f"import rows={n} bytes={len(files[n])} preview_s={preview_s:.3f} "
                f"start_to_completed_s={elapsed:.2f} rows_per_s={n / elapsed:.0f} "
                f"created={detail['created_count']} updated={detail['updated_count']} "
                f"failed={detail['failed_count']} "
                f"relay_drained_s={detail['relay_drained_s']:.2f} rows_done_at: {detail['marks']}",
                flush=True,
            )
        copy_s = copy_floor(database_url, files[biggest])
        copy_rate = biggest / copy_s
        ratio = rates["mixed"] / copy_rate
        print(
            f"copy_floor rows={biggest} seconds={copy_s:.3f} rows_per_s={copy_rate:.0f} "
            f"ratio_ours_to_copy={ratio:.4f}",
            flush=True,
        )
        b2b = Shape("b2b", make_b2b_csv(biggest, args.seed), B2B_FIELDS, B2B_ALIASES)
        rates["b2b"], _ = import_shape(api, new_token(database_url, "bench-b2b"), database_url, b2b)
        # The mixed file's leads again, corrected: into the OU that holds them.
        updates = Shape("updates", make_updates_csv(files[biggest]))
        rates["updates"], _ = import_shape(api, token, database_url, updates)
        if args.hot_leads:
            hot = Shape("hot", make_hot_mix_csv(biggest, args.hot_leads, args.seed))
            hot_token = new_token(database_url, "bench-hot")
            rates["hot"], _ = import_shape(api, hot_token, database_url, hot)
        if not args.no_polling:
            measure_polling(api, database_url, biggest, args.seed)
        if args.with_million:
            # The same file as the mixed run, into an OU that already holds --stored leads.
            t0 = time.perf_counter()
            with relay_paused(database_url, up.pid):
                preload_leads(database_url, "bench-million", args.stored)
            print(f"preload leads={args.stored} seconds={time.perf_counter() - t0:.1f}", flush=True)
            million = Shape("million", files[biggest])
            million_token = new_token(database_url, "bench-million")
            rates["million"], _ = import_shape(api, million_token, database_url, million)
            print(f"million_ratio_to_mixed={rates['million'] / rates['mixed']:.2f}", flush=True)
        print(f"cpu_check_s={cpu_check(files[biggest]):.3f} (after)", flush=True)
        for name, (mb, cpu) in sorted(process_peaks().items()):
            print(f"process={name!r} peak_rss_mb={mb:.0f} cpu_s={cpu:.1f}")
        slowest = min(rates, key=rates.__getitem__)
        print(
            "shapes_rows_per_s "
            + " ".join(f"{name}={rate:.0f}" for name, rate in rates.items())
            + f" slowest={slowest} target={TARGET_ROWS_PER_S}"
            + f" all_at_target={'yes' if rates[slowest] >= TARGET_ROWS_PER_S else 'no'}",
            flush=True,
        )
        print(
            f"import_{biggest // 1000}k_rows_per_s={rates['mixed']:.0f} "
            f"ratio_to_copy={ratio:.4f} preview_{len(files[biggest]) / 1e6:.0f}mb_s="
            f"{results['preview_s']:.3f}"
        )
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
