"""A small run of the benchmark script, so it cannot rot: the whole stack from its embedded
defaults, 1,000 rows over HTTP, and the stored-leads run on a small preload. Nothing is timed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench.run import make_noisy_csv

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_end_to_end_and_prints_every_figure() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--rows",
            "500,1000",
            "--with-million",
            "--stored",
            "2000",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    # each file imported completely: created + updated + failed = rows (the script asserts it
    # too), with the warm-up file sharing no lead with the measured one
    measured = re.search(
        r"^import rows=1000 .* created=(\d+) updated=(\d+) failed=(\d+)", out, re.M
    )
    assert measured, out
    assert sum(map(int, measured.groups())) == 1000
    assert re.search(r"^import rows=500 .*relay_drained_s=[\d.]+", out, re.M), out
    assert re.search(r"^cpu_check_s=[\d.]+ \(before\)$", out, re.M), out
    assert re.search(r"^cpu_check_s=[\d.]+ \(after\)$", out, re.M), out
    assert re.search(r"^copy_floor rows=1000 seconds=[\d.]+ rows_per_s=\d+", out, re.M), out
    # the same number of rows on one lead: all but its first row update it
    assert re.search(
        r"^import_hot_leads leads=1 rows=1000 .* ratio_to_distinct=[\d.]+"
        r" created=1 updated=999 failed=0",
        out,
        re.M,
    ), out
    # the noisy file, watched without and with polling: its warnings and errors counted from
    # the file (an e-mail without @ fails the row; a kept row's "call me" Mobile is a warning)
    noisy = [line.split(",") for line in make_noisy_csv(1000, 7).decode().splitlines()[1:]]
    errors = sum("@" not in cells[0] for cells in noisy)
    warnings = sum("@" in cells[0] and cells[6] == "call me" for cells in noisy)
    assert warnings > 400 and errors > 50
    assert re.search(
        rf"^import_polled rows=1000 warnings={warnings} errors={errors} rows_per_s_unpolled=\d+"
        r" rows_per_s_polled_0.2s=\d+ ratio_polled_to_unpolled=[\d.]+ runs: ",
        out,
        re.M,
    ), out
    # the polled runs downloaded results.csv (a header and a line per row), then errors.csv
    # once (a header and a line per failed row); progress never went back
    assert re.search(
        r"^import_polled .* polls=\d+/\d+ polls_with_rate_and_eta=\d+/\d+ percent_went_back=0"
        r" results_csv_s=[\d.]+/[\d.]+ results_csv_mb=[\d.]+ results_csv_lines=1001"
        r" results_csv_api_cpu_s=[\d.]+/[\d.]+"
        rf" errors_csv_s=[\d.]+ errors_csv_mb=[\d.]+ errors_csv_lines={errors + 1}"
        r" errors_csv_api_cpu_s=[\d.]+$",
        out,
        re.M,
    ), out
    assert re.search(r"^preload leads=2000 seconds=[\d.]+", out, re.M), out
    stored = re.search(
        r"^import_with_stored_leads stored=2000 rows=1000 .* ratio_to_empty=[\d.]+"
        r" created=(\d+) updated=(\d+) failed=(\d+)",
        out,
        re.M,
    )
    assert stored, out
    # the same file into a fresh OU: the same outcome as the measured run
    assert stored.groups() == measured.groups()
    for process in ("api", "worker importer", "worker leads", "worker relay", "tansu"):
        assert re.search(rf"^process='{process}' peak_rss_mb=\d+ cpu_s=[\d.]+", out, re.M), out
    assert re.search(
        r"^import_1k_rows_per_s=\d+ ratio_to_copy=[\d.]+ preview_0mb_s=[\d.]+$", out, re.M
    ), out
