"""A small run of the benchmark script, so it cannot rot: the whole stack from its embedded
defaults, 1,000 rows over HTTP, and the stored-leads run on a small preload. Nothing is timed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench.files import make_csv
from bench.run import make_noisy_csv
from bench.shapes import make_b2b_csv, make_hot_mix_csv, make_updates_csv

ROOT = Path(__file__).resolve().parents[2]


def expected(data: bytes, phone_column: int | None = None) -> tuple[int, int, int, int]:
    """(created, updated, failed, warnings) of a bench file by the import rules, counted here
    from the file alone: a row without an @ in its e-mail fails; the first row of an address
    creates its lead, later ones update it; a phone alias first seen on another lead's row is
    that lead's, so the row keeps its own lead and gets a warning."""
    seen: set[str] = set()
    owner: dict[str, str] = {}
    created = updated = failed = warnings = 0
    for line in data.decode().splitlines()[1:]:
        cells = line.split(",")
        email = cells[0]
        if "@" not in email:
            failed += 1
            continue
        created, updated = (created, updated + 1) if email in seen else (created + 1, updated)
        seen.add(email)
        if phone_column is not None:
            phone = cells[phone_column]
            warnings += owner.setdefault(phone, email) != email
    return created, updated, failed, warnings


def shape_counts(out: str, name: str) -> tuple[int, int, int, int]:
    found = re.search(
        rf"^shape={name} rows=\d+ .* created=(\d+) updated=(\d+) failed=(\d+) warnings=(\d+)"
        r" full_speed_after_s=(n/a|[\d.]+) relay_drained_s=[\d.]+ cpu_s: api=[\d.]+"
        r" importer=[\d.]+ leads=[\d.]+ relay=[\d.]+ postgres=[\d.]+ broker=[\d.]+"
        r" total=[\d.]+ per_1k_rows=[\d.]+$",
        out,
        re.M,
    )
    assert found, out
    created, updated, failed, warnings = map(int, found.groups()[:4])
    return created, updated, failed, warnings


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
    # every shape imported completely, with the outcome the import rules give its file (the
    # script asserts created + updated + failed = rows too)
    mixed = make_csv(1000, 7 + 1000)
    assert shape_counts(out, "mixed")[:3] == expected(mixed)[:3]
    assert shape_counts(out, "cold") == shape_counts(out, "mixed")  # the same file
    assert shape_counts(out, "b2b") == expected(make_b2b_csv(1000, 7), phone_column=5)
    updates = make_updates_csv(mixed)
    assert shape_counts(out, "updates")[:3] == (0, len(updates.splitlines()) - 1, 0)
    assert shape_counts(out, "hot")[:3] == expected(make_hot_mix_csv(1000, 300, 7))[:3]
    assert re.search(r"^import rows=500 .*relay_drained_s=[\d.]+", out, re.M), out
    assert re.search(
        r"^shapes_rows_per_s cold=\d+ mixed=\d+ b2b=\d+ updates=\d+ hot=\d+ million=\d+"
        r" slowest=\w+ target=15000 all_at_target=(yes|no)$",
        out,
        re.M,
    ), out
    assert re.search(r"^cpu_check_s=[\d.]+ \(before\)$", out, re.M), out
    assert re.search(r"^cpu_check_s=[\d.]+ \(after\)$", out, re.M), out
    assert re.search(r"^copy_floor rows=1000 seconds=[\d.]+ rows_per_s=\d+", out, re.M), out
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
    # the mixed file into an OU holding the preloaded leads: the same outcome
    assert shape_counts(out, "million") == shape_counts(out, "mixed")
    for process in ("api", "worker importer", "worker leads", "worker relay", "tansu"):
        assert re.search(rf"^process='{process}' peak_rss_mb=\d+ cpu_s=[\d.]+", out, re.M), out
    assert re.search(
        r"^import_1k_rows_per_s=\d+ ratio_to_copy=[\d.]+ preview_0mb_s=[\d.]+$", out, re.M
    ), out
