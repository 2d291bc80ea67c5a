"""Benchmark: streaming a job's result files (``errors.csv``, ``results.csv``).

    python -m bench.result_files [--rows 5000,50000,200000] [--failed-every 50]

Starts an embedded PostgreSQL in a fresh folder (or uses ``DATABASE_URL``), stores for each
size an upload and a finished job's row ledger directly (no broker: the files are read from the
database only), then drains both files through the use cases (application/results.py) as the
API sends them, and prints per file: bytes, seconds, MB/s and the peak of Python's traced
memory while the file was produced (``tracemalloc``), next to the upload's size. The figure to
watch is the peak: results.csv's must not grow with the rows; errors.csv's holds the upload
(at most 10 MB) and its decoded text, and nothing that grows with the rows written.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from adapters import postgres
from adapters.embedded import EmbeddedPostgres
from application import results
from application.container import Container
from runtime import bootstrap


def make_upload(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Email", "First Name", "Last Name", "Company", "Phone"])
    for n in range(rows):
        writer.writerow(
            [f"lead{n}@example{n % 13}.com", f"Name{n}", "García", "Acme", f"+1 415 555 {n:04d}"]
        )
    return out.getvalue().encode()


def store_job(c: Container, rows: int, failed_every: int) -> tuple[str, str, int]:
    """An upload and a completed job whose every ``failed_every``-th row failed and every
    tenth has a warning: ``(ou, job_id, upload bytes)``."""
    ou, job_id, file_id = (
        f"bench-{uuid.uuid4().hex[:8]}",
        f"job_{uuid.uuid4().hex}",
        uuid.uuid4().hex,
    )
    data = make_upload(rows)
    now = datetime.now(UTC)
    with c.pool.connection() as conn:
        conn.execute(
            "INSERT INTO preview_files (file_id, ou, file_name, content, encoding, delimiter,"
            " headers, row_count, created_at, expires_at) VALUES (%s, %s, 'bench.csv', %s,"
            " 'utf-8-sig', ',', %s, %s, %s, %s)",
            (
                file_id,
                ou,
                data,
                '["Email", "First Name", "Last Name", "Company", "Phone"]',
                rows,
                now,
                now,
            ),
        )
        conn.execute(
            "INSERT INTO import_jobs (job_id, ou, status, file_id, file_name, created_at,"
            " started_at, completed_at, total_rows, primary_identifier, field_mappings,"
            " alias_mappings, default_country, last_progress_at) VALUES (%s, %s, 'completed',"
            " %s, 'bench.csv', %s, %s, %s, %s, '{}', '[]', '[]', 'US', %s)",
            (job_id, ou, file_id, now, now, now, rows, now),
        )
        conn.execute(
            "INSERT INTO row_outcomes (job_id, row, outcome, lead_id, error, value)"
            " SELECT %s, r, CASE WHEN r %% %s = 0 THEN 'failed' ELSE 'created' END,"
            " CASE WHEN r %% %s = 0 THEN NULL ELSE gen_random_uuid() END,"
            " CASE WHEN r %% %s = 0 THEN 'Invalid email format' END,"
            " CASE WHEN r %% %s = 0 THEN 'broken-' || r END"
            " FROM generate_series(2, %s) AS r",
            (job_id, failed_every, failed_every, failed_every, failed_every, rows + 1),
        )
        conn.execute(
            "INSERT INTO job_warnings (job_id, row, seq, warning, value)"
            " SELECT %s, r, 0, 'Alias not added: it already belongs to another lead',"
            " 'x' || r || '@example.com' FROM generate_series(2, %s) AS r WHERE r %% 10 = 1",
            (job_id, rows + 1),
        )
    return ou, job_id, len(data)


def timed(chunks: Iterator[bytes]) -> tuple[int, float]:
    """(bytes, seconds) of producing the whole file, untraced."""
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in chunks)
    return size, time.perf_counter() - started


def traced(chunks: Iterator[bytes]) -> int:
    """The peak of traced memory while the whole file is produced (allocations made before,
    such as the loaded upload, are not counted)."""
    tracemalloc.start()
    for _ in chunks:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run(c: Container, sizes: list[int], failed_every: int) -> None:
    for rows in sizes:
        ou, job_id, upload = store_job(c, rows, failed_every)
        for what, use_case in (
            ("errors.csv", results.errors_file),
            ("results.csv", results.results_file),
        ):
            size, seconds = timed(use_case(c, ou, job_id).chunks)
            tracemalloc.start()
            download = use_case(c, ou, job_id)  # the checks and, for errors.csv, the upload
            _, before = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            peak = traced(download.chunks)
            print(
                f"rows={rows} file={what} upload_bytes={upload} out_bytes={size}"
                f" s={seconds:.2f} rows_per_s={rows / seconds:.0f}"
                f" held_before_streaming_mb={before / 1e6:.1f}"
                f" peak_while_streaming_mb={peak / 1e6:.1f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="5000,50000,200000")
    parser.add_argument("--failed-every", type=int, default=50)
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="leadimport-bench-") as folder:
        embedded = None
        if not url:
            embedded = EmbeddedPostgres(Path(folder))
            url = embedded.start()
        try:
            postgres.migrate(url)
            c = bootstrap.build(url, "127.0.0.1:9", pool_size=2)  # no broker is ever asked
            try:
                run(c, sizes, args.failed_every)
            finally:
                c.close()
        finally:
            if embedded is not None:
                embedded.stop(mode="immediate")


if __name__ == "__main__":
    main()
