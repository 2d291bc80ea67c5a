"""`leadimport up` with zero configuration: it starts its own PostgreSQL and broker, serves the
API, accepts tokens made by `leadimport token create`, and leaves nothing running after SIGTERM.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx2
import psycopg
import pytest
from kafka import KafkaAdminClient
from psycopg.conninfo import conninfo_to_dict

from adapters.embedded import free_port
from adapters.kafka import ALL_TOPICS
from adapters.kafka import ping as kafka_ping
from tests.helpers import run_cli, wait_for

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 90.0
STOP_DEADLINE_S = 20.0
PRINTED = ("API_URL", "TOKEN", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "WIZARD_URL", "DOCS_URL")
CSV = b"Email,First Name,Phone\njane@example.com,Jane,+1-555-0100\njohn@example.com,John,\n"


# --- processes, read from /proc ---------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    start_time: int  # clock ticks after boot: tells a live process from a reused pid


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, start time) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def descendants(root: int) -> set[Proc]:
    """Every live process below ``root`` (children, grandchildren, ...)."""
    children: dict[int, list[Proc]] = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None:
            children.setdefault(stat[1], []).append(Proc(pid, stat[2]))
    found: set[Proc] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child.pid)
    return found


def with_cmdline_containing(text: str) -> set[Proc]:
    found = set()
    for pid in _pids():
        try:
            cmdline = (
                Path(f"/proc/{pid}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )
        except OSError:
            continue
        stat = _stat(pid)
        if text in cmdline and stat is not None and stat[0] != "Z":
            found.add(Proc(pid, stat[2]))
    return found


def alive(p: Proc) -> bool:
    stat = _stat(p.pid)
    return stat is not None and stat[2] == p.start_time and stat[0] != "Z"


def end(procs: set[Proc]) -> None:
    """Test clean-up: stop processes this test started that are still running."""
    for p in procs:
        if alive(p):
            os.kill(p.pid, signal.SIGKILL)


# --- the running `leadimport up` --------------------------------------------------------------


@dataclass
class Up:
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    data_dir: Path
    printed: dict[str, str]
    log: Path


def _pump(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw.decode(errors="replace").rstrip("\n"))
    lines.put(None)


def _read_printed(
    proc: subprocess.Popen[bytes], log: Path, keys: tuple[str, ...] = PRINTED
) -> dict[str, str]:
    """The KEY=value lines `up` (or `services`: ``keys``) prints once ready, with a deadline."""
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    printed: dict[str, str] = {}
    deadline = time.monotonic() + START_DEADLINE_S
    while not all(key in printed for key in keys):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(
                f"`leadimport up` printed only {sorted(printed)} within "
                f"{START_DEADLINE_S:.0f} s; its log:\n{log.read_text()[-4000:]}"
            )
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            pytest.fail(
                f"`leadimport up` exited with {proc.wait()} before it was ready; "
                f"its log:\n{log.read_text()[-4000:]}"
            )
        key, sep, value = line.partition("=")
        if sep and key in keys:
            printed[key] = value
    return printed


@contextmanager
def running_up(tmp_path: Path, data_dir: Path, name: str = "up") -> Iterator[Up]:
    """`leadimport up` on ``data_dir``, its stderr in ``<tmp_path>/<name>.log``; stopped (and
    every process it started ended) afterwards."""
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "LEADIMPORT_SKIP_MIGRATE")
    }  # fmt: skip
    env.update(
        LEADIMPORT_DATA_DIR=str(data_dir),
        PORT=str(free_port()),
        HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "up"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    started: set[Proc] = set()
    try:
        printed = _read_printed(proc, log)
        started = descendants(proc.pid) | with_cmdline_containing(str(data_dir))
        yield Up(proc, env, data_dir, printed, log)
    finally:
        if proc.poll() is None:  # the test failed before stopping it: stop it here
            started |= descendants(proc.pid)
        started |= with_cmdline_containing(str(data_dir))
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        end(started)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with running_up(tmp_path, tmp_path / "data") as running:
        yield running


def test_up_serves_the_api_with_zero_configuration(up: Up) -> None:
    api = up.printed["API_URL"]
    assert api == f"http://127.0.0.1:{up.env['PORT']}"
    token = up.printed["TOKEN"]

    def ready() -> bool:
        try:
            return httpx2.get(f"{api}/readyz", timeout=5).status_code == 200
        except httpx2.HTTPError:
            return False

    wait_for(ready, 30, "/readyz to answer 200")
    assert httpx2.get(f"{api}/healthz", timeout=5).json() == {"status": "ok"}
    # The pages for people (tests/browser drives them in Chromium).
    assert (up.printed["WIZARD_URL"], up.printed["DOCS_URL"]) == (f"{api}/import", f"{api}/docs")
    for page in (up.printed["WIZARD_URL"], up.printed["DOCS_URL"]):
        answer = httpx2.get(page, timeout=5)
        assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]

    # Ready means the workers already hold their partitions: a job started now is picked up at
    # once instead of waiting for the consumer groups to settle.
    held = [
        json.loads(path.read_text())
        for path in (up.data_dir / "assignments").glob("lead-import-*.*")
        if path.suffix != ".tmp"
    ]
    jobs = {p for h in held for p in h if p.startswith("lead-import.jobs:")}
    rows_by_worker = [
        {p for p in h if p.startswith("lead-import.rows:")}
        for h in held
        if any(p.startswith("lead-import.rows:") for p in h)
    ]
    assert jobs == {f"lead-import.jobs:{i}" for i in range(6)}, held
    assert len(rows_by_worker) == 2, held  # LEADIMPORT_LEAD_WORKERS defaults to 2
    assert set().union(*rows_by_worker) == {f"lead-import.rows:{i}" for i in range(6)}, held

    # The printed connection strings reach the embedded services `up` started for this folder.
    assert up.printed["DATABASE_URL"].startswith("postgresql://")
    assert with_cmdline_containing(str(up.data_dir / "postgres")), "no PostgreSQL of this folder"
    with psycopg.connect(up.printed["DATABASE_URL"], connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM api_tokens WHERE ou = 'default'").fetchone()
        assert row is not None and row[0] >= 1
    assert kafka_ping(up.printed["KAFKA_BOOTSTRAP_SERVERS"])
    admin = KafkaAdminClient(bootstrap_servers=up.printed["KAFKA_BOOTSTRAP_SERVERS"])
    try:
        assert set(ALL_TOPICS) <= set(admin.list_topics())
    finally:
        admin.close()

    # A token made by the CLI against the same data folder works on the running API.
    made = run_cli("token", "create", "--ou", "other", env=up.env, timeout=60)
    assert made.returncode == 0, made.stderr
    other = made.stdout.strip().splitlines()[-1]
    assert other and other != token
    r = httpx2.get(
        f"{api}/leads/import/jobs", headers={"Authorization": f"Bearer {other}"}, timeout=10
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"jobs": [], "total": 0, "page": 1, "limit": 25}
    bad = httpx2.get(
        f"{api}/leads/import/jobs", headers={"Authorization": "Bearer li_nope"}, timeout=10
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthorized" and bad.json()["error"]["message"]

    # A CSV preview over real HTTP with the token `up` printed.
    r = httpx2.post(
        f"{api}/leads/import/preview",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("leads.csv", CSV, "text/csv")},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file_id"].startswith("preview_")
    assert (body["file_name"], body["headers"], body["row_count"]) == (
        "leads.csv",
        ["Email", "First Name", "Phone"],
        2,
    )
    assert body["auto_detected_identifiers"] == {
        "email_columns": ["Email"],
        "phone_columns": ["Phone"],
    }

    # SIGTERM stops `up` and everything it started.
    children = descendants(up.proc.pid)
    postgres = with_cmdline_containing(str(up.data_dir))
    assert len(children) >= 5, children  # API, importer, two lead workers, broker
    assert postgres
    postgres |= {p for pg in postgres for p in descendants(pg.pid)}  # its server processes
    began = time.monotonic()
    up.proc.send_signal(signal.SIGTERM)
    try:
        returncode = up.proc.wait(STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`leadimport up` did not exit within {STOP_DEADLINE_S:.0f} s of SIGTERM")
    took = time.monotonic() - began
    assert returncode == 0, f"exit code {returncode} after {took:.1f} s"
    left = {p for p in children | postgres if alive(p)}
    assert not left, f"processes left running after `up` exited: {sorted(p.pid for p in left)}"
    assert not with_cmdline_containing(str(up.data_dir)), "PostgreSQL of the data folder still runs"
    with pytest.raises(httpx2.HTTPError):
        httpx2.get(f"{api}/healthz", timeout=2)


def stop(up: Up) -> None:
    up.proc.send_signal(signal.SIGTERM)
    assert up.proc.wait(STOP_DEADLINE_S) == 0


def test_up_keeps_its_development_token_and_its_secrets_out_of_the_log(tmp_path: Path) -> None:
    """Two starts on one data folder print the same token (one development token in the
    database); the database asks for the password kept in the private data folder, which the
    printed DATABASE_URL carries and no log line does."""
    data_dir = tmp_path / "data"
    with running_up(tmp_path, data_dir, "first") as first:
        token, url = first.printed["TOKEN"], first.printed["DATABASE_URL"]
        stop(first)
    with running_up(tmp_path, data_dir, "second") as second:
        assert second.printed["TOKEN"] == token
        assert second.printed["DATABASE_URL"].split("@")[0] == url.split("@")[0]
        api = second.printed["API_URL"]
        r = httpx2.get(f"{api}/leads/import/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        listed = run_cli("token", "list", "--all", "--json", env=second.env, timeout=60)
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert [(r["name"], r["ou"], r["expires_at"], r["state"]) for r in rows] == [
            ("development", "default", None, "active")
        ]
        # the printed URL is one a person can paste: psql (here psycopg) gets in with it
        with psycopg.connect(second.printed["DATABASE_URL"], connect_timeout=5) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        stop(second)

    password = conninfo_to_dict(url)["password"]
    assert password == (data_dir / "postgres.password").read_text().strip()
    assert (data_dir / "dev-token").read_text().strip() == token
    private = 0o711 if os.geteuid() == 0 else 0o700
    assert stat.S_IMODE(data_dir.stat().st_mode) == private
    for secret in ("postgres.password", "dev-token"):
        assert stat.S_IMODE((data_dir / secret).stat().st_mode) == 0o600
    for run in (first, second):
        log = run.log.read_text()
        assert log.strip(), "the log is empty: nothing to check"
        assert str(password) not in log and token not in log


def test_services_prints_a_configured_database_url_with_its_password_masked(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """`leadimport services` over servers of one's own: the DATABASE_URL given is printed
    without its password (the embedded server's, above, is printed whole)."""
    password = conninfo_to_dict(database_url)["password"]
    assert password
    env = {k: v for k, v in os.environ.items() if k != "LEADIMPORT_SKIP_MIGRATE"}
    env.update(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        LEADIMPORT_DATA_DIR=str(tmp_path / "data"),
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "services.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "services"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    try:
        keys = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
        printed = _read_printed(proc, log, keys)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(STOP_DEADLINE_S)
        if proc.stdout is not None:
            proc.stdout.close()
    shown = conninfo_to_dict(printed["DATABASE_URL"])
    given = conninfo_to_dict(database_url)
    assert shown == {**given, "password": "***"}
    assert printed["KAFKA_BOOTSTRAP_SERVERS"] == kafka_bootstrap
    assert str(password) not in log.read_text()
