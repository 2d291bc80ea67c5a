"""Benchmark: what a job's progress samples cost a lead-worker batch, and the detail's reads.

    python -m bench.progress_samples [--transactions 4800] [--samples 3600]

Starts an embedded PostgreSQL in a fresh folder (or uses ``DATABASE_URL``), stores a running
job (and 200 finished ones of another OU), and times, one after the other, the part of a
lead-worker batch's transaction that touches the job: its row lock (``_guard_open_jobs``) and
counters ``UPDATE``, without (A) and with (B) the progress sample (``projections.progress``), in
blocks ordered A B B A. The job first gets ``--samples`` samples younger than the prune's age,
far more than the few dozen a real job keeps (a pessimistic table). Then the job detail's extra
reads: the two samples of the rate, and a queued job's place, next to a primary-key read.
Prints medians and 90th percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from adapters import postgres
from adapters.embedded import EmbeddedPostgres
from application.applying import _guard_open_jobs
from projections import progress
from projections.jobs import counters_effect

JOB_COLUMNS = (
    "job_id, ou, status, file_id, file_name, created_at, total_rows, primary_identifier,"
    " field_mappings, alias_mappings, default_country, last_progress_at"
)


def store_jobs(conn: psycopg.Connection[Any], job_id: str, samples: int) -> None:
    conn.execute(
        f"INSERT INTO import_jobs ({JOB_COLUMNS}) VALUES (%s, 'bench', 'in_progress', 'f',"
        " 'f.csv', now(), 100000000, '{}', '{}', '{}', 'US', now())",
        (job_id,),
    )
    for i in range(200):
        conn.execute(
            f"INSERT INTO import_jobs ({JOB_COLUMNS}) VALUES (%s, 'bench-other', 'completed',"
            " 'f', 'f.csv', now(), 10, '{}', '{}', '{}', 'US', now())",
            (f"job_bench_other_{i}_{uuid.uuid4().hex[:8]}",),
        )
    conn.execute(
        "INSERT INTO job_progress (job_id, at, processed) SELECT %s,"
        " now() - make_interval(secs => 50.0 * n / %s), n FROM generate_series(1, %s) n",
        (job_id, samples, samples),
    )
    conn.commit()


def batch(conn: psycopg.Connection[Any], job_id: str, with_sample: bool) -> tuple[float, float]:
    """(seconds of the transaction, seconds of the sample statement)."""
    t0 = time.perf_counter()
    sample = 0.0
    with conn.transaction():
        curs = conn.cursor()
        _guard_open_jobs([job_id])(curs)
        counters_effect({job_id: (1500, 400, 80, 20)}, {job_id: 900})(curs)
        if with_sample:
            t1 = time.perf_counter()
            progress.sample_effect([job_id])(curs)
            sample = time.perf_counter() - t1
    return time.perf_counter() - t0, sample


def ms(values: list[float]) -> str:
    return (
        f"median={statistics.median(values) * 1e3:.3f}ms"
        f" p90={statistics.quantiles(values, n=10)[-1] * 1e3:.3f}ms"
    )


def timed(action: Callable[[], object], times: int = 500) -> list[float]:
    out = []
    for _ in range(times):
        t0 = time.perf_counter()
        action()
        out.append(time.perf_counter() - t0)
    return out


def measure(url: str, transactions: int, samples: int) -> None:
    postgres.migrate(url)
    job_id = f"job_{uuid.uuid4().hex}"
    with psycopg.connect(url, row_factory=dict_row) as conn:
        store_jobs(conn, job_id, samples)
        for _ in range(200):  # warm up
            batch(conn, job_id, True)
        runs: dict[bool, list[float]] = {False: [], True: []}
        statement: list[float] = []
        per_block = max(1, transactions // 8)
        for _ in range(2):
            for with_sample in (False, True, True, False):
                for _ in range(per_block):
                    seconds, sample = batch(conn, job_id, with_sample)
                    runs[with_sample].append(seconds)
                    if with_sample:
                        statement.append(sample)
        kept = conn.execute(
            "SELECT count(*) AS n FROM job_progress WHERE job_id = %s", (job_id,)
        ).fetchone()
        conn.commit()
        print(f"batch_transaction without_sample {ms(runs[False])} (n={len(runs[False])})")
        print(f"batch_transaction with_sample {ms(runs[True])} (n={len(runs[True])})")
        print(f"sample_statement {ms(statement)} samples_of_the_job={kept['n'] if kept else 0}")
        conn.autocommit = True
        curs = conn.cursor()
        print(f"detail rate_samples {ms(timed(lambda: progress.rate_samples(curs, job_id)))}")
        place = timed(lambda: progress.queue_place(curs, "bench", job_id))
        print(f"detail queue_place {ms(place)}")
        key_read = "SELECT * FROM import_jobs WHERE job_id = %s"
        print(f"reference primary_key_read {ms(timed(lambda: curs.execute(key_read, (job_id,))))}")
        conn.execute("DELETE FROM job_progress WHERE job_id = %s", (job_id,))
        conn.execute("DELETE FROM import_jobs WHERE ou IN ('bench', 'bench-other')")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=4800)
    parser.add_argument("--samples", type=int, default=3600)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        measure(url, args.transactions, args.samples)
        return 0
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="leadimport-progress-bench-")))
    try:
        measure(pg.start(), args.transactions, args.samples)
    finally:
        pg.stop(mode="immediate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
