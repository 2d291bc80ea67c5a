"""Driving the bench's stack over HTTP as a user does: upload, start, watch, download."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

from bench.procs import api_cpu_s
from bench.shapes import Shape


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
    shape: Shape,
    *,
    poll_api: bool = True,
    download_results: bool = False,
) -> tuple[float, float, dict[str, Any]]:
    """Preview, start and wait for the job. ``poll_api``: watch it as a progress bar does, its
    detail every 0.2 s (counting the polls that showed a rate and a time left); else read its
    counters from ``import_jobs`` (no API call until the end). ``download_results``: then
    download its results.csv, as the wizard's user does (``detail["results_csv"]``: seconds,
    bytes, lines, API CPU seconds), once the relay has drained (the import is over)."""
    body, ctype = multipart(f"bench-{shape.name}.csv", shape.data)
    t0 = time.perf_counter()
    status, preview = http("POST", f"{api}/leads/import/preview", token, body, ctype)
    preview_s = time.perf_counter() - t0
    assert status == 200, preview
    start_body = json.dumps(shape.start_body(preview["file_id"])).encode()
    t1 = time.perf_counter()
    api_cpu = api_cpu_s()
    status, job = http("POST", f"{api}/leads/import/start", token, start_body, "application/json")
    assert status == 202, job
    marks: dict[str, float] = {}  # when the first row, half and 90 % of rows were done
    samples: list[tuple[float, int]] = []  # (seconds since the start, rows done)
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
        samples.append((time.perf_counter() - t1, done))
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
    detail["full_speed_after_s"] = full_speed_after(samples)
    detail["api_cpu_s"] = api_cpu
    detail["preview_s"] = preview_s
    if download_results:
        cpu = api_cpu_s()
        results = download(f"{api}/leads/import/jobs/{job['job_id']}/results.csv", token)
        detail["results_csv"] = (*results, api_cpu_s() - cpu)
    return preview_s, elapsed, detail


def full_speed_after(samples: list[tuple[float, int]]) -> float | None:
    """Seconds from the start until rows were done at 90 % of the job's steady rate (the rate
    between 10 % and 90 % of its rows), over a trailing window of one second; None when the
    job was too short to tell."""
    total = samples[-1][1] if samples else 0
    marks = (
        [next((t, d) for t, d in samples if d >= total * q) for q in (0.1, 0.9)] if total else []
    )
    if len(marks) < 2 or marks[1][0] - marks[0][0] < 2.0:
        return None
    steady = (marks[1][1] - marks[0][1]) / (marks[1][0] - marks[0][0])
    for i, (t, done) in enumerate(samples):
        back = next((s for s in reversed(samples[:i]) if t - s[0] >= 1.0), None)
        if back is not None and (done - back[1]) / (t - back[0]) >= 0.9 * steady:
            return back[0]
    return None


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


def new_token(database_url: str, ou: str) -> str:
    from adapters import postgres as db
    from adapters.tokens import create_token

    pool = db.make_pool(database_url, max_size=1)
    try:
        return create_token(pool, ou)
    finally:
        pool.close()
